"""Activation kernels: both ISA paths vs the naive C reference and NumPy,
NaN handling, in place, non-contiguous inputs, threads, errors."""
import numpy as np
import pytest

import nnkern.functional as F
from nnkern import _C
from _util import num_threads


SIZES = [0, 1, 7, 8, 9, 31, 33, 1000, 8193, 70001]
OPS = ["relu", "leaky_relu", "sigmoid", "tanh"]


def np_forward(op, x, s=0.01):
    x64 = x.astype(np.float64)
    if op == "relu":
        r = np.where(np.isnan(x64), x64, np.maximum(x64, 0))
    elif op == "leaky_relu":
        r = np.where(x > 0, x, x * x.dtype.type(s))  # in x's precision, as the kernel
    elif op == "sigmoid":
        r = 1 / (1 + np.exp(-x64))
    else:
        r = np.tanh(x64)
    return r


def call(op, x, s=0.01):
    return F.leaky_relu(x, s) if op == "leaky_relu" else getattr(F, op)(x)


def tolerance(op, dtype):
    if op in ("relu", "leaky_relu"):
        return dict(rtol=0, atol=0)
    return dict(rtol=4e-7, atol=1e-38) if dtype == np.float32 else dict(rtol=4e-15, atol=1e-300)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_forward_matches_reference(isa, op, dtype, n):
    x = (np.random.default_rng(n).standard_normal(n) * 6).astype(dtype)
    y = call(op, x)
    assert y.dtype == dtype and y.shape == x.shape
    ref = np.empty_like(x)
    _C.act_forward_ref(op, x, ref, 0.01)
    np.testing.assert_allclose(y, ref, **tolerance(op, dtype))
    np.testing.assert_allclose(y, np_forward(op, x).astype(dtype), **tolerance(op, dtype))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_extremes(isa, op, dtype):
    x = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 0.3, -0.6, 0.7, 5, -5, 9.5, -9.5, 20,
                  -20, 80, -80, 88, -88, 100, -100, 700, -700, 710, -710, 1e30, -1e30,
                  np.inf, -np.inf], dtype=dtype)
    x = np.concatenate([x] * 3)
    y = call(op, x)
    ref = np.empty_like(x)
    _C.act_forward_ref(op, x, ref, 0.01)
    np.testing.assert_allclose(y, ref, **tolerance(op, dtype))
    if op in ("sigmoid", "tanh"):
        lo = 0 if op == "sigmoid" else -1
        assert np.all((y >= lo) & (y <= 1))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_propagates(isa, op, dtype):
    x = np.array([np.nan] * 19 + [1.0], dtype)
    y = call(op, x)
    assert np.all(np.isnan(y[:-1]))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 9, 33, 1000, 70001])
def test_backward_matches_reference(isa, op, dtype, n):
    r = np.random.default_rng(n + 1)
    x = (r.standard_normal(n) * 3).astype(dtype)
    g = r.standard_normal(n).astype(dtype)
    if op == "leaky_relu":
        t = x
        gi = F.leaky_relu_backward(g, x, 0.2)
    else:
        t = call(op, x)
        gi = getattr(F, op + "_backward")(g, t)
    ref = np.empty_like(g)
    _C.act_backward_ref(op, g, t, ref, 0.2)
    tol = dict(rtol=0, atol=0) if op in ("relu", "leaky_relu") else (
        dict(rtol=3e-7, atol=1e-45) if dtype == np.float32 else dict(rtol=3e-16, atol=0))
    np.testing.assert_allclose(gi, ref, **tol)


def test_backward_semantics_like_torch():
    g = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(F.relu_backward(g, np.array([0.0, 1.0, np.nan, -1.0])),
                                  [0, 2, 3, 0])
    np.testing.assert_array_equal(F.leaky_relu_backward(g, np.array([0.0, 1.0, -2.0, 3.0]), 0.5),
                                  [0.5, 2, 1.5, 4])


