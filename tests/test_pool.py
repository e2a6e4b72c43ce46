"""Pooling: max/avg/adaptive forward and backward against a float64 NumPy
reference (PyTorch's CPU loops, vectorized over outputs), the C reference
kernels, finite differences and torch; both ISA paths, thread invariance,
every error path."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnkern.functional as F
from nnkern import _C

from _util import num_threads, numerical_grad


# --------------------------------------------------------------------------
# float64 NumPy reference
# --------------------------------------------------------------------------
def out_size(L, k, p, s, d, ceil):
    o = (L + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= L + p:
        o -= 1
    return o


def ref_max(x, k, s, p, d, ceil):
    """Literal rule per window element (rows then columns): update when
    v > m or v is NaN; out-of-bounds elements are skipped; the initial index
    is the first in-bounds element."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = k, s, p, d
    OH, OW = out_size(H, kh, ph, sh, dh, ceil), out_size(W, kw, pw, sw, dw, ceil)
    oh = np.arange(OH)[:, None]
    ow = np.arange(OW)[None, :]
    m = np.full((N, C, OH, OW), -np.inf, dtype=x.dtype)
    h0 = oh * sh - ph
    w0 = ow * sw - pw
    hs = np.where(h0 < 0, h0 + (-h0 + dh - 1) // dh * dh, h0)
    ws = np.where(w0 < 0, w0 + (-w0 + dw - 1) // dw * dw, w0)
    idx = np.broadcast_to(hs * W + ws, (N, C, OH, OW)).astype(np.int64).copy()
    for i in range(kh):
        for j in range(kw):
            h = h0 + i * dh
            w = w0 + j * dw
            ok = (h >= 0) & (h < H) & (w >= 0) & (w < W)
            hc, wc = np.clip(h, 0, H - 1), np.clip(w, 0, W - 1)
            v = x[:, :, hc, wc]
            upd = ok & ((v > m) | np.isnan(v))
            m = np.where(upd, v, m)
            idx = np.where(upd, hc * W + wc, idx)
    return m, idx


def avg_divisor(H, W, OH, OW, k, s, p, cip, dov):
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    oh = np.arange(OH)[:, None]
    ow = np.arange(OW)[None, :]
    h0, w0 = oh * sh - ph, ow * sw - pw
    hend, wend = np.minimum(h0 + kh, H + ph), np.minimum(w0 + kw, W + pw)
    pool = (hend - h0) * (wend - w0)
    cnt = (np.minimum(hend, H) - np.maximum(h0, 0)) * (np.minimum(wend, W) - np.maximum(w0, 0))
    if dov:
        return np.full((OH, OW), float(dov))
    return (pool if cip else cnt).astype(np.float64)


def ref_avg(x, k, s, p, ceil, cip, dov):
    x = x.astype(np.float64)
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    OH, OW = out_size(H, kh, ph, sh, 1, ceil), out_size(W, kw, pw, sw, 1, ceil)
    xp = np.zeros((N, C, H + 2 * ph + kh + sh, W + 2 * pw + kw + sw))
    xp[:, :, ph:ph + H, pw:pw + W] = x
    acc = np.zeros((N, C, OH, OW))
    for i in range(kh):
        for j in range(kw):
            acc += xp[:, :, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw]
    return acc / avg_divisor(H, W, OH, OW, k, s, p, cip, dov)


def ref_avg_bwd(g, shape, k, s, p, cip, dov):
    N, C, H, W = shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    OH, OW = g.shape[-2:]
    gd = g.astype(np.float64) / avg_divisor(H, W, OH, OW, k, s, p, cip, dov)
    dxp = np.zeros((N, C, H + 2 * ph + kh + sh * OH, W + 2 * pw + kw + sw * OW))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw] += gd
    return dxp[:, :, ph:ph + H, pw:pw + W]


def ref_adaptive(x, OH, OW):
    N, C, H, W = x.shape
    y = np.zeros((N, C, OH, OW))
    for oh in range(OH):
        hs, he = oh * H // OH, -(-(oh + 1) * H // OH)
        for ow in range(OW):
            ws, we = ow * W // OW, -(-(ow + 1) * W // OW)
            y[:, :, oh, ow] = x[:, :, hs:he, ws:we].astype(np.float64).mean(axis=(2, 3))
    return y


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


# --------------------------------------------------------------------------
# geometry strategy: valid PyTorch pooling arguments
# --------------------------------------------------------------------------
@st.composite
def geometry(draw, dilation=True):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    ceil = draw(st.booleans())
    H = draw(st.integers(max(1, (kh - 1) * dh + 1 - 2 * ph), 40))
    W = draw(st.sampled_from([1, 2, 7, 8, 9, 15, 16, 17, 23, 33, 40, 57]))
    W = max(W, (kw - 1) * dw + 1 - 2 * pw)
    N, C = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    return (N, C, H, W), (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil


def rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


DTYPES = [np.float32, np.float64]


# --------------------------------------------------------------------------
# forward
# --------------------------------------------------------------------------
@settings(max_examples=60)
@given(g=geometry(), dt=st.sampled_from(DTYPES), nan=st.booleans())
def test_max_forward_matches_reference(isa, g, dt, nan):
    shape, k, s, p, d, ceil = g
    x = rand(shape, dt, seed=sum(shape))
    if nan and x.size:
        flat = x.reshape(-1)
        r = np.random.default_rng(1)
        flat[r.integers(0, flat.size, 3)] = np.nan
        flat[r.integers(0, flat.size, 3)] = np.inf
        flat[r.integers(0, flat.size, 3)] = -np.inf
    y, ind = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    ym, im = ref_max(x, k, s, p, d, ceil)
    assert y.dtype == dt and ind.dtype == np.int64
    np.testing.assert_array_equal(y, ym)
    np.testing.assert_array_equal(ind, im)
    np.testing.assert_array_equal(F.max_pool2d(x, k, s, p, d, ceil), ym)
    yr, ir = _C.pool_max_fwd(x, y.shape[2], y.shape[3], k + s + p + d, True, True)
    np.testing.assert_array_equal(yr, y)
    np.testing.assert_array_equal(ir, ind)


@settings(max_examples=60)
@given(g=geometry(dilation=False), dt=st.sampled_from(DTYPES), cip=st.booleans(),
       dov=st.sampled_from([None, None, 1, 3, -2]))
def test_avg_forward_matches_reference(isa, g, dt, cip, dov):
    shape, k, s, p, _, ceil = g
    x = rand(shape, dt, seed=sum(shape) + 1)
    y = F.avg_pool2d(x, k, s, p, ceil, cip, dov)
    assert y.dtype == dt
    np.testing.assert_allclose(y, ref_avg(x, k, s, p, ceil, cip, dov), **tol(dt))
    # the optimized kernels sum in the reference order: bitwise equal to the C oracle
    yr = _C.pool_avg_fwd(x, y.shape[2], y.shape[3], k + s + p + (1, 1), cip, dov or 0, True)
    np.testing.assert_array_equal(y, yr)


@pytest.mark.parametrize("case", [
    ((2, 3, 112, 112), 3, 2, 1), ((2, 3, 28, 28), 2, 2, 0), ((2, 3, 56, 56), 2, 2, 0),
    ((2, 3, 56, 56), 3, 1, 1), ((1, 2, 37, 61), 3, 2, 1), ((1, 2, 37, 61), 2, 2, 0),
    ((1, 2, 30, 70), 3, 1, 1), ((1, 1, 9, 100), 2, 2, 0)])
@pytest.mark.parametrize("dt", DTYPES)
def test_fast_paths_match_reference(isa, case, dt):
    shape, k, s, p = case
    x = rand(shape, dt)
    x[0, 0, 3, 5:9] = np.nan
    x[0, 0, 4, 10:13] = -np.inf
    x[0, -1, 5, :] = 0.0
    x[0, -1, 6, ::2] = -0.0
    y, ind = F.max_pool2d(x, k, s, p, return_indices=True)
    ym, im = ref_max(x, (k, k), (s, s), (p, p), (1, 1), False)
    np.testing.assert_array_equal(y, ym)
    np.testing.assert_array_equal(np.signbit(y), np.signbit(ym))
    np.testing.assert_array_equal(ind, im)
    ya = F.avg_pool2d(x, k, s, p)
    np.testing.assert_allclose(ya, ref_avg(x, (k, k), (s, s), (p, p), False, True, None),
                               **tol(dt))
    g = rand(y.shape, dt, seed=8)
    for cip in (True, False):
        np.testing.assert_allclose(
            F.avg_pool2d_backward(g, shape, k, s, p, count_include_pad=cip),
            ref_avg_bwd(g, shape, (k, k), (s, s), (p, p), cip, None), **tol(dt))
    np.testing.assert_allclose(F.max_pool2d_backward(g, ind, shape),
                               _C.pool_max_bwd(g, ind, shape[2], shape[3], True), **tol(dt))


@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (3, 1, 1), (2, 1, 1), (4, 1, 2), (2, 2, 1)])
@pytest.mark.parametrize("dt", DTYPES)
def test_all_minus_inf_window_index_is_first_valid(isa, k, s, p, dt):
    x = np.full((1, 2, 6, 21), -np.inf, dt)
    x[0, 1, 2:4, 5:9] = 1.0  # ties: the first in row-major order wins
    y, ind = F.max_pool2d(x, k, s, p, return_indices=True)
    ym, im = ref_max(x, (k, k), (s, s), (p, p), (1, 1), False)
    np.testing.assert_array_equal(ind, im)
    np.testing.assert_array_equal(y, ym)


