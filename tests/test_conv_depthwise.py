"""conv2d's depthwise path (csrc/nk_conv_depthwise.c: groups == C_in >= 2,
any multiplier, kernel, stride, padding and dilation, float32 and float64,
every ISA level): the forward, backward-data and weight gradient against the
float64 reference over a hypothesis grid at every level, with the probe
checked against the rule written out here, every pass both by channel lanes
and by planes; central finite differences;
thread invariance; the same bits at every level; non-finite weights and
inputs (the grid's dropped columns must not turn them into NaN where the
reference has none); torch, when importable."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nnkern.functional as F
from nnkern import _C

from _util import numerical_grad, num_threads

LEVELS = _C.isa_available()


@pytest.fixture
def level(isa):
    """conftest's `isa` (every level this CPU has), under this file's name."""
    return isa


def _out(H, k, s, p, d):
    return (H + 2 * p - d * (k - 1) - 1) // s + 1


def _geo(x, w, stride, pad, dil):
    N, C, H, W = x.shape
    K, _, kh, kw = w.shape
    return (N, C, H, W, K, kh, kw, stride, pad, dil, C,
            _out(H, kh, stride[0], pad[0], dil[0]), _out(W, kw, stride[1], pad[1], dil[1]))


def _expect_lanes(level, geo, pass_):
    """Channel lanes: the weight gradient at every level, strided forwards
    at AVX-512, every pass at AVX2 (backward-data at stride 1 only), every
    pass on outputs of at most 512 pixels at the generic level; when the
    lanes' two buffers fit in 2**16 pixels."""
    _, _, H, W, _, kh, kw, stride, pad, dil, _, OH, OW = geo
    if level == "generic":
        ok = OH * OW <= 512
    elif level == "avx512":
        ok = pass_ == 2 or (pass_ == 0 and max(stride) > 1)
    else:
        ok = True
    if not ok:
        return False
    if pass_ == 1:  # dy padded by the taps' reach, and dx
        if max(stride) > 1:
            return False
        Hb = max(0, (kh - 1) * dil[0] - pad[0]) + max(OH, H + pad[0])
        Wb = max(0, (kw - 1) * dil[1] - pad[1]) + max(OW, W + pad[1])
        pix = H * W
    else:  # the padded input the outputs read, and the outputs
        Hb = (OH - 1) * stride[0] + (kh - 1) * dil[0] + 1
        Wb = (OW - 1) * stride[1] + (kw - 1) * dil[1] + 1
        pix = OH * OW
    return Hb * Wb + pix <= 2 ** 16


def _expect(level, geo, pass_, lanes=True):
    """The rule: channel lanes (_expect_lanes), or the planes: every pass at
    the generic level and for strides; at stride 1, the forward and
    backward-data at AVX2 only (AVX-512 keeps its direct kernels), the
    weight gradient on outputs of at most 64 x 64."""
    if lanes and _expect_lanes(level, geo, pass_):
        return True
    strided = max(geo[7]) > 1
    if level == "generic" or strided:
        return True
    if pass_ < 2:
        return level == "avx2"
    return geo[11] * geo[12] <= 64 * 64


@pytest.fixture(params=[True, False], ids=["lanes", "planes"])
def lanes(request):
    """Channel lanes (where they apply), or never."""
    _C.conv_depthwise_lanes_enable(request.param)
    yield request.param
    _C.conv_depthwise_lanes_enable(True)


def _lanes_off(fn):
    _C.conv_depthwise_lanes_enable(False)
    try:
        return fn()
    finally:
        _C.conv_depthwise_lanes_enable(True)