@pytest.mark.parametrize("op", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_gradients_by_finite_differences(op):
    from _util import numerical_grad
    x = np.random.default_rng(2).standard_normal((3, 5))
    x[np.abs(x) < 1e-3] = 0.5
    g = np.random.default_rng(3).standard_normal((3, 5))
    f = lambda: float(np.sum(call(op, x, 0.1) * g))  # noqa: E731
    num = numerical_grad(f, x)
    if op == "leaky_relu":
        gi = F.leaky_relu_backward(g, x, 0.1)
    else:
        gi = getattr(F, op + "_backward")(g, call(op, x))
    np.testing.assert_allclose(gi, num, rtol=1e-6, atol=1e-8)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal(1000).astype(np.float32) * 8
    tx = torch.tensor(x)
    np.testing.assert_array_equal(F.relu(x), torch.relu(tx).numpy())
    np.testing.assert_array_equal(F.leaky_relu(x, 0.2),
                                  torch.nn.functional.leaky_relu(tx, 0.2).numpy())
    np.testing.assert_allclose(F.sigmoid(x), torch.sigmoid(tx).numpy(), rtol=3e-7, atol=1e-38)
    np.testing.assert_allclose(F.tanh(x), torch.tanh(tx).numpy(), rtol=3e-7, atol=1e-38)


def test_inplace_and_noncontiguous(isa):
    x = np.random.default_rng(5).standard_normal((6, 8)).astype(np.float32)
    expect = np.maximum(x, 0)
    y = x.copy()
    out = F.relu(y, inplace=True)
    assert out is y
    np.testing.assert_array_equal(y, expect)
    y = x.copy()
    F.relu_(y[:, ::2])           # non-contiguous target is written back
    np.testing.assert_array_equal(y[:, ::2], expect[:, ::2])
    np.testing.assert_array_equal(y[:, 1::2], x[:, 1::2])
    z = x.copy()
    F.leaky_relu_(z, 0.1)
    np.testing.assert_array_equal(z, np.where(x > 0, x, x * np.float32(0.1)))
    np.testing.assert_array_equal(F.sigmoid(x.T), F.sigmoid(x).T)
    ro = x.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(F.tanh(ro), F.tanh(x))
    with pytest.raises(ValueError, match="writeable"):
        F.relu(ro, inplace=True)
    big = np.asfortranarray(np.random.default_rng(6).standard_normal((300, 300)))
    np.testing.assert_array_equal(F.relu_backward(big, big),
                                  np.where(big > 0, big, 0))


def test_thread_invariance(restore_threads):
    x = np.random.default_rng(7).standard_normal(300001).astype(np.float32) * 4
    g = np.random.default_rng(8).standard_normal(300001).astype(np.float32)
    outs = []
    for n in (1, 2, 3):
        with num_threads(n):
            y = F.tanh(x)
            outs.append((F.relu(x), F.sigmoid(x), y, F.tanh_backward(g, y),
                         F.leaky_relu_backward(g, x)))
    for o in outs[1:]:
        for a, b in zip(outs[0], o):
            np.testing.assert_array_equal(a, b)


def test_errors():
    with pytest.raises(TypeError, match="float32 and float64"):
        F.relu(np.zeros(3, np.int32))
    with pytest.raises(TypeError, match="ndarray"):
        F.sigmoid("x")
    with pytest.raises(TypeError, match="same dtype"):
        F.relu_backward(np.zeros(3), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="does not match"):
        F.tanh_backward(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="negative_slope"):
        F.leaky_relu(np.zeros(3), "0.1")
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.act_relu_forward(np.zeros(4)[::2], np.zeros(2))
    with pytest.raises(ValueError, match="same number"):
        _C.act_relu_forward(np.zeros(4), np.zeros(3))
    with pytest.raises(TypeError, match="share one dtype"):
        _C.act_relu_forward(np.zeros(4), np.zeros(4, np.float32))
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _C.act_relu_forward(np.zeros(4), ro)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.act_relu_forward(np.zeros(4, np.int64), np.zeros(4, np.int64))
