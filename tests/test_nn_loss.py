"""Losses: values and gradients vs PyTorch and finite differences."""
import numpy as np
import pytest

from nnkern import nn
from _util import numerical_grad


def rng(seed=0):
    return np.random.default_rng(seed)


def fd_check(loss, pred, target, rtol=1e-6, atol=1e-8):
    pred = pred.astype(np.float64)
    loss(pred, target)
    g = loss.backward()
    num = numerical_grad(lambda: loss(pred, target), pred)
    np.testing.assert_allclose(g, num, rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse(reduction):
    p, t = rng(0).standard_normal((4, 3)), rng(1).standard_normal((4, 3))
    loss = nn.MSELoss(reduction)
    v = loss(p, t)
    assert isinstance(v, float)
    ref = ((p - t) ** 2).sum()
    assert v == pytest.approx(ref / (12 if reduction == "mean" else 1))
    fd_check(loss, p, t)


def test_mse_none_reduction():
    p, t = rng(0).standard_normal((2, 3)), rng(1).standard_normal((2, 3))
    loss = nn.MSELoss("none")
    np.testing.assert_allclose(loss(p, t), (p - t) ** 2)
    g = rng(2).standard_normal((2, 3))
    np.testing.assert_allclose(loss.backward(g), 2 * (p - t) * g)


@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 2, 2)])
def test_cross_entropy_fd(shape):
    p = rng(3).standard_normal(shape)
    C = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    t = rng(4).integers(0, C, tshape)
    fd_check(nn.CrossEntropyLoss(), p, t)
    fd_check(nn.CrossEntropyLoss(reduction="sum"), p, t)


def test_cross_entropy_stable_for_huge_logits():
    p = np.array([[1000.0, 0.0, -1000.0], [-1e30, 1e30, 0.0]], np.float32)
    loss = nn.CrossEntropyLoss()
    v = loss(p, np.array([0, 2]))
    assert np.isfinite(v) and v == pytest.approx(1e30 / 2, rel=1e-5)
    assert np.all(np.isfinite(loss.backward()))


def test_cross_entropy_errors():
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match="Target 3 is out of bounds"):
        loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="target shape"):
        loss(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.CrossEntropyLoss().backward()
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")


def test_bce_fd_and_clamp():
    p = rng(5).uniform(0.05, 0.95, (3, 4))
    t = rng(6).uniform(0, 1, (3, 4))
    fd_check(nn.BCELoss(), p, t)
    loss = nn.BCELoss()
    v = loss(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert v == pytest.approx(100.0)  # log clamped at -100 as torch
    assert np.all(np.isfinite(loss.backward()))
    with pytest.raises(ValueError, match="between 0 and 1"):
        loss(np.array([1.5]), np.array([1.0]))


def test_bce_with_logits_fd():
    x = rng(7).standard_normal((3, 4)) * 3
    t = rng(8).uniform(0, 1, (3, 4))
    fd_check(nn.BCEWithLogitsLoss(), x, t)


def test_losses_match_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    p = rng(9).standard_normal((6, 5))
    t = rng(10).integers(0, 5, 6)
    t[2] = -100
    w = rng(11).uniform(0.5, 2, 5)
    cases = [
        (nn.CrossEntropyLoss(), lambda a: tF.cross_entropy(a, torch.tensor(t))),
        (nn.CrossEntropyLoss(weight=w), lambda a: tF.cross_entropy(a, torch.tensor(t),
                                                                   weight=torch.tensor(w))),
        (nn.CrossEntropyLoss(label_smoothing=0.1),
         lambda a: tF.cross_entropy(a, torch.tensor(t), label_smoothing=0.1)),
        (nn.CrossEntropyLoss(reduction="sum"),
         lambda a: tF.cross_entropy(a, torch.tensor(t), reduction="sum")),
    ]
    for loss, tf in cases:
        a = torch.tensor(p, requires_grad=True)
        ref = tf(a)
        ref.backward()
        assert loss(p, t) == pytest.approx(ref.item(), rel=1e-12)
        np.testing.assert_allclose(loss.backward(), a.grad.numpy(), rtol=1e-10, atol=1e-14)
    # an ignore_index that is a valid class
    t2 = np.where(t < 0, 1, t)
    loss = nn.CrossEntropyLoss(ignore_index=int(t2[0]))
    a = torch.tensor(p, requires_grad=True)
    ref = tF.cross_entropy(a, torch.tensor(t2), ignore_index=int(t2[0]))
    ref.backward()
    assert loss(p, t2) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), a.grad.numpy(), rtol=1e-10, atol=1e-14)
    # probability targets
    q = rng(12).dirichlet(np.ones(5), 6)
    a = torch.tensor(p, requires_grad=True)
    ref = tF.cross_entropy(a, torch.tensor(q))
    ref.backward()
    loss = nn.CrossEntropyLoss()
    assert loss(p, q) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), a.grad.numpy(), rtol=1e-10)
    # BCE / MSE / BCEWithLogits
    pr = rng(13).uniform(0.01, 0.99, (4, 3))
    tt = rng(14).uniform(0, 1, (4, 3))
    for mine, theirs in [(nn.BCELoss(), tF.binary_cross_entropy),
                         (nn.MSELoss(), tF.mse_loss),
                         (nn.BCEWithLogitsLoss(), tF.binary_cross_entropy_with_logits)]:
        a = torch.tensor(pr, requires_grad=True)
        ref = theirs(a, torch.tensor(tt))
        ref.backward()
        assert mine(pr, tt) == pytest.approx(ref.item(), rel=1e-12)
        np.testing.assert_allclose(mine.backward(), a.grad.numpy(), rtol=1e-10)


