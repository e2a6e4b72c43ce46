"""conv2d backward-data of stride-2 stems (csrc/nk_conv_bwd_data_stem.c and
its micro-kernels; AVX2 and AVX-512 levels, float32, 3 input channels per
group, k x k kernels with k = 3, 5, 7 and padding (k-1)/2): against the
float64 reference over a hypothesis grid (widths around the 8- and
32-column tiles, 1-pixel and odd sizes, groups, 1 to 67 dy channels),
thread invariance, wide rows whose middle tiles take the unmasked kernels,
the same bits at both levels, and the shapes that must not take the path.
Every case first checks that the path is taken."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nnkern.functional as F
from nnkern import _C

from _util import SIMD_LEVELS, num_threads

pytestmark = pytest.mark.skipif(not SIMD_LEVELS, reason="the stem kernels need AVX2")


def _uses_stem(x, w, y, stride, pad, groups, dil=1):
    return _C.conv2d_bwd_data_uses_stem(*x.shape, w.shape[0], *w.shape[2:], (stride, stride),
                                        (pad, pad), (dil, dil), groups, *y.shape[2:])


def _check(N, H, W, cout, k, groups=1, seed=0):
    rng = np.random.default_rng(seed)
    p = (k - 1) // 2
    x = rng.standard_normal((N, 3 * groups, H, W)).astype(np.float32)
    w = rng.standard_normal((cout * groups, 3, k, k)).astype(np.float32)
    y = F.conv2d(x, w, None, 2, p, 1, groups)
    assert _uses_stem(x, w, y, 2, p, groups)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    gi = F.conv2d_backward(dy, x, w, 2, p, 1, groups, output_mask=(True, False, False))[0]
    assert gi.shape == x.shape and gi.dtype == np.float32
    ref = _C.conv2d_bwd_data_ref(dy.astype(np.float64), w.astype(np.float64), H, W, (2, 2),
                                 (p, p), (1, 1), groups)
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    np.testing.assert_allclose(gi, ref, rtol=0, atol=2e-5 * scale)
    return x, w, dy, p


SIZES = [1, 2, 3, 7, 15, 16, 17, 18, 31, 62, 63, 64, 65, 66, 67, 129]


@given(N=st.sampled_from([0, 1, 2]), H=st.sampled_from(SIZES), W=st.sampled_from(SIZES),
       cout=st.sampled_from([1, 2, 5, 16, 67]), k=st.sampled_from([3, 5, 7]),
       groups=st.sampled_from([1, 1, 2]))
def test_reference(simd_level, N, H, W, cout, k, groups):
    _check(N, H, W, cout, k, groups)


@pytest.mark.parametrize("k", [3, 5, 7])
def test_wide_rows(simd_level, k):
    """160 columns: 80 phase columns, AVX-512 tiles at 0, 32 (inside dy:
    unmasked loads) and 64; AVX2 tiles every 8 (1 to 8 unmasked)."""
    _check(1, 9, 160, 8, k, seed=1)


def test_thread_invariance(simd_level, restore_threads):
    x, w, dy, p = _check(3, 40, 37, 64, 7, seed=2)
    got = []
    for nt in (1, 2, 3):
        with num_threads(nt):
            got.append(F.conv2d_backward(dy, x, w, 2, p, output_mask=(True, False, False))[0])
    assert all(np.array_equal(got[0], g) for g in got[1:])


def test_not_taken(simd_level):
    """Only stride 2, dilation 1, k in (3, 5, 7) with padding (k-1)/2 and 3
    channels per group, not at the generic level."""
    def uses(cin=3, k=7, s=2, p=3, d=1, groups=1):
        o = (32 + 2 * p - d * (k - 1) - 1) // s + 1
        return _C.conv2d_bwd_data_uses_stem(2, cin, 32, 32, 8 * groups, k, k, (s, s), (p, p),
                                            (d, d), groups, o, o)
    assert uses() and uses(k=3, p=1) and uses(k=5, p=2) and uses(cin=6, groups=2)
    assert not uses(cin=4)
    assert not uses(cin=6)
    assert not uses(k=7, p=2)
    assert not uses(k=9, p=4)
    assert not uses(s=1)
    assert not uses(s=3)
    assert not uses(d=2)
    _C.set_isa("generic")
    assert not uses()


@pytest.mark.skipif("avx512" not in _C.isa_available(), reason="CPU without AVX-512")
@given(H=st.sampled_from(SIZES), W=st.sampled_from(SIZES), k=st.sampled_from([3, 5, 7]),
       groups=st.sampled_from([1, 2]))
def test_levels_agree(H, W, k, groups):
    """Each dx value is the same FMA chain at both levels: the same bits."""
    rng = np.random.default_rng(4)
    p = (k - 1) // 2
    x = rng.standard_normal((2, 3 * groups, H, W)).astype(np.float32)
    w = rng.standard_normal((19 * groups, 3, k, k)).astype(np.float32)
    y = F.conv2d(x, w, None, 2, p, 1, groups)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    before = _C.isa_active()
    got = []
    try:
        for lvl in ("avx2", "avx512"):
            _C.set_isa(lvl)
            assert _uses_stem(x, w, y, 2, p, groups)
            got.append(F.conv2d_backward(dy, x, w, 2, p, 1, groups,
                                         output_mask=(True, False, False))[0])
    finally:
        _C.set_isa(before)
    assert np.array_equal(got[0], got[1])
