"""Module machinery: registration, state dicts (PyTorch key names and
compatibility), modes, gradients, repr and summary."""
from collections import OrderedDict

import numpy as np
import pytest

import nnkern
from nnkern import nn



def lenet(rng=0):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, rng=rng + 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120, rng=rng + 2), nn.ReLU(),
        nn.Linear(120, 84, rng=rng + 3), nn.ReLU(), nn.Linear(84, 10, rng=rng + 4))


def nested():
    return nn.Sequential(OrderedDict(
        stem=nn.Linear(3, 4, rng=0),
        block=nn.Residual(nn.Sequential(nn.Linear(4, 4, rng=1), nn.ReLU())),
        head=nn.Sequential(nn.ReLU(), nn.Linear(4, 2, rng=2))))


def test_state_dict_keys_like_torch():
    assert list(lenet().state_dict()) == [
        "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias",
        "11.weight", "11.bias"]
    assert list(nested().state_dict()) == [
        "stem.weight", "stem.bias", "block.block.0.weight", "block.block.0.bias",
        "head.1.weight", "head.1.bias"]


def test_parameters_and_counts():
    m = lenet()
    assert m.num_parameters() == 61706
    assert len(list(m.parameters())) == 10
    names = [n for n, _ in m.named_parameters()]
    assert names == list(m.state_dict())
    shared = nn.Linear(2, 2)
    assert len(list(nn.Sequential(shared, shared).parameters())) == 2


def test_load_state_dict_roundtrip_and_copy_semantics():
    a, b = nested(), nested()
    for p in b.parameters():
        p.data[...] = 0
    ref = b.stem.weight.data
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert b.stem.weight.data is ref  # copied in place: optimizers keep working
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(v, w)


def test_load_state_dict_errors_list_keys_and_never_half_load():
    m = nested()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    sd = OrderedDict((k, np.ones_like(v)) for k, v in m.state_dict().items())
    sd.pop("head.1.bias")
    sd["extra.weight"] = np.zeros(3)
    with pytest.raises(KeyError) as ei:
        m.load_state_dict(sd)
    msg = str(ei.value)
    assert "missing keys: 'head.1.bias'" in msg and "unexpected keys: 'extra.weight'" in msg
    sd = OrderedDict((k, np.ones_like(v)) for k, v in m.state_dict().items())
    sd["stem.weight"] = np.ones((5, 3))
    sd["head.1.weight"] = np.ones((2, 5))
    with pytest.raises(ValueError) as ei:
        m.load_state_dict(sd)
    msg = str(ei.value)
    assert "'stem.weight': checkpoint shape (5, 3), model shape (4, 3)" in msg
    assert "'head.1.weight'" in msg
    for k, v in m.state_dict().items():  # nothing was assigned
        np.testing.assert_array_equal(v, before[k])
    # strict=False loads what matches and reports the rest
    sd = OrderedDict((k, np.ones_like(v)) for k, v in m.state_dict().items())
    sd.pop("stem.bias")
    res = m.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["stem.bias"]
    assert np.all(m.stem.weight.data == 1)
    with pytest.raises(TypeError):
        m.load_state_dict([1, 2])


def test_train_eval_zero_grad_to():
    m = nested()
    assert m.eval() is m and not any(x.training for x in m.modules())
    assert m.train() is m and all(x.training for x in m.modules())
    x = np.ones((2, 3), np.float32)
    m(x)
    m.backward(np.ones((2, 2), np.float32))
    assert all(p.grad is not None for p in m.parameters())
    g0 = m.stem.weight.grad.copy()
    m(x)
    m.backward(np.ones((2, 2), np.float32))
    np.testing.assert_allclose(m.stem.weight.grad, 2 * g0, rtol=1e-6)  # accumulates
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m(x.astype(np.float64)).dtype == np.float64
    with pytest.raises(TypeError):
        m.to(np.int32)


def test_registration_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign"):
        m.weight = np.zeros((2, 2))
    m.bias = None
    assert "bias" not in m.state_dict()
    with pytest.raises(AttributeError):
        m.nonexistent
    s = nn.Sequential(nn.Linear(2, 2))
    s.append(nn.ReLU())
    assert len(s) == 2 and isinstance(s[-1], nn.ReLU) and isinstance(s[0:1], nn.Sequential)
    with pytest.raises(IndexError):
        s[5]


def test_repr_like_torch():
    assert repr(nn.Linear(4, 3)) == "Linear(in_features=4, out_features=3, bias=True)"
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == \
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(nn.MaxPool2d(2)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Sequential(nn.Linear(2, 2), nn.ReLU())) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "  (1): ReLU()\n)")
    assert "(block): Residual(" in repr(nested())


