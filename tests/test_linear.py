"""linear / linear_backward: against NumPy, finite differences, PyTorch."""
import numpy as np
import pytest

import nnkern.functional as F
from _util import numerical_grad, num_threads


def rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("in_shape,out_f", [((4, 5), 3), ((2, 3, 7), 17), ((7,), 16),
                                            ((0, 5), 4), ((3, 0), 6), ((65, 33), 1),
                                            ((2, 0, 4), 3)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_linear_forward(isa, dtype, in_shape, out_f, with_bias):
    rng = np.random.default_rng(1)
    x = rand(rng, in_shape, dtype)
    w = rand(rng, (out_f, in_shape[-1]), dtype)
    b = rand(rng, (out_f,), dtype) if with_bias else None
    y = F.linear(x, w, b)
    assert y.shape == in_shape[:-1] + (out_f,) and y.dtype == dtype
    ref = x.astype(np.float64) @ w.astype(np.float64).T
    if with_bias:
        ref = ref + b
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol * max(1, in_shape[-1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("in_shape,out_f", [((4, 5), 3), ((2, 3, 7), 17), ((7,), 16),
                                            ((0, 5), 4), ((3, 0), 6)])
def test_linear_backward_against_numpy(isa, dtype, in_shape, out_f):
    rng = np.random.default_rng(2)
    x = rand(rng, in_shape, dtype)
    w = rand(rng, (out_f, in_shape[-1]), dtype)
    g = rand(rng, in_shape[:-1] + (out_f,), dtype)
    gx, gw, gb = F.linear_backward(g, x, w)
    g2 = g.reshape(-1, out_f).astype(np.float64)
    x2 = x.reshape(g2.shape[0], in_shape[-1]).astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (out_f,)
    assert gx.dtype == gw.dtype == gb.dtype == dtype
    np.testing.assert_allclose(gx, (g2 @ w).reshape(x.shape), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(gw, g2.T @ x2, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(gb, g2.sum(0), rtol=tol, atol=tol * 10)


def test_linear_backward_finite_differences(isa):
    rng = np.random.default_rng(3)
    x = rand(rng, (2, 3, 5))
    w = rand(rng, (4, 5))
    b = rand(rng, (4,))
    g = rand(rng, (2, 3, 4))

    def loss():
        return float(np.sum(F.linear(x, w, b) * g))

    gx, gw, gb = F.linear_backward(g, x, w)
    np.testing.assert_allclose(gx, numerical_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gw, numerical_grad(loss, w), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gb, numerical_grad(loss, b), rtol=1e-6, atol=1e-7)


def test_linear_backward_mask():
    rng = np.random.default_rng(4)
    x, w, g = rand(rng, (3, 5)), rand(rng, (2, 5)), rand(rng, (3, 2))
    full = F.linear_backward(g, x, w)
    for mask in [(True, False, False), (False, True, False), (False, False, True),
                 (True, True, False), (False, False, False)]:
        got = F.linear_backward(g, x, w, output_mask=mask)
        for m, r, f in zip(mask, got, full):
            if m:
                np.testing.assert_array_equal(r, f)
            else:
                assert r is None


def test_linear_thread_invariance_and_views(restore_threads):
    rng = np.random.default_rng(5)
    base = rand(rng, (300, 260), np.float32)
    x = base[::-2, 3:200]  # negative-stride, sliced view
    w = rand(rng, (70, 197), np.float32).T.copy().T  # column-major weight
    b = rand(rng, (70,), np.float32)
    g = rand(rng, (150, 70), np.float32)
    outs = []
    for t in (1, 2, 3):
        with num_threads(t):
            outs.append((F.linear(x, w, b),) + F.linear_backward(g, x, w))
    for o in outs[1:]:
        for r, e in zip(o, outs[0]):
            np.testing.assert_array_equal(r, e)
    np.testing.assert_allclose(outs[0][0], x @ w.T + b, rtol=1e-4, atol=1e-4)


def test_linear_readonly_inputs():
    rng = np.random.default_rng(6)
    x, w, b = rand(rng, (3, 4)), rand(rng, (5, 4)), rand(rng, (5,))
    for a in (x, w, b):
        a.flags.writeable = False
    np.testing.assert_allclose(F.linear(x, w, b), x @ w.T + b, rtol=1e-12)
    gx, gw, gb = F.linear_backward(np.ones((3, 5)), x, w)
    np.testing.assert_allclose(gx, np.ones((3, 5)) @ w, rtol=1e-12)


def test_linear_errors():
    rng = np.random.default_rng(7)
    x, w = rand(rng, (4, 5)), rand(rng, (3, 6))
    with pytest.raises(ValueError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x5 and 6x3\)"):
        F.linear(x, w)
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.linear(x, w[0])
    with pytest.raises(ValueError, match="at least 1 dimension"):
        F.linear(np.float64(1.0), w)
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        F.linear(rand(rng, (4, 6)), w, np.zeros(4))
    with pytest.raises(TypeError, match="float32 and float64"):
        F.linear(x.astype(np.float32), rand(rng, (3, 5)))
    with pytest.raises(TypeError, match="float32 and float64"):
        F.linear(rand(rng, (4, 6)), w, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="float32 and float64"):
        F.linear(x.astype(np.int64), rand(rng, (3, 5)).astype(np.int64))
    w5 = rand(rng, (3, 5))
    with pytest.raises(ValueError, match=r"grad_output has shape \(4, 2\)"):
        F.linear_backward(np.zeros((4, 2)), x, w5)
    with pytest.raises(ValueError, match="mat1 and mat2"):
        F.linear_backward(np.zeros((4, 3)), x, w)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.linear_backward(np.zeros((4, 3), np.float32), x, w5)
    with pytest.raises(ValueError, match="output_mask"):
        F.linear_backward(np.zeros((4, 3)), x, w5, output_mask=(True, True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_against_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x, w, b = rand(rng, (2, 9, 33), dtype), rand(rng, (17, 33), dtype), rand(rng, (17,), dtype)
    g = rand(rng, (2, 9, 17), dtype)
    tx, tw, tb = (torch.from_numpy(v.copy()).requires_grad_() for v in (x, w, b))
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(torch.from_numpy(g))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(F.linear(x, w, b), ty.detach().numpy(), rtol=tol, atol=tol)
    gx, gw, gb = F.linear_backward(g, x, w)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=tol, atol=tol * 10)
    # error wording matches torch's for a shape mismatch
    with pytest.raises(RuntimeError) as texc:
        torch.nn.functional.linear(torch.zeros(4, 5), torch.zeros(3, 6))
    with pytest.raises(ValueError) as nexc:
        F.linear(np.zeros((4, 5)), np.zeros((3, 6)))
    assert str(nexc.value) in str(texc.value)
