"""conv2d's float32 shifted-rows paths (csrc/nk_conv_shift.c: no im2col, the
kernels read shifted rows of a zero-padded input copy).

Forward (stride 1 at the AVX2 and AVX-512 levels, strides 1 and 2 at
AVX-512): against the float64 reference, and bit for bit against the im2col
path of the same level (`_C.conv_shift_enable(False)`); the stride-1
backward-data that runs through it; thread invariance.  Weight gradient
(any row stride, column stride 1 or 2, AVX2 and AVX-512): reference, the
same bits at both levels, thread invariance, bands of output rows, Inf/NaN
reach.  Every case
first checks that the path is really taken."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nnkern.functional as F
from nnkern import _C

from _util import SIMD_LEVELS, num_threads

pytestmark = pytest.mark.skipif(not SIMD_LEVELS, reason="the shifted-rows paths need AVX2")
needs_avx512 = pytest.mark.skipif("avx512" not in _C.isa_available(),
                                  reason="this shifted-rows path is AVX-512 code")


@pytest.fixture(autouse=True)
def no_winograd():
    """These tests are about the shifted-rows paths: keep 3x3 stride-1
    shapes off the Winograd path (tests/test_conv_winograd.py)."""
    _C.conv_winograd_enable(False)
    yield
    _C.conv_winograd_enable(True)


@pytest.fixture
def restore_isa():
    before = _C.isa_active()
    yield
    _C.set_isa(before)
    _C.conv_shift_enable(True)


@pytest.fixture(params=SIMD_LEVELS)
def level(request, restore_isa):
    """The ISA levels with shifted-rows paths (forward at AVX2: stride 1 only)."""
    _C.set_isa(request.param)
    return request.param


def _geometry(x, w, pad, dil, groups, stride=(1, 1)):
    N, C, H, W = x.shape
    K, _, kh, kw = w.shape
    OH = (H + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    OW = (W + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    return (N, C, H, W, K, kh, kw, stride, pad, dil, groups, OH, OW)


def _expect_row_tiles(geo, cout_per_group):
    """The rule for row-aligned tiles of 7-14 pixels (AVX-512): rows of at
    least 7 pixels, and channels padded to 16 making whole 32-wide panels
    (17-32, 49-64, ...)."""
    return geo[-1] >= 7 and -(-cout_per_group // 16) % 2 == 0


def _expect_row6(geo, wg):
    """The rule for row-aligned tiles of 4-6 pixels (AVX2): rows with padded
    columns, cut into ceil(OW/6) tiles of 4-6 pixels (any OW >= 4 but 7)."""
    ow = geo[-1]
    return wg > ow and ow >= 4 and ow != 7


def _uses_shift(x, w, pad, dil, groups, stride=(1, 1)):
    return _C.conv2d_fwd_uses_shift(*_geometry(x, w, pad, dil, groups, stride))


def _ref(x, w, b, pad, dil, groups, stride=(1, 1)):
    g = _geometry(x, w, pad, dil, groups, stride)
    b64 = None if b is None else b.astype(np.float64)
    return _C.conv2d_fwd_ref(x.astype(np.float64), w.astype(np.float64), b64, stride, pad,
                             dil, groups, g[-2], g[-1])


def _close(a, ref):
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    np.testing.assert_allclose(a, ref, rtol=0, atol=2e-5 * scale)


def _shift_and_im2col(fn):
    """fn() on the shifted-rows path, then on the im2col path (same level)."""
    a = fn()
    _C.conv_shift_enable(False)
    try:
        b = fn()
    finally:
        _C.conv_shift_enable(True)
    return a, b


@st.composite
def shift_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cog = draw(st.sampled_from([12, 13, 16, 17, 24, 31, 32, 33, 47, 64]))
    cig = draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    if kh == 1 and kw == 1:
        kw = 2
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    # the path needs the padded row to waste at most a quarter: OW >= 4*dw*(kw-1);
    # rows of 14k pixels: 14-pixel tiles at AVX-512 (32k channels)
    lo = max(1, 4 * dw * (kw - 1))
    OW = draw(st.one_of(st.integers(lo, lo + 40), st.sampled_from([m for m in (14, 28, 42, 56)
                                                                    if m >= lo])))
    OH = draw(st.integers(1, 24))
    W = OW - 2 * pw + dw * (kw - 1)
    H = OH - 2 * ph + dh * (kh - 1)
    if W < 1:
        pw, W = 0, OW + dw * (kw - 1)
    if H < 1:
        ph, H = 0, OH + dh * (kh - 1)
    n = draw(st.sampled_from([1, 1, 2, 3]))
    bias = draw(st.booleans())
    return dict(n=n, groups=groups, cin=cig * groups, cout=cog * groups, k=(kh, kw),
                pad=(ph, pw), dil=(dh, dw), H=H, W=W, bias=bias)


@given(c=shift_cases())
def test_forward_reference_and_im2col_bits(level, c):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((c["n"], c["cin"], c["H"], c["W"])).astype(np.float32)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["k"]).astype(np.float32)
    b = rng.standard_normal(c["cout"]).astype(np.float32) if c["bias"] else None
    args = (b, 1, c["pad"], c["dil"], c["groups"])
    assert _uses_shift(x, w, c["pad"], c["dil"], c["groups"])
    geo = _geometry(x, w, c["pad"], c["dil"], c["groups"])
    wg = geo[-1] + c["dil"][1] * (c["k"][1] - 1)
    assert _C.conv2d_fwd_uses_row6(*geo) == (level == "avx2" and _expect_row6(geo, wg))
    assert _C.conv2d_fwd_uses_row_tiles(*geo) == (
        level == "avx512" and _expect_row_tiles(geo, c["cout"] // c["groups"]))
    y, y_im2col = _shift_and_im2col(lambda: F.conv2d(x, w, *args))
    assert np.array_equal(y, y_im2col)
    _close(y, _ref(x, w, b, c["pad"], c["dil"], c["groups"]))


@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, k, pad, dil, groups)
    (1, 3, 70, 40, 12, (3, 3), 1, 1, 1),      # several row bands; Cout = 12: one 16-wide panel
    (2, 5, 9, 9, 16, (3, 3), 1, 1, 1),        # 12 x 16 kernel only
    (1, 4, 11, 13, 32, (3, 3), 1, 1, 1),      # 12 x 32 kernel only
    (2, 4, 11, 13, 48, (3, 3), (0, 2), 1, 1),  # 32 + 16 channels, asymmetric padding
    (3, 2, 6, 1, 20, (3, 1), 1, 1, 1),        # output width 1 (3 x 1 kernel)
    (1, 6, 30, 33, 40, (2, 4), (1, 2), (2, 1), 2),  # even kernel, dilation, groups
    (2, 300, 6, 8, 13, (3, 3), 1, 1, 1),      # depth K = 2700: several depth blocks
    (2, 3, 14, 14, 32, (3, 3), 1, 1, 1),      # rows of 14: whole 14-pixel tiles (AVX-512)
    (1, 300, 9, 28, 64, (3, 3), 1, 1, 1),     # rows of 28, several depth blocks
    (1, 4, 40, 56, 96, (3, 3), 2, 2, 1),      # rows of 56, dilation 2, several bands
    (2, 5, 11, 40, 64, (3, 3), 1, 1, 1),      # rows of 40 = 14 + 14 + 12
    (1, 6, 9, 64, 32, (3, 3), 4, 4, 1),       # rows of 64 = 4 x 14 + 8
    (1, 3, 7, 27, 32, (3, 3), 1, 1, 1),       # rows of 27 = 14 + 13
    (1, 3, 7, 32, 32, (3, 3), 1, 1, 1),       # rows of 32 = 14 + 9 + 9
    (1, 3, 7, 15, 32, (3, 3), 1, 1, 1),       # rows of 15 = 7 + 8
    (2, 3, 8, 6, 16, (3, 2), (1, 0), 1, 1),   # rows of 5: one 5-pixel tile (AVX2)
    (1, 3, 9, 13, 16, (3, 3), 1, 1, 1),       # rows of 13 = 5 + 4 + 4 (AVX2)
    (1, 3, 6, 8, 16, (3, 2), (1, 0), 1, 1),   # rows of 7: 6-pixel tiles on the padded grid
])
def test_forward_cases(level, case):
    N, Cin, H, W, Cout, k, pad, dil, g = case
    pad = (pad, pad) if isinstance(pad, int) else pad
    dil = (dil, dil) if isinstance(dil, int) else dil
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin // g) + k).astype(np.float32)
    b = rng.standard_normal(Cout).astype(np.float32)
    assert _uses_shift(x, w, pad, dil, g)
    geo = _geometry(x, w, pad, dil, g)
    wg = geo[-1] + dil[1] * (k[1] - 1)
    assert _C.conv2d_fwd_uses_row_tiles(*geo) == (level == "avx512"
                                                  and _expect_row_tiles(geo, Cout // g))
    assert _C.conv2d_fwd_uses_row6(*geo) == (level == "avx2" and _expect_row6(geo, wg))
    y, y_im2col = _shift_and_im2col(lambda: F.conv2d(x, w, b, 1, pad, dil, g))
    assert np.array_equal(y, y_im2col)
    _close(y, _ref(x, w, b, pad, dil, g))


@st.composite
def strided_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cog = draw(st.sampled_from([12, 16, 17, 32, 33, 64]))
    cig = draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    sh, sw = draw(st.sampled_from([(2, 2), (2, 1), (1, 2), (3, 2), (2, 2)]))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    # the output grid row, ceil(((OW-1)*sw + dw*(kw-1) + 1) / sw), may waste
    # at most a quarter: OW >= 4 * ceil(dw*(kw-1) / sw) suffices
    need = 4 * -(-dw * (kw - 1) // sw)
    OW = draw(st.integers(max(1, need), need + 30))
    OH = draw(st.integers(1, 12))
    H = max(1, (OH - 1) * sh + dh * (kh - 1) + 1 - 2 * ph)
    W = max(1, (OW - 1) * sw + dw * (kw - 1) + 1 - 2 * pw)
    n = draw(st.sampled_from([1, 2, 3]))
    return dict(n=n, groups=groups, cin=cig * groups, cout=cog * groups, k=(kh, kw),
                stride=(sh, sw), pad=(ph, pw), dil=(dh, dw), H=H, W=W)


@needs_avx512
@given(c=strided_cases())
def test_strided_forward_reference(restore_isa, c):
    """Stride 2 (and 3 down the rows): one plane per (channel, kernel row),
    kernel rows reading every second value."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((c["n"], c["cin"], c["H"], c["W"])).astype(np.float32)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["k"]).astype(np.float32)
    b = rng.standard_normal(c["cout"]).astype(np.float32)
    geo = _geometry(x, w, c["pad"], c["dil"], c["groups"], c["stride"])
    if geo[-2] < 1 or geo[-1] < 1:
        return
    _C.set_isa("avx512")
    ok = _uses_shift(x, w, c["pad"], c["dil"], c["groups"], c["stride"])
    # padded-grid tiles may waste at most a quarter; row-aligned tiles waste none
    assert ok == (4 * -(-((geo[-1] - 1) * c["stride"][1] + c["dil"][1] * (c["k"][1] - 1) + 1)
                       // c["stride"][1]) <= 5 * geo[-1]
                  or _expect_row_tiles(geo, c["cout"] // c["groups"]))
    y = F.conv2d(x, w, b, c["stride"], c["pad"], c["dil"], c["groups"])
    _close(y, _ref(x, w, b, c["pad"], c["dil"], c["groups"], c["stride"]))


@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, k, stride, pad)
    (2, 3, 37, 40, 64, 7, 2, 3),             # the ResNet stem, small
    (2, 8, 15, 16, 24, 3, 2, 1),             # 3x3/s2 downsample, 16 + 8 channels
    (1, 8, 12, 12, 16, 1, 2, 0),             # 1x1/s2 shortcut
    (3, 5, 30, 9, 13, 3, (2, 1), 1),         # stride down the rows only
    (2, 3, 60, 56, 64, 7, 2, 3),             # stem-like, rows of 28: 14-pixel tiles
    (2, 8, 28, 28, 32, 3, 2, 1),             # downsample to rows of 14: 14-pixel tiles
])
@needs_avx512
def test_strided_forward_cases(restore_isa, restore_threads, case):
    N, Cin, H, W, Cout, k, stride, pad = case
    stride = (stride, stride) if isinstance(stride, int) else stride
    rng = np.random.default_rng(8)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin, k, k)).astype(np.float32)
    b = rng.standard_normal(Cout).astype(np.float32)
    _C.set_isa("avx512")
    assert _uses_shift(x, w, (pad, pad), (1, 1), 1, stride)
    geo = _geometry(x, w, (pad, pad), (1, 1), 1, stride)
    wg = -(-((geo[-1] - 1) * stride[1] + k) // stride[1])   # ceil(... / sw)
    assert _C.conv2d_fwd_uses_row_tiles(*geo) == _expect_row_tiles(geo, Cout)
    got = []
    for nt in (1, 2, 3):
        with num_threads(nt):
            got.append(F.conv2d(x, w, b, stride, pad))
    assert all(np.array_equal(got[0], r) for r in got[1:])
    _close(got[0], _ref(x, w, b, (pad, pad), (1, 1), 1, stride))


@pytest.mark.parametrize("case", [
    # stride-1 backward-data is a forward over dy with the flipped weights;
    # C_in >= 12 puts it on the shifted-rows path
    (2, 16, 12, 14, 16, 3, 1, 1, 1),
    (1, 24, 9, 20, 8, 3, 0, 2, 1),            # padding 0 -> transposed padding d*(k-1)
    (2, 12, 10, 10, 12, 3, 3, 1, 1),          # padding > d*(k-1): negative (a crop)
    (1, 26, 8, 20, 6, (3, 5), (1, 2), 1, 2),
])
def test_backward_data(level, case):
    N, Cin, H, W, Cout, k, pad, dil, g = case
    k = (k, k) if isinstance(k, int) else k
    pad = (pad, pad) if isinstance(pad, int) else pad
    dil = (dil, dil) if isinstance(dil, int) else dil
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin // g) + k).astype(np.float32)
    y = F.conv2d(x, w, None, 1, pad, dil, g)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    # the forward that backward-data runs: dy (C_out channels) -> C_in channels
    tpad = (dil[0] * (k[0] - 1) - pad[0], dil[1] * (k[1] - 1) - pad[1])
    assert _C.conv2d_fwd_uses_shift(N, Cout, y.shape[2], y.shape[3], Cin, k[0], k[1], (1, 1),
                                    tpad, dil, g, H, W)
    gi, gi_im2col = _shift_and_im2col(
        lambda: F.conv2d_backward(dy, x, w, 1, pad, dil, g, output_mask=(True, False, False))[0])
    assert np.array_equal(gi, gi_im2col)
    ref = _C.conv2d_bwd_data_ref(dy.astype(np.float64), w.astype(np.float64), H, W, (1, 1), pad,
                                 dil, g)
    _close(gi, ref)


@pytest.mark.parametrize("case", [
    (3, 6, 40, 37, 24, 3, 1, 1, 1),
    (5, 4, 9, 30, 17, 3, 2, 2, 1),
])
def test_thread_invariance(level, case):
    N, Cin, H, W, Cout, k, pad, dil, g = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin // g, k, k)).astype(np.float32)
    b = rng.standard_normal(Cout).astype(np.float32)
    assert _uses_shift(x, w, (pad, pad), (dil, dil), g)
    results = []
    for nt in (1, 2, 3):
        with num_threads(nt):
            results.append(F.conv2d(x, w, b, 1, pad, dil, g))
    assert all(np.array_equal(results[0], r) for r in results[1:])


def test_not_taken(restore_isa):
    """Taken at AVX-512 for strides 1 and 2 and at AVX2 for stride 1; not
    for a column stride of 3, 1x1 at stride 1, too few output channels, a
    padded row that wastes more than a quarter, or when turned off."""
    base = (2, 8, 20, 20, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1, 20, 20)
    s2 = (2, 8, 20, 20, 16, 3, 3, (2, 2), (1, 1), (1, 1), 1, 10, 10)
    for lvl in SIMD_LEVELS:
        _C.set_isa(lvl)
        assert _C.conv2d_fwd_uses_shift(*base)
        assert _C.conv2d_fwd_uses_shift(*s2) == (lvl == "avx512")
        assert not _C.conv2d_fwd_uses_shift(2, 8, 20, 20, 16, 3, 3, (3, 3), (1, 1), (1, 1), 1,
                                            7, 7)
        assert not _C.conv2d_fwd_uses_shift(2, 8, 20, 20, 16, 3, 3, (1, 3), (1, 1), (1, 1), 1,
                                            20, 7)
        assert not _C.conv2d_fwd_uses_shift(2, 8, 20, 20, 16, 1, 1, (1, 1), (0, 0), (1, 1), 1,
                                            20, 20)
        assert not _C.conv2d_fwd_uses_shift(2, 8, 20, 20, 11, 3, 3, (1, 1), (1, 1), (1, 1), 1,
                                            20, 20)
        assert not _C.conv2d_fwd_uses_shift(2, 8, 6, 6, 16, 3, 3, (1, 1), (0, 0), (1, 1), 1, 4, 4)
        _C.conv_shift_enable(False)
        assert not _C.conv2d_fwd_uses_shift(*base)
        _C.conv_shift_enable(True)
    _C.set_isa("generic")
    assert not _C.conv2d_fwd_uses_shift(*base)


# ---- weight gradient (column stride 1 or 2): dW^T tiles over shifted rows, dy transposed

def _dw_ref(dy, x, w, pad, dil, groups, stride=(1, 1)):
    return _C.conv2d_bwd_weight_ref(dy.astype(np.float64), x.astype(np.float64), w.shape[2],
                                    w.shape[3], stride, pad, dil, groups)


@st.composite
def dw_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cog = draw(st.sampled_from([16, 17, 31, 32, 48, 64, 65, 80, 129]))
    cig = draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2]))
    if kh == 1 and kw == 1 and sh == 1 and sw == 1:
        kh = 2
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    OH, OW = draw(st.integers(1, 13)), draw(st.integers(1, 21))
    # the input the output size needs, plus what the floor drops (< stride)
    H = (OH - 1) * sh + dh * (kh - 1) + 1 - 2 * ph + draw(st.integers(0, sh - 1))
    W = (OW - 1) * sw + dw * (kw - 1) + 1 - 2 * pw + draw(st.integers(0, sw - 1))
    if H < 1:
        ph, H = 0, (OH - 1) * sh + dh * (kh - 1) + 1
    if W < 1:
        pw, W = 0, (OW - 1) * sw + dw * (kw - 1) + 1
    n = draw(st.sampled_from([1, 2, 3, 5, 9]))
    return dict(n=n, groups=groups, cin=cig * groups, cout=cog * groups, k=(kh, kw),
                stride=(sh, sw), pad=(ph, pw), dil=(dh, dw), H=H, W=W)