def _layer(seed, N, C, H, W, m, k, args, dtype=np.float32):
    """x, w, b and a dy for a depthwise layer: C channels, multiplier m,
    kernel k (a pair), args = (stride, pad, dil, C)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((C * m, 1) + k).astype(dtype)
    b = rng.standard_normal(C * m).astype(dtype)
    dy = rng.standard_normal(F.conv2d(x, w, b, *args).shape).astype(dtype)
    return x, w, b, dy


def _ref(x, w, b, dy, stride, pad, dil, C):
    x64, w64, dy64 = (np.asarray(a, dtype=np.float64) for a in (x, w, dy))
    b64 = None if b is None else np.asarray(b, dtype=np.float64)
    OH, OW = dy.shape[2:]
    y = _C.conv2d_fwd_ref(x64, w64, b64, stride, pad, dil, C, OH, OW)
    gi = _C.conv2d_bwd_data_ref(dy64, w64, x.shape[2], x.shape[3], stride, pad, dil, C)
    gw = _C.conv2d_bwd_weight_ref(dy64, x64, w.shape[2], w.shape[3], stride, pad, dil, C)
    return y, gi, gw


def _close(a, ref, dtype):
    tol = 2e-5 if dtype == np.float32 else 1e-12
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    np.testing.assert_allclose(a, ref, rtol=0, atol=tol * scale)


@st.composite
def cases(draw):
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    H = draw(st.integers(max(1, dil[0] * (k[0] - 1) + 1 - 2 * pad[0]), 23))
    W = draw(st.integers(max(1, dil[1] * (k[1] - 1) + 1 - 2 * pad[1]), 37))
    return dict(N=draw(st.sampled_from([0, 1, 2, 3])), C=draw(st.sampled_from([2, 3, 5, 16])),
                m=draw(st.sampled_from([1, 1, 2, 3])), H=H, W=W, k=k, stride=stride, pad=pad,
                dil=dil, dtype=draw(st.sampled_from([np.float32, np.float64])),
                bias=draw(st.booleans()))


@given(c=cases())
def test_matches_reference(level, c):
    rng = np.random.default_rng(0)
    dt, C = c["dtype"], c["C"]
    x = rng.standard_normal((c["N"], C, c["H"], c["W"])).astype(dt)
    w = rng.standard_normal((C * c["m"], 1) + c["k"]).astype(dt)
    b = rng.standard_normal(C * c["m"]).astype(dt) if c["bias"] else None
    args = (c["stride"], c["pad"], c["dil"], C)
    geo = _geo(x, w, c["stride"], c["pad"], c["dil"])
    for pass_ in range(3):
        assert _C.conv2d_uses_depthwise(*geo, pass_) == _expect(level, geo, pass_)
        assert _C.conv2d_depthwise_lanes(*geo, pass_) == _expect_lanes(level, geo, pass_)
        assert _lanes_off(lambda: (_C.conv2d_uses_depthwise(*geo, pass_),
                                   _C.conv2d_depthwise_lanes(*geo, pass_))) == (
            _expect(level, geo, pass_, lanes=False), False)
    y = F.conv2d(x, w, b, *args)
    dy = rng.standard_normal(y.shape).astype(dt)
    ref = _ref(x, w, b, dy, *args)
    for run in (lambda: _all_passes(x, w, b, args, dy),
                lambda: _lanes_off(lambda: _all_passes(x, w, b, args, dy))):
        for got, r in zip(run(), ref):
            assert got.dtype == dt
            _close(got, r, dt)


@pytest.mark.parametrize("case", [
    # (N, C, H, W, m, k, stride, pad, dil)
    (2, 3, 7, 9, 1, (3, 3), (2, 2), (1, 1), (1, 1)),
    (1, 2, 6, 5, 2, (2, 3), (1, 3), (0, 2), (2, 1)),
    (2, 2, 5, 8, 1, (3, 1), (3, 2), (2, 0), (1, 1)),
])
def test_finite_differences(level, lanes, case):
    N, C, H, W, m, k, stride, pad, dil = case
    args = (stride, pad, dil, C)
    x, w, b, dy = _layer(1, N, C, H, W, m, k, args, np.float64)
    assert _C.conv2d_uses_depthwise(*_geo(x, w, stride, pad, dil), 2)

    def loss():
        return float(np.sum(F.conv2d(x, w, b, *args) * dy))

    gi, gw, gb = F.conv2d_backward(dy, x, w, *args)
    np.testing.assert_allclose(gi, numerical_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gw, numerical_grad(loss, w), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gb, numerical_grad(loss, b), rtol=1e-6, atol=1e-7)


def _all_passes(x, w, b, args, dy):
    y = F.conv2d(x, w, b, *args)
    gi, gw, _ = F.conv2d_backward(dy, x, w, *args)
    return y, gi, gw


def test_thread_invariance(level, lanes, restore_threads):
    args = ((2, 2), (1, 1), (1, 1), 7)
    x, w, b, dy = _layer(2, 3, 7, 30, 31, 2, (3, 3), args)
    got = []
    for nt in (1, 2, 3):
        with num_threads(nt):
            got.append(_all_passes(x, w, b, args, dy))
    for other in got[1:]:
        for a, o in zip(got[0], other):
            assert np.array_equal(a, o)


def test_same_bits_at_every_level(lanes):
    """Strided layers take the path at every level: the same bits."""
    args = ((2, 3), (1, 2), (1, 2), 5)
    x, w, b, dy = _layer(3, 2, 5, 19, 22, 2, (3, 5), args)
    before = _C.isa_active()
    got = []
    try:
        for lvl in LEVELS:
            _C.set_isa(lvl)
            assert all(_C.conv2d_uses_depthwise(*_geo(x, w, (2, 3), (1, 2), (1, 2)), p)
                       for p in range(3))
            got.append(_all_passes(x, w, b, args, dy))
    finally:
        _C.set_isa(before)
    for other in got[1:]:
        for a, o in zip(got[0], other):
            assert np.array_equal(a, o)


@pytest.mark.parametrize("geo", [
    # (N, C, H, W, m, k, stride, pad, dil)
    (2, 19, 14, 14, 1, (3, 3), (1, 1), (1, 1), (1, 1)),
    (1, 5, 11, 17, 3, (5, 3), (1, 1), (2, 0), (1, 2)),
    (2, 17, 15, 16, 2, (3, 3), (2, 2), (1, 1), (1, 1)),
])
def test_lanes_same_bits_as_planes(level, geo):
    """The forward and backward-data add the same products in the same
    order by lanes as by planes (the weight gradient sums in another
    order: its lanes are checked against the reference above)."""
    N, C, H, W, m, k, stride, pad, dil = geo
    args = (stride, pad, dil, C)
    x, w, b, dy = _layer(5, N, C, H, W, m, k, args)
    g = _geo(x, w, stride, pad, dil)
    on = _all_passes(x, w, b, args, dy)
    off = _lanes_off(lambda: _all_passes(x, w, b, args, dy))
    both = [p for p in (0, 1) if _C.conv2d_depthwise_lanes(*g, p)
            and _lanes_off(lambda: _C.conv2d_uses_depthwise(*g, p))]
    if not both:
        pytest.skip("no pass of this shape runs both ways at this level")
    for pass_ in both:
        assert np.array_equal(on[pass_], off[pass_])


@pytest.mark.parametrize("what", ["w", "x"])
def test_non_finite_values(level, lanes, what):
    """An inf in w (backward-data) or x (weight gradient) reaches exactly the
    gradients the reference gives inf or NaN, no others.  Stride (2, 1),
    13 columns, no column padding: the grid has 13 columns for 11 outputs,
    and its two dropped ones multiply x's last column by taps 0 and 1 (whose
    weight gradients must stay finite) and w's tap 0 into dx's columns 11
    and 12 (which must stay finite too)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 11, 13))
    w = rng.standard_normal((3, 1, 3, 3))
    if what == "w":
        w[1, 0, 1, 0] = np.inf
    else:
        x[1, 2, 4, 12] = np.inf
    args = ((2, 1), (1, 0), (1, 1), 3)
    geo = _geo(x, w, (2, 1), (1, 0), (1, 1))
    assert _C.conv2d_uses_depthwise(*geo, 1) and _C.conv2d_uses_depthwise(*geo, 2)
    dy = rng.standard_normal((2, 3, 6, 11))
    gi, gw, _ = F.conv2d_backward(dy, x, w, *args)
    _, rgi, rgw = _ref(x, w, None, dy, *args)
    hit = rgi if what == "w" else rgw
    assert np.isfinite(hit).any() and not np.isfinite(hit).all()
    for got, ref in ((gi, rgi), (gw, rgw)):
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(got[fin], ref[fin], rtol=1e-12, atol=1e-12)


def test_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 15, 14)).astype(np.float32)
    w = rng.standard_normal((16, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    for stride in (1, 2):
        args = (stride, 1, 1, 8)
        y = F.conv2d(x, w, b, *args)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        gi, gw, gb = F.conv2d_backward(dy, x, w, *args)
        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        ty = torch.nn.functional.conv2d(tx, tw, tb, *args)
        ty.backward(torch.from_numpy(dy))
        for got, ref in ((y, ty.detach()), (gi, tx.grad), (gw, tw.grad), (gb, tb.grad)):
            np.testing.assert_allclose(got, ref.numpy(), rtol=1e-4, atol=1e-4)