def test_reprs_match_torch():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    pairs = [(nn.Linear(4, 3, bias=False), tn.Linear(4, 3, bias=False)),
             (nn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False),
              tn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False)),
             (nn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1),
              tn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1)),
             (nn.MaxPool2d(3, 2, 1), tn.MaxPool2d(3, 2, 1)),
             (nn.AvgPool2d(2), tn.AvgPool2d(2)),
             (nn.LeakyReLU(0.2), tn.LeakyReLU(0.2)), (nn.Sigmoid(), tn.Sigmoid()),
             (nn.Flatten(), tn.Flatten()), (nn.Unflatten(1, (2, 3)), tn.Unflatten(1, (2, 3))),
             (nn.Upsample(scale_factor=2), tn.Upsample(scale_factor=2)),
             (lenet(), tn.Sequential(
                 tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
                 tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(),
                 tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(),
                 tn.Linear(84, 10)))]
    for mine, theirs in pairs:
        assert repr(mine) == repr(theirs)


def test_summary_table():
    text = lenet().summary((1, 1, 28, 28), print_out=False)
    assert "(1, 6, 28, 28)" in text and "(1, 16, 5, 5)" in text and "(1, 10)" in text
    assert "Total params: 61,706" in text
    lines = text.splitlines()
    row = next(line for line in lines if line.lstrip().startswith("7 (Linear)"))
    assert row.rstrip().endswith("48,120")
    r = nested().summary((2, 3), print_out=False)
    assert "block (Residual)" in r and "block.block.0 (Linear)" in r


def test_default_init_statistics_match_torch_bounds():
    m = nn.Linear(100, 50, rng=0)
    b = 1 / np.sqrt(100)
    assert np.abs(m.weight.data).max() <= b and np.abs(m.weight.data).max() > 0.9 * b
    assert np.abs(m.bias.data).max() <= b
    c = nn.Conv2d(4, 8, 3, rng=0)
    b = 1 / np.sqrt(4 * 9)
    assert np.abs(c.weight.data).max() <= b and np.abs(c.bias.data).max() <= b
    t = nn.ConvTranspose2d(4, 8, 3, rng=0)   # torch: fan_in from weight.size(1) = 8
    b = 1 / np.sqrt(8 * 9)
    assert np.abs(t.weight.data).max() <= b and np.abs(t.weight.data).max() > 0.9 * b
    np.testing.assert_array_equal(nn.Linear(5, 5, rng=3).weight.data,
                                  nn.Linear(5, 5, rng=3).weight.data)
    nnkern.init.manual_seed(7)
    w1 = nn.Linear(5, 5).weight.data.copy()
    nnkern.init.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(5, 5).weight.data, w1)


def test_torch_state_dict_loads_and_matches_outputs_and_gradients():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    torch.manual_seed(0)
    tm = tn.Sequential(
        tn.Conv2d(1, 4, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
        tn.Conv2d(4, 6, 3), tn.Tanh(), tn.AvgPool2d(2),
        tn.Flatten(), tn.Linear(6, 8), tn.LeakyReLU(0.1), tn.Linear(8, 3)).double()
    m = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(6, 8), nn.LeakyReLU(0.1), nn.Linear(8, 3)).double()
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8))
    t = np.array([0, 2, 1, 1, 0])
    tx = torch.tensor(x, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tm(tx), torch.tensor(t))
    tl.backward()
    loss = nn.CrossEntropyLoss()
    v = loss(m(x), t)
    gi = m.backward(loss.backward())
    assert v == pytest.approx(tl.item(), rel=1e-10)
    np.testing.assert_allclose(gi, tx.grad.numpy(), rtol=1e-8, atol=1e-12)
    for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-8, atol=1e-12)
    # and the float32 model loads a float32 torch state dict directly (tensors)
    m32 = nn.Sequential(nn.Linear(3, 2))
    t32 = tn.Sequential(tn.Linear(3, 2))
    m32.load_state_dict(t32.state_dict())
    np.testing.assert_array_equal(m32[0].weight.data, t32[0].weight.detach().numpy())
    m32.load_state_dict(dict(t32.named_parameters()))  # tensors that require grad
    np.testing.assert_array_equal(m32[0].bias.data, t32[0].bias.detach().numpy())


def test_conv_transpose_and_upsample_match_torch():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    torch.manual_seed(1)
    tm = tn.Sequential(tn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                       tn.Upsample(scale_factor=2), tn.Sigmoid()).double()
    m = nn.Sequential(nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                      nn.Upsample(scale_factor=2), nn.Sigmoid()).double()
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(1).standard_normal((2, 3, 3, 3))
    tx = torch.tensor(x, requires_grad=True)
    ty = tm(tx)
    g = np.random.default_rng(2).standard_normal(ty.shape)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(m(x), ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(m.backward(g), tx.grad.numpy(), rtol=1e-8, atol=1e-12)
    for size in [(5, 4), (2, 7)]:
        for kw in [dict(size=size), dict(scale_factor=1.7)]:
            u, tu = nn.Upsample(**kw), tn.Upsample(**kw)
            x = np.random.default_rng(3).standard_normal((1, 2, 3, 4))
            tx = torch.tensor(x, requires_grad=True)
            ty = tu(tx)
            gg = np.random.default_rng(4).standard_normal(ty.shape)
            ty.backward(torch.tensor(gg))
            np.testing.assert_array_equal(u(x), ty.detach().numpy())
            np.testing.assert_allclose(u.backward(gg), tx.grad.numpy(), rtol=1e-12)


def test_buffers_and_attribute_mirroring():
    m = nn.Linear(2, 2)
    m.register_buffer("running", np.zeros(2, np.float32))
    assert "running" in m.state_dict()
    m.running = np.ones(2, np.float32)
    np.testing.assert_array_equal(m.state_dict()["running"], 1)
    m.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2), "running": np.full(2, 3.0)})
    np.testing.assert_array_equal(m.running, 3)
    m.double()
    assert m.running.dtype == np.float64 and m.state_dict()["running"].dtype == np.float64
    del m.running
    assert "running" not in m.state_dict()
    w = m.weight
    m.weight = nn.Parameter(np.zeros((2, 2)))
    assert m.weight is not w and m.state_dict()["weight"] is m.weight.data
    s = nn.Sequential(nn.Linear(1, 1))
    s.extra = nn.ReLU()
    assert list(dict(s.named_children())) == ["0", "extra"]
    del s.extra
    assert list(dict(s.named_children())) == ["0"]