def _dw_setup(c, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c["n"], c["cin"], c["H"], c["W"])).astype(np.float32)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["k"]).astype(np.float32)
    y = F.conv2d(x, w, None, c["stride"], c["pad"], c["dil"], c["groups"])
    dy = rng.standard_normal(y.shape).astype(np.float32)
    geo = _geometry(x, w, c["pad"], c["dil"], c["groups"], c["stride"])
    return x, w, dy, geo


@given(c=dw_cases())
def test_weight_gradient_reference(level, c):
    x, w, dy, geo = _dw_setup(c)
    assert _C.conv2d_bwd_weight_uses_shift(*geo)
    gw = F.conv2d_backward(dy, x, w, c["stride"], c["pad"], c["dil"], c["groups"],
                           output_mask=(False, True, False))[1]
    assert gw.dtype == np.float32 and gw.shape == w.shape
    _close(gw, _dw_ref(dy, x, w, c["pad"], c["dil"], c["groups"], c["stride"]))


@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, k, stride, pad, dil, groups)
    (1, 4, 16, 16, 32, 3, 1, 1, 1, 1),        # batch 1: split into tap blocks
    (9, 3, 7, 30, 64, (2, 5), 1, (0, 2), (2, 1), 1),
    (3, 14, 9, 9, 40, 3, 1, 1, 1, 2),         # 63 taps per group: a partial 6-tap block
    (2, 2, 5, 5, 16, 5, 1, 0, 1, 1),          # kernel = input: one output pixel
    (2, 3, 60, 50, 64, 3, 1, 1, 1, 1),        # 60 x 50 pixels: 2 bands of output rows
    (2, 3, 99, 100, 64, 7, 2, 3, 1, 1),       # the stem's shape: 50 rows, 3 bands, odd H
    (3, 5, 23, 17, 72, 3, 2, 1, 1, 1),        # 3x3/s2 downsample, 64 + 8 channels
    (2, 4, 19, 20, 32, (3, 2), (3, 2), (1, 0), (1, 2), 1),  # row stride 3
    (2, 2, 9, 9, 16, 1, 2, 0, 1, 1),          # 1x1 at stride 2: not a plain GEMM
    (3, 128, 5, 5, 470, 3, 1, 1, 1, 1),       # one batch chunk of 3 images (dW^T > 2^19
                                              # floats): tiles go straight into dW
])
def test_weight_gradient_cases(level, restore_threads, case):
    N, Cin, H, W, Cout, k, stride, pad, dil, g = case
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    c = dict(n=N, cin=Cin, H=H, W=W, cout=Cout, k=pair(k), stride=pair(stride), pad=pair(pad),
             dil=pair(dil), groups=g)
    x, w, dy, geo = _dw_setup(c)
    assert _C.conv2d_bwd_weight_uses_shift(*geo)
    got = []
    for nt in (1, 2, 3):   # the bits do not depend on the thread count
        with num_threads(nt):
            got.append(F.conv2d_backward(dy, x, w, c["stride"], c["pad"], c["dil"], g)[1])
    assert all(np.array_equal(got[0], r) for r in got[1:])
    _close(got[0], _dw_ref(dy, x, w, c["pad"], c["dil"], g, c["stride"]))


