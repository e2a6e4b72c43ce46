"""conv2d backward-data for stride > 1 by output phases (csrc/nk_conv_igemm.c,
nk_conv_bwd_data_phases; AVX2 and AVX-512 levels, float32, >= 12 input
channels per group): each phase of dx is a stride-1 forward over dy with a
sub-kernel, spread into dx.  Against the float64 reference over a
hypothesis grid (strides 2 and 3, even and odd kernels and sizes, padding,
groups, a crop), thread invariance, and the batch chunking of the phase
buffer; the same bits at both levels; every case first checks that the path
is taken."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nnkern.functional as F
from nnkern import _C

from _util import SIMD_LEVELS, num_threads

pytestmark = pytest.mark.skipif(not SIMD_LEVELS, reason="the phase path needs AVX2")


def _uses_phases(x, w, y, stride, pad, groups):
    return _C.conv2d_bwd_data_uses_phases(*x.shape, w.shape[0], *w.shape[2:], stride, pad,
                                          (1, 1), groups, *y.shape[2:])


def _ref_dx(dy, w, H, W, stride, pad, groups):
    return _C.conv2d_bwd_data_ref(dy.astype(np.float64), w.astype(np.float64), H, W, stride,
                                  pad, (1, 1), groups)


def _close(a, ref):
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    np.testing.assert_allclose(a, ref, rtol=0, atol=2e-5 * scale)


@st.composite
def phase_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cig = draw(st.sampled_from([12, 13, 16, 24]))
    cog = draw(st.integers(1, 9))
    sh, sw = draw(st.sampled_from([(2, 2), (2, 2), (3, 3), (2, 1), (1, 3), (3, 2)]))
    kh = draw(st.integers(max(1, sh), 7))
    kw = draw(st.integers(max(1, sw), 7))
    ph, pw = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
    H = draw(st.integers(max(1, kh - 2 * ph), 23))
    W = draw(st.integers(max(1, kw - 2 * pw), 23))
    n = draw(st.sampled_from([1, 2, 3]))
    return dict(n=n, groups=groups, cin=cig * groups, cout=cog * groups, k=(kh, kw),
                stride=(sh, sw), pad=(ph, pw), H=H, W=W)


@given(c=phase_cases())
def test_reference(simd_level, c):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((c["n"], c["cin"], c["H"], c["W"])).astype(np.float32)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["k"]).astype(np.float32)
    y = F.conv2d(x, w, None, c["stride"], c["pad"], 1, c["groups"])
    assert _uses_phases(x, w, y, c["stride"], c["pad"], c["groups"])
    dy = rng.standard_normal(y.shape).astype(np.float32)
    gi = F.conv2d_backward(dy, x, w, c["stride"], c["pad"], 1, c["groups"],
                           output_mask=(True, False, False))[0]
    assert gi.shape == x.shape and gi.dtype == np.float32
    _close(gi, _ref_dx(dy, w, c["H"], c["W"], c["stride"], c["pad"], c["groups"]))


@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, k, stride, pad)
    (3, 64, 14, 14, 32, 3, 2, 1),      # 3x3/s2 downsample: phases 1x1, 1x2, 2x1, 2x2
    (2, 12, 17, 21, 8, 7, 2, 3),       # stem-like 7x7/s2, odd sizes
    (2, 16, 9, 10, 6, 4, 3, 0),        # stride 3, even kernel, no padding
    (1, 20, 11, 11, 5, (3, 2), (2, 2), (2, 1)),   # padding = k - 1: every phase cropped
])
def test_thread_invariance(simd_level, restore_threads, case):
    N, Cin, H, W, Cout, k, s, p = case
    k = (k, k) if isinstance(k, int) else k
    s = (s, s) if isinstance(s, int) else s
    p = (p, p) if isinstance(p, int) else p
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin) + k).astype(np.float32)
    y = F.conv2d(x, w, None, s, p)
    assert _uses_phases(x, w, y, s, p, 1)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = []
    for nt in (1, 2, 3):
        with num_threads(nt):
            got.append(F.conv2d_backward(dy, x, w, s, p, output_mask=(True, False, False))[0])
    assert all(np.array_equal(got[0], g) for g in got[1:])
    _close(got[0], _ref_dx(dy, w, H, W, s, p, 1))


def test_batch_chunks(simd_level):
    """Images large enough that the phase buffers (<= 2**22 floats; all the
    phases of an image hold its 12 * 400 * 400 values) take two at a time:
    the batch of 3 runs as chunks 2 + 1."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 12, 400, 400)).astype(np.float32)
    w = rng.standard_normal((1, 12, 3, 3)).astype(np.float32)
    y = F.conv2d(x, w, None, 2, 1)
    assert _uses_phases(x, w, y, (2, 2), (1, 1), 1)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    gi = F.conv2d_backward(dy, x, w, 2, 1, output_mask=(True, False, False))[0]
    _close(gi, _ref_dx(dy, w, 400, 400, (2, 2), (1, 1), 1))


def test_not_taken(simd_level):
    """Not for dilation > 1, fewer than 12 dx channels per group, a stride
    above the kernel size, stride 1, or the generic level."""
    geo = lambda cin, k, s, d: (2, cin, 20, 20, 8, k, k, (s, s), (1, 1), (d, d), 1,  # noqa: E731
                                (20 + 2 - d * (k - 1) - 1) // s + 1,
                                (20 + 2 - d * (k - 1) - 1) // s + 1)
    assert _C.conv2d_bwd_data_uses_phases(*geo(12, 3, 2, 1))
    assert not _C.conv2d_bwd_data_uses_phases(*geo(12, 3, 2, 2))
    assert not _C.conv2d_bwd_data_uses_phases(*geo(11, 3, 2, 1))
    assert not _C.conv2d_bwd_data_uses_phases(*geo(12, 1, 2, 1))
    assert not _C.conv2d_bwd_data_uses_phases(*geo(12, 3, 1, 1))
    _C.set_isa("generic")
    assert not _C.conv2d_bwd_data_uses_phases(*geo(12, 3, 2, 1))


@pytest.mark.skipif("avx512" not in _C.isa_available(), reason="CPU without AVX-512")
@given(c=phase_cases())
def test_levels_agree(c):
    """The phases' forwards give the same bits at both levels, so dx does."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((c["n"], c["cin"], c["H"], c["W"])).astype(np.float32)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["k"]).astype(np.float32)
    y = F.conv2d(x, w, None, c["stride"], c["pad"], 1, c["groups"])
    dy = rng.standard_normal(y.shape).astype(np.float32)
    before = _C.isa_active()
    got = []
    try:
        for lvl in ("avx2", "avx512"):
            _C.set_isa(lvl)
            assert _uses_phases(x, w, y, c["stride"], c["pad"], c["groups"])
            got.append(F.conv2d_backward(dy, x, w, c["stride"], c["pad"], 1, c["groups"],
                                         output_mask=(True, False, False))[0])
    finally:
        _C.set_isa(before)
    assert np.array_equal(got[0], got[1])