def test_deepcopy_and_pickle_keep_registration():
    import copy
    import pickle
    m = nested()
    x = np.ones((2, 3), np.float32)
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert c.stem.weight is c._modules["stem"]._parameters["weight"]
        assert c.stem.weight is not m.stem.weight
        np.testing.assert_array_equal(c(x), m(x))
        c.stem.weight.data[...] = 0
        assert m.stem.weight.data.any()


@pytest.mark.parametrize("make", [
    lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    lambda m: m.MaxPool2d(2, dilation=2),
    lambda m: m.AvgPool2d(3, stride=2, padding=1, count_include_pad=False, ceil_mode=True),
    lambda m: m.AvgPool2d(2, divisor_override=3),
    lambda m: m.AdaptiveAvgPool2d((3, 4)),
    lambda m: m.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
    lambda m: m.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2,
                                dilation=2),
])
def test_layer_options_match_torch(make):
    torch = pytest.importorskip("torch")
    tm, m = make(torch.nn).double(), make(nn).double()
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(5).standard_normal((2, 4, 7, 9))
    tx = torch.tensor(x, requires_grad=True)
    ty = tm(tx)
    g = np.random.default_rng(6).standard_normal(ty.shape)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(m(x), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.backward(g), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_lenet_float32_training_steps_match_torch():
    """End to end on the real kernels: LeNet-5 in float32, same weights and
    data, three SGD+momentum steps (in-place activations, input_grad=False)."""
    torch = pytest.importorskip("torch")
    tn = torch.nn
    torch.manual_seed(0)
    tm = tn.Sequential(
        tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
        tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(),
        tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(), tn.Linear(84, 10))
    m = lenet()
    m.load_state_dict(tm.state_dict())
    opt = nnkern.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(tm.parameters(), lr=0.05, momentum=0.9)
    loss, tloss = nn.CrossEntropyLoss(), tn.CrossEntropyLoss()
    r = np.random.default_rng(7)
    for _ in range(3):
        x = r.standard_normal((8, 1, 28, 28)).astype(np.float32)
        y = r.integers(0, 10, 8)
        opt.zero_grad()
        topt.zero_grad()
        v = loss(m(x), y)
        assert m.backward(loss.backward(), input_grad=False) is None
        tv = tloss(tm(torch.from_numpy(x)), torch.from_numpy(y))
        tv.backward()
        assert v == pytest.approx(tv.item(), rel=1e-5)
        opt.step()
        topt.step()
    for (name, p), tp in zip(m.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_apply_and_requires_grad():
    m = nested()
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Sequential" and seen.count("Linear") == 3
    m.apply(lambda mod: nnkern.init.zeros_(mod.weight) if isinstance(mod, nn.Linear) else None)
    assert all(not mod.weight.data.any() for mod in m.modules() if isinstance(mod, nn.Linear))
    m.stem.requires_grad_(False)
    x = np.ones((2, 3), np.float32)
    m(x)
    m.backward(np.ones((2, 2), np.float32))
    assert m.stem.weight.grad is None and m.stem.bias.grad is None
    assert m.head[1].weight.grad is not None


def test_module_error_paths():
    with pytest.raises(TypeError, match="float32 or float64"):
        nn.Parameter(np.zeros(3, np.int64))
    m = nn.Module()
    with pytest.raises(NotImplementedError, match="forward"):
        m(np.zeros(2))
    with pytest.raises(NotImplementedError, match="backward"):
        m.backward(np.zeros(2))
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="cannot register"):
        m.register_parameter("w", np.zeros(2))
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign"):
        nn.Sequential(lin)._modules  # noqa: B018 (registration ok)
        s = nn.Sequential(lin)
        s.__setattr__("0", np.zeros(2))
    with pytest.raises(TypeError, match="backward expects grad_output as a numpy.ndarray"):
        lin.backward(None)
    p = nn.Parameter(np.ones(3))
    assert p.shape == (3,) and p.ndim == 1 and p.size == 3 and p.numel() == 3
    assert np.asarray(p) is p.data and np.asarray(p, dtype=np.float32).dtype == np.float32
    assert "Parameter(shape=(3,)" in repr(p)
