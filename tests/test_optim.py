"""nnkern.optim: SGD and Adam steps match torch.optim on the same gradients."""
import numpy as np
import pytest

from nnkern import nn, optim


def params(seed=0, dtype=np.float64):
    r = np.random.default_rng(seed)
    return [nn.Parameter(r.standard_normal((3, 4)).astype(dtype)),
            nn.Parameter(r.standard_normal(4).astype(dtype))]


def grads(step, ps):
    r = np.random.default_rng(100 + step)
    return [r.standard_normal(p.shape).astype(p.dtype) for p in ps]


SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
             dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.01),
             dict(lr=0.1, weight_decay=0.1)]
ADAM_CASES = [dict(), dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, amsgrad=True)]


@pytest.mark.parametrize("cls,kw", [(optim.SGD, k) for k in SGD_CASES]
                         + [(optim.Adam, k) for k in ADAM_CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch(cls, kw, dtype):
    torch = pytest.importorskip("torch")
    ps = params(0, dtype)
    tps = [torch.nn.Parameter(torch.tensor(p.data.copy())) for p in ps]
    opt = cls(ps, **kw)
    topt = getattr(torch.optim, cls.__name__)(tps, **kw)
    for step in range(5):
        for p, tp, g in zip(ps, tps, grads(step, ps)):
            p.grad = g
            tp.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), **tol)
        assert p.data.dtype == dtype


def test_skips_params_without_grad_and_zero_grad():
    ps = params()
    before = ps[1].data.copy()
    opt = optim.SGD(ps, lr=0.1)
    ps[0].grad = np.ones_like(ps[0].data)
    opt.step()
    np.testing.assert_array_equal(ps[1].data, before)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)
    ps[0].grad = np.ones_like(ps[0].data)
    opt.zero_grad(set_to_none=False)
    assert np.all(ps[0].grad == 0)


def test_updates_in_place():
    ps = params()
    ref = ps[0].data
    opt = optim.Adam(ps)
    for p in ps:
        p.grad = np.ones_like(p.data)
    opt.step()
    assert ps[0].data is ref


def test_param_groups():
    a, b = params()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad = np.ones_like(a.data)
    b.grad = np.ones_like(b.data)
    a0, b0 = a.data.copy(), b.data.copy()
    opt.step()
    np.testing.assert_allclose(a.data, a0 - 0.1)
    np.testing.assert_allclose(b.data, b0 - 1.0)


@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, {})])
def test_state_dict_roundtrip_continues_identically(cls, kw):
    ps1, ps2 = params(), params()
    o1 = cls(ps1, **kw)
    for step in range(3):
        for p, g in zip(ps1, grads(step, ps1)):
            p.grad = g
        o1.step()
    sd = o1.state_dict()
    for p1, p2 in zip(ps1, ps2):
        p2.data[...] = p1.data
    o2 = cls(ps2, **kw)
    o2.load_state_dict(sd)
    for step in range(3, 5):
        for o, ps in ((o1, ps1), (o2, ps2)):
            for p, g in zip(ps, grads(step, ps)):
                p.grad = g
            o.step()
    for p1, p2 in zip(ps1, ps2):
        np.testing.assert_array_equal(p1.data, p2.data)


def test_state_dict_layout_like_torch():
    ps = params()
    opt = optim.Adam(ps, lr=0.01)
    for p in ps:
        p.grad = np.ones_like(p.data)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["lr"] == 0.01
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"] == 1


def test_errors():
    ps = params()
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD(ps, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(ps, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(ps, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="Parameters"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(ps[0], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": ps}, {"params": ps[:1]}], lr=0.1)
    opt = optim.Adam(ps)
    bad = optim.Adam(params()[:1]).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({})
    sd = opt.state_dict()
    sd["state"] = {0: {"step": 1, "exp_avg": np.zeros(7), "exp_avg_sq": np.zeros(7)}}
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(sd)
    assert opt.state == {}