@needs_avx512
@given(c=dw_cases())
def test_weight_gradient_levels_agree(restore_isa, c):
    """Every dW element is one FMA chain over the pixels in the same order
    at both levels (6 x 16 AVX2 tiles, 6 x 64 AVX-512 tiles)."""
    x, w, dy, geo = _dw_setup(c)
    got = []
    for lvl in ("avx2", "avx512"):
        _C.set_isa(lvl)
        assert _C.conv2d_bwd_weight_uses_shift(*geo)
        got.append(F.conv2d_backward(dy, x, w, c["stride"], c["pad"], c["dil"], c["groups"],
                                     output_mask=(False, True, False))[1])
    assert np.array_equal(got[0], got[1])


def test_weight_gradient_not_taken(level):
    """Not for a column stride of 3, 1x1 at stride 1 (a plain GEMM), fewer
    than 16 output channels per group, the generic level, or when turned
    off."""
    geo = lambda s, k, cout: (2, 8, 20, 20, cout, k, k, s, (1, 1), (1, 1), 1,  # noqa: E731
                              (20 + 2 - k) // s[0] + 1, (20 + 2 - k) // s[1] + 1)
    assert _C.conv2d_bwd_weight_uses_shift(*geo((1, 1), 3, 16))
    assert _C.conv2d_bwd_weight_uses_shift(*geo((3, 2), 3, 16))
    assert not _C.conv2d_bwd_weight_uses_shift(*geo((1, 3), 3, 16))
    assert not _C.conv2d_bwd_weight_uses_shift(*geo((1, 1), 1, 16))
    assert not _C.conv2d_bwd_weight_uses_shift(*geo((1, 1), 3, 15))
    # 512 channels: a task's slice of dW^T (> 2^18 floats) is revisited per
    # image; on 7x7 outputs (49 pixels a visit) im2col, on 14x14 this path
    big = lambda hw: (8, 512, hw, hw, 512, 3, 3, (1, 1), (1, 1), (1, 1), 1, hw, hw)  # noqa: E731
    assert not _C.conv2d_bwd_weight_uses_shift(*big(7))
    assert _C.conv2d_bwd_weight_uses_shift(*big(14))
    _C.conv_shift_enable(False)
    assert not _C.conv2d_bwd_weight_uses_shift(*geo((1, 1), 3, 16))
    _C.conv_shift_enable(True)
    _C.set_isa("generic")
    assert not _C.conv2d_bwd_weight_uses_shift(*geo((1, 1), 3, 16))


def test_weight_gradient_inf_reaches_what_the_reference_reaches(level):
    """The padded copy of x has columns that no output pixel reads; an Inf
    next to them must not leak into other dW entries (0 * Inf = NaN)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    x[0, 1, 4, -1] = np.inf     # last column: no pixel reads it with kw = 0
    x[1, 2, 6, 0] = -np.inf     # first column: no pixel reads it with kw = 2
    w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
    dy = rng.standard_normal((2, 16, 10, 12)).astype(np.float32)
    assert _C.conv2d_bwd_weight_uses_shift(2, 3, 10, 12, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1,
                                           10, 12)
    gw = F.conv2d_backward(dy, x, w, 1, 1, output_mask=(False, True, False))[1]
    ref = _dw_ref(dy, x, w, (1, 1), (1, 1), 1)
    assert np.array_equal(np.isnan(gw), np.isnan(ref))
    assert np.array_equal(np.isinf(gw), np.isinf(ref))
    fin = np.isfinite(ref)
    assert fin.sum() > 0 and (~fin).sum() > 0
    _close(gw[fin], ref[fin])


@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, k, stride, pad): a group's packed weights > 4 MiB
    (3, 512, 4, 16, 256, 3, 1, 1),    # 3 images: a task of 2, then 1 (both levels)
    (2, 512, 7, 7, 512, 3, 1, 1),     # a ResNet last-stage layer, one task of 2 (+ dx)
    (3, 256, 9, 9, 512, 3, 2, 1),     # strided: the 14 -> 7 downsample's shape, smaller
])
def test_two_images_a_task(level, restore_threads, case):
    """Layers with large weights take two images a task (each depth block's
    weight panels serve both): the im2col path's bits at 1 and 2 threads,
    the reference's values, and backward-data through the same forward."""
    N, Cin, H, W, Cout, k, s_, p_ = case
    rng = np.random.default_rng(31)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = (rng.standard_normal((Cout, Cin, k, k)) * 0.05).astype(np.float32)
    b = rng.standard_normal(Cout).astype(np.float32)
    geo = _geometry(x, w, (p_, p_), (1, 1), 1, (s_, s_))
    if not _C.conv2d_fwd_uses_shift(*geo):   # AVX2: no strided forward, rows of 7 im2col
        assert level == "avx2" and _C.conv2d_fwd_shift_images_per_task(*geo) == 0
        return
    assert _C.conv2d_fwd_shift_images_per_task(*geo) == 2
    got = []
    for nt in (1, 2):
        with num_threads(nt):
            got.append(F.conv2d(x, w, b, s_, p_))
    y, y_im2col = _shift_and_im2col(lambda: F.conv2d(x, w, b, s_, p_))
    assert np.array_equal(got[0], got[1]) and np.array_equal(y, got[0])
    assert np.array_equal(y, y_im2col)
    _close(y, _ref(x, w, b, (p_, p_), (1, 1), 1, (s_, s_)))
    if s_ == 1:   # stride-1 dx is this forward over dy (512 -> 512: weights > 4 MiB)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = F.conv2d_backward(dy, x, w, s_, p_, 1, 1, (True, False, False))[0]
        ref_dx = _C.conv2d_bwd_data_ref(dy.astype(np.float64), w.astype(np.float64), H, W,
                                        (s_, s_), (p_, p_), (1, 1), 1)
        _close(dx, ref_dx)


@needs_avx512
@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, stride): outputs of >= 2^19 values
    (1, 3, 96, 96, 64, 1),     # planes of 96 x 96: every 16-value store on a cache line
    (1, 2, 90, 91, 72, 1),     # planes of 90 x 91: lines and plane starts disagree
    (2, 3, 181, 183, 80, 2),   # strided (80 channels: not the direct kernel)
])
def test_large_output_non_temporal_stores(restore_isa, restore_threads, case):
    """Large outputs are written with non-temporal stores (where a store
    lands on a whole cache line): the same bits as the im2col path, at 1 and
    2 threads, and the reference's values; the output is 64-byte aligned."""
    N, Cin, H, W, Cout, st_ = case
    rng = np.random.default_rng(21)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin, 3, 3)).astype(np.float32)
    b = rng.standard_normal(Cout).astype(np.float32)
    _C.set_isa("avx512")
    geo = _geometry(x, w, (1, 1), (1, 1), 1, (st_, st_))
    assert _C.conv2d_fwd_uses_shift(*geo) and _C.conv2d_fwd_uses_stream(*geo)
    got = []
    for nt in (1, 2):
        with num_threads(nt):
            got.append(F.conv2d(x, w, b, st_, 1))
    assert got[0].ctypes.data % 64 == 0
    assert np.array_equal(got[0], got[1])
    _C.conv_shift_enable(False)
    try:
        y_im2col = F.conv2d(x, w, b, st_, 1)
    finally:
        _C.conv_shift_enable(True)
    assert np.array_equal(got[0], y_im2col)
    _close(got[0], _ref(x, w, b, (1, 1), (1, 1), 1, (st_, st_)))
    if st_ == 1:  # backward-data as a forward into dx (64-byte aligned too)
        dy = rng.standard_normal(got[0].shape).astype(np.float32)
        dx = F.conv2d_backward(dy, x, w, st_, 1, 1, 1, (True, False, False))[0]
        assert dx.ctypes.data % 64 == 0
        ref_dx = _C.conv2d_bwd_data_ref(dy.astype(np.float64), w.astype(np.float64), H, W,
                                        (1, 1), (1, 1), (1, 1), 1)
        _close(dx, ref_dx)
    # small outputs keep ordinary stores
    geo_small = _geometry(x[:, :, :40, :40], w, (1, 1), (1, 1), 1, (st_, st_))
    assert not _C.conv2d_fwd_uses_stream(*geo_small)