def test_loss_argument_errors():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        nn.MSELoss()([1.0], np.ones(1))
    with pytest.raises(TypeError, match="float32 and float64"):
        nn.MSELoss()(np.ones(2, np.int64), np.ones(2))
    with pytest.raises(ValueError, match="target shape"):
        nn.MSELoss()(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="target has dtype"):
        nn.MSELoss()(np.ones(2), np.array(["a", "b"]))
    loss = nn.MSELoss()
    loss(np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="must be a scalar"):
        loss.backward(np.ones(2))
    none = nn.MSELoss("none")
    none(np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="unreduced loss shape"):
        none.backward(np.ones(3))
    with pytest.raises(ValueError, match="weight has shape"):
        nn.CrossEntropyLoss(weight=np.ones(2))(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="class dimension"):
        nn.CrossEntropyLoss()(np.zeros(()), np.array(0))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="pos_weight"):
        nn.BCEWithLogitsLoss(pos_weight=np.ones(2))
    ce = nn.CrossEntropyLoss(ignore_index=1)
    assert np.isnan(ce(np.zeros((2, 3)), np.array([1, 1])))  # nothing counted, as torch
    np.testing.assert_array_equal(ce.backward(), np.full((2, 3), np.nan))


def test_cross_entropy_none_and_weighted_soft_targets():
    p = rng(20).standard_normal((4, 3))
    t = rng(21).integers(0, 3, 4)
    per = nn.CrossEntropyLoss(reduction="none")
    v = per(p, t)
    ref = np.log(np.exp(p).sum(1)) - p[np.arange(4), t]
    np.testing.assert_allclose(v, ref)
    g = rng(22).standard_normal(4)
    sm = np.exp(p) / np.exp(p).sum(1, keepdims=True)
    onehot = np.eye(3)[t]
    np.testing.assert_allclose(per.backward(g), (sm - onehot) * g[:, None])
    q = rng(23).dirichlet(np.ones(3), 4)
    fd_check(nn.CrossEntropyLoss(weight=np.array([0.5, 1.0, 2.0]), label_smoothing=0.2), p, q)
    fd_check(nn.CrossEntropyLoss(weight=np.array([0.5, 1.0, 2.0]), label_smoothing=0.2), p, t)