def test_unbatched_noncontiguous_readonly_zero_batch(isa):
    x = rand((3, 2, 19, 30), np.float64)
    xt = x.transpose(1, 0, 2, 3)[:, :, :, ::-1]  # non-contiguous
    xt.setflags(write=False)
    y, ind = F.max_pool2d(xt, 3, 2, 1, return_indices=True)
    yc, ic = F.max_pool2d(np.ascontiguousarray(xt), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(y, yc)
    np.testing.assert_array_equal(ind, ic)
    y3, i3 = F.max_pool2d(xt[0], 3, 2, 1, return_indices=True)
    assert y3.shape == y.shape[1:]
    np.testing.assert_array_equal(y3, y[0])
    np.testing.assert_array_equal(i3, ind[0])
    np.testing.assert_array_equal(F.avg_pool2d(xt[1], 2), F.avg_pool2d(xt, 2)[1])
    np.testing.assert_array_equal(F.adaptive_avg_pool2d(xt[1], 3), F.adaptive_avg_pool2d(xt, 3)[1])
    g = rand(y3.shape, np.float64)
    np.testing.assert_array_equal(F.max_pool2d_backward(g, i3, xt[0].shape),
                                  F.max_pool2d_backward(g[None], i3[None], (1,) + xt[0].shape)[0])
    np.testing.assert_array_equal(
        F.avg_pool2d_backward(g, xt[0].shape, 3, 2, 1),
        F.avg_pool2d_backward(g[None], (1,) + xt[0].shape, 3, 2, 1)[0])
    z = np.zeros((0, 3, 8, 8), np.float32)
    assert F.max_pool2d(z, 2).shape == (0, 3, 4, 4)
    assert F.max_pool2d(z, 2, return_indices=True)[1].shape == (0, 3, 4, 4)
    assert F.avg_pool2d(z, 2).shape == (0, 3, 4, 4)
    assert F.adaptive_avg_pool2d(z, 1).shape == (0, 3, 1, 1)
    gz = np.zeros((0, 3, 4, 4), np.float32)
    assert F.max_pool2d_backward(gz, gz.astype(np.int64), z.shape).shape == z.shape
    assert F.avg_pool2d_backward(gz, z.shape, 2).shape == z.shape
    assert F.adaptive_avg_pool2d_backward(gz[..., :1, :1], z.shape).shape == z.shape
    # lists are accepted (float64)
    assert F.max_pool2d([[[1.0, 2.0], [3.0, 4.0]]], 2).tolist() == [[[4.0]]]


@settings(max_examples=40)
@given(H=st.integers(1, 30), W=st.integers(1, 30), OH=st.integers(0, 9), OW=st.integers(0, 9),
       dt=st.sampled_from(DTYPES))
def test_adaptive_avg_matches_reference(isa, H, W, OH, OW, dt):
    x = rand((2, 3, H, W), dt, seed=H * 31 + W)
    y = F.adaptive_avg_pool2d(x, (OH, OW))
    assert y.shape == (2, 3, OH, OW) and y.dtype == dt
    np.testing.assert_allclose(y, ref_adaptive(x, OH, OW), **tol(dt))
    np.testing.assert_array_equal(F.adaptive_avg_pool2d(x, (None, OW)).shape, (2, 3, H, OW))
    g = rand(y.shape, dt, seed=5)
    dx = F.adaptive_avg_pool2d_backward(g, x.shape)
    dr = _C.pool_adaptive_avg_bwd(g, H, W, True)
    np.testing.assert_allclose(dx, dr, **tol(dt))


def test_global_average_pooling_both_isas_identical():
    x = rand((4, 5, 13, 17), np.float32)
    res = []
    for isa in _C.isa_available():
        before = _C.isa_active()
        _C.set_isa(isa)
        try:
            res.append(F.adaptive_avg_pool2d(x, 1))
        finally:
            _C.set_isa(before)
    for r in res[1:]:
        np.testing.assert_array_equal(r, res[0])
    np.testing.assert_allclose(res[0][..., 0, 0], x.astype(np.float64).mean(axis=(2, 3)),
                               rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------
# backward
# --------------------------------------------------------------------------
@settings(max_examples=50)
@given(g=geometry(), dt=st.sampled_from(DTYPES))
def test_max_backward_matches_scatter(isa, g, dt):
    shape, k, s, p, d, ceil = g
    x = rand(shape, dt, seed=sum(shape) + 2)
    y, ind = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    gy = rand(y.shape, dt, seed=3)
    dx = F.max_pool2d_backward(gy, ind, x.shape)
    ref = np.zeros(x.shape, np.float64)
    N, C = shape[:2]
    for n in range(N):
        for c in range(C):
            np.add.at(ref[n, c].reshape(-1), ind[n, c].reshape(-1), gy[n, c].reshape(-1))
    np.testing.assert_allclose(dx, ref, **tol(dt))
    np.testing.assert_allclose(_C.pool_max_bwd(gy, ind, shape[2], shape[3], True), dx, **tol(dt))


@pytest.mark.parametrize("shape,k,s", [((2, 3, 28, 28), 2, 2), ((1, 2, 11, 37), 2, 2),
                                       ((1, 2, 12, 36), 3, 3), ((1, 2, 8, 8), 1, 1)])
@pytest.mark.parametrize("dt", DTYPES)
def test_max_backward_tiled_path_and_its_fallback(isa, shape, k, s, dt):
    x = rand(shape, dt)
    y, ind = F.max_pool2d(x, k, s, return_indices=True)
    gy = rand(y.shape, dt, seed=4)
    gy.reshape(-1)[::7] = -0.0
    dx = F.max_pool2d_backward(gy, ind, shape)
    ref = _C.pool_max_bwd(gy, ind, shape[2], shape[3], True)
    np.testing.assert_array_equal(dx, ref)
    np.testing.assert_array_equal(np.signbit(dx), np.signbit(ref))
    # valid indices that are not in their own block: falls back to the scatter
    # (which may add colliding gradients in another order than the oracle)
    for bad in (np.zeros_like(ind), ind[..., ::-1, :].copy()):
        bad[..., -1, -1] = shape[2] * shape[3] - 1
        np.testing.assert_allclose(F.max_pool2d_backward(gy, bad, shape),
                                   _C.pool_max_bwd(gy, bad, shape[2], shape[3], True), **tol(dt))


@settings(max_examples=50)
@given(g=geometry(dilation=False), dt=st.sampled_from(DTYPES), cip=st.booleans(),
       dov=st.sampled_from([None, None, 2, -3]))
def test_avg_backward_matches_reference(isa, g, dt, cip, dov):
    shape, k, s, p, _, ceil = g
    x = rand(shape, dt)
    y = F.avg_pool2d(x, k, s, p, ceil, cip, dov)
    gy = rand(y.shape, dt, seed=7)
    dx = F.avg_pool2d_backward(gy, x.shape, k, s, p, ceil, cip, dov)
    assert dx.shape == x.shape and dx.dtype == dt
    np.testing.assert_allclose(dx, ref_avg_bwd(gy, x.shape, k, s, p, cip, dov), **tol(dt))
    np.testing.assert_allclose(
        dx, _C.pool_avg_bwd(gy, shape[2], shape[3], k + s + p + (1, 1), cip, dov or 0, True),
        **tol(dt))


def _distinct(shape, seed):
    """Values far apart (spacing 0.1) so finite differences never cross a tie."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.1


@pytest.mark.parametrize("args", [(3, 2, 1, 1, False), ((2, 3), (1, 2), (1, 1), (2, 1), True),
                                  (2, 2, 0, 1, False), (3, 1, 1, 1, True)])
def test_max_backward_finite_differences(isa, args):
    k, s, p, d, ceil = args
    x = _distinct((1, 2, 7, 9), 0)
    y, ind = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    w = np.random.default_rng(1).standard_normal(y.shape)
    num = numerical_grad(lambda: float((F.max_pool2d(x, k, s, p, d, ceil) * w).sum()), x,
                         eps=1e-4)
    np.testing.assert_allclose(F.max_pool2d_backward(w, ind, x.shape), num, rtol=1e-6,
                               atol=1e-8)


@pytest.mark.parametrize("args", [(3, 2, 1, False, True, None), ((2, 3), (1, 2), (1, 1), True,
                                                                  False, None),
                                  (2, 2, 0, False, True, 3), (3, 1, 1, True, True, None)])
def test_avg_backward_finite_differences(isa, args):
    k, s, p, ceil, cip, dov = args
    x = np.random.default_rng(2).standard_normal((1, 2, 7, 9))
    y = F.avg_pool2d(x, k, s, p, ceil, cip, dov)
    w = np.random.default_rng(3).standard_normal(y.shape)
    num = numerical_grad(lambda: float((F.avg_pool2d(x, k, s, p, ceil, cip, dov) * w).sum()), x)
    np.testing.assert_allclose(F.avg_pool2d_backward(w, x.shape, k, s, p, ceil, cip, dov), num,
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("osz", [1, 3, (2, 5)])
def test_adaptive_backward_finite_differences(isa, osz):
    x = np.random.default_rng(4).standard_normal((2, 2, 7, 9))
    y = F.adaptive_avg_pool2d(x, osz)
    w = np.random.default_rng(5).standard_normal(y.shape)
    num = numerical_grad(lambda: float((F.adaptive_avg_pool2d(x, osz) * w).sum()), x)
    np.testing.assert_allclose(F.adaptive_avg_pool2d_backward(w, x.shape), num, rtol=1e-6,
                               atol=1e-8)


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
def test_thread_invariance(isa, dt, restore_threads):
    x = rand((3, 7, 45, 50), dt)
    outs = []
    for n in (1, 2, 3):
        with num_threads(n):
            y, ind = F.max_pool2d(x, 3, 2, 1, return_indices=True)
            ya = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
            g = F.adaptive_avg_pool2d(x, 1)
            ga = F.adaptive_avg_pool2d(x, (4, 6))
            dmax = F.max_pool2d_backward(y, ind, x.shape)
            davg = F.avg_pool2d_backward(ya, x.shape, 3, 1, 1, count_include_pad=False)
            dada = F.adaptive_avg_pool2d_backward(ga, x.shape)
            outs.append([y, ind, ya, g, ga, dmax, davg, dada])
    for o in outs[1:]:
        for a, b in zip(outs[0], o):
            assert a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------
TORCH_CASES = [
    ((2, 3, 17, 23), 3, 2, 1, 1, False), ((2, 3, 16, 40), 2, 2, 0, 1, False),
    ((2, 3, 16, 40), 3, 1, 1, 1, False), ((2, 3, 19, 41), (2, 3), (2, 1), (1, 1), (2, 1), True),
    ((1, 2, 33, 50), 3, 2, 1, 2, True), ((3, 10, 10), 4, 3, 2, 1, True),
]


@pytest.mark.parametrize("case", TORCH_CASES)
@pytest.mark.parametrize("dt", DTYPES)
def test_against_torch(isa, case, dt):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    shape, k, s, p, d, ceil = case
    x = rand(shape, dt, seed=11)
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = TF.max_pool2d(xt, k, s, p, d, ceil, return_indices=True)
    y, ind = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(ind, it.numpy())
    g = rand(y.shape, dt, seed=12)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(F.max_pool2d_backward(g, ind, x.shape), xt.grad.numpy(), **tol(dt))
    if d == 1:
        for cip in (True, False):
            for dov in (None, 5):
                xt.grad = None
                ya = TF.avg_pool2d(xt, k, s, p, ceil, cip, dov)
                np.testing.assert_allclose(F.avg_pool2d(x, k, s, p, ceil, cip, dov),
                                           ya.detach().numpy(), **tol(dt))
                ga = rand(ya.shape, dt, seed=13)
                ya.backward(torch.from_numpy(ga))
                np.testing.assert_allclose(
                    F.avg_pool2d_backward(ga, x.shape, k, s, p, ceil, cip, dov),
                    xt.grad.numpy(), **tol(dt))
    for osz in (1, 3, (2, 5), (None, 4)):
        xt.grad = None
        ya = TF.adaptive_avg_pool2d(xt, osz)
        np.testing.assert_allclose(F.adaptive_avg_pool2d(x, osz), ya.detach().numpy(), **tol(dt))
        ga = rand(ya.shape, dt, seed=14)
        ya.backward(torch.from_numpy(ga))
        np.testing.assert_allclose(F.adaptive_avg_pool2d_backward(ga, x.shape), xt.grad.numpy(),
                                   **tol(dt))


def test_nan_propagation_against_torch(isa):
    torch = pytest.importorskip("torch")
    x = rand((2, 3, 20, 37), np.float32)
    r = np.random.default_rng(9)
    x.reshape(-1)[r.integers(0, x.size, 40)] = np.nan
    x.reshape(-1)[r.integers(0, x.size, 40)] = np.inf
    for k, s, p in [(3, 2, 1), (2, 2, 0), (3, 1, 1)]:
        yt, it = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, return_indices=True)
        y, ind = F.max_pool2d(x, k, s, p, return_indices=True)
        np.testing.assert_array_equal(y, yt.numpy())
        np.testing.assert_array_equal(ind, it.numpy())


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", [((2, 3, 41, 53), 3, 2, 1), ((2, 3, 40, 56), 2, 2, 0),
                                  ((2, 3, 30, 37), 3, 1, 1), ((1, 2, 30, 37), (2, 3), (1, 3), (1, 1))])
def test_generic_and_avx2_paths_bitwise_identical(case, dt):
    if "avx2" not in _C.isa_available():
        pytest.skip("no AVX2 on this CPU")
    shape, k, s, p = case
    x = rand(shape, dt, seed=21)
    x[0, 0, 2, 3:7] = np.nan
    res = {}
    before = _C.isa_active()
    try:
        for isa in ("generic", "avx2"):
            _C.set_isa(isa)
            y, ind = F.max_pool2d(x, k, s, p, return_indices=True)
            ya = F.avg_pool2d(x, k, s, p, count_include_pad=False)
            res[isa] = [y, ind, ya, F.max_pool2d_backward(ya, ind, shape),
                        F.avg_pool2d_backward(ya, shape, k, s, p, count_include_pad=False),
                        F.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, (3, 4))]
    finally:
        _C.set_isa(before)
    for a, b in zip(res["generic"], res["avx2"]):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dt,shape", [(np.float32, (2, 64, 130, 128)), (np.float64, (2, 32, 130, 128))])
def test_large_backward_streamed_out(isa, dt, shape):
    """dx above 8 MB: the backward planes are built in a buffer and streamed
    out with non-temporal stores (AVX2 path); same results as the oracle."""
    x = rand(shape, dt, seed=31)
    for k, s, p in [(3, 2, 1), (2, 2, 0)]:
        y, ind = F.max_pool2d(x, k, s, p, return_indices=True)
        g = rand(y.shape, dt, seed=32)
        np.testing.assert_allclose(F.max_pool2d_backward(g, ind, shape),
                                   _C.pool_max_bwd(g, ind, shape[2], shape[3], True), **tol(dt))
        win = (k, k, s, s, p, p, 1, 1)
        np.testing.assert_allclose(F.avg_pool2d_backward(g, shape, k, s, p),
                                   _C.pool_avg_bwd(g, shape[2], shape[3], win, True, 0, True),
                                   **tol(dt))
    bad = ind.copy()
    bad[1, 3, 5, 7] = shape[2] * shape[3]
    with pytest.raises(ValueError, match="out of range"):
        F.max_pool2d_backward(g, bad, shape)