@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, k, stride, pad)
    (2, 3, 7, 7, 32, 3, 1, 1),      # a ResNet last-stage layer, small: rows of 7
    (1, 4, 9, 7, 64, 3, 1, (2, 1)),  # 9 rows, two 32-channel blocks
    (2, 5, 7, 7, 20, 3, 1, 1),      # 20 channels: one 32-wide panel, zero-padded
    (2, 8, 14, 14, 96, 3, 2, 1),    # the downsample to 7 x 7 (stride 2; > 64 channels: not direct)
    (1, 3, 7, 7, 48, 3, 1, 1),      # 48 channels: 32 + 16, no whole-row tiles
    (2, 3, 8, 7, 32, 3, 1, 1),      # 8 rows: pairs only
])
def test_rows_of_seven(restore_isa, restore_threads, case):
    """Rows of 7 pixels at the AVX-512 level: tiles of two rows (7 x 2 x 32;
    an odd last row alone, 7 x 64, or 7 x 32 for a last odd panel), which
    compute no padded column, so the path is taken even where 12-pixel
    tiles would waste more than a quarter (3x3, rows of 9); the same bits
    as the im2col path at 1 and 2 threads, and backward-data through it.  At
    the AVX2 level the waste rule still decides."""
    N, Cin, H, W, Cout, k, s_, p_ = case
    pad = (p_, p_) if isinstance(p_, int) else p_
    rng = np.random.default_rng(23)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin, k, k)).astype(np.float32)
    b = rng.standard_normal(Cout).astype(np.float32)
    geo = _geometry(x, w, pad, (1, 1), 1, (s_, s_))
    assert geo[-1] == 7
    wg = -(-((7 - 1) * s_ + k) // s_)
    whole = -(-Cout // 16) % 2 == 0
    for level in SIMD_LEVELS:
        _C.set_isa(level)
        if level == "avx2":
            assert not _C.conv2d_fwd_uses_row_tiles(*geo)
            assert _C.conv2d_fwd_uses_shift(*geo) == (s_ == 1 and 4 * wg <= 5 * 7)
            continue
        assert _C.conv2d_fwd_uses_row_tiles(*geo) == whole
        assert _C.conv2d_fwd_uses_shift(*geo) == (whole or 4 * wg <= 5 * 7)
        got = []
        for nt in (1, 2):
            with num_threads(nt):
                got.append(F.conv2d(x, w, b, s_, pad))
        assert np.array_equal(got[0], got[1])
        y, y_im2col = _shift_and_im2col(lambda: F.conv2d(x, w, b, s_, pad))
        assert np.array_equal(y, got[0]) and np.array_equal(y, y_im2col)
        _close(y, _ref(x, w, b, pad, (1, 1), 1, (s_, s_)))
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = F.conv2d_backward(dy, x, w, s_, pad, 1, 1, (True, False, False))[0]
        ref_dx = _C.conv2d_bwd_data_ref(dy.astype(np.float64), w.astype(np.float64), H, W,
                                        (s_, s_), pad, (1, 1), 1)
        _close(dx, ref_dx)
