"""conv2d weight gradient by the direct kernels for few output channels
(csrc/nk_conv_direct_avx2.c, nk_conv_bwd_weight_direct_f32: stride 1, <= 16
output channels per group with a short reduction, <= 8 with a deep one;
AVX2: 8-pixel partial sums per output-channel pair, AVX-512: 4 channels x
6 taps of 16-pixel partial sums, nk_conv_ukr_f32_dw_px_avx512.c) -- the
8-channel groups of ResNeXt-style layers, LeNet c1.  Against the float64
reference over a hypothesis grid (row tails of 0-15 pixels, 1-16 channels,
taps not a multiple of 6, groups, dilation, padding, batch chunks), and
thread invariance.  Every case first checks that the path is taken."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nnkern.functional as F
from nnkern import _C

from _util import SIMD_LEVELS, num_threads

pytestmark = pytest.mark.skipif(not SIMD_LEVELS, reason="the direct kernels need AVX2")


@st.composite
def dw_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 4]))
    cog = draw(st.sampled_from([1, 3, 4, 5, 8, 12, 16]))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    # 1 input channel per group with groups > 1 is depthwise (its own path)
    cig_max = max(1, 128 // (kh * kw)) if cog > 8 else 24
    cig = draw(st.integers(1 if groups == 1 else 2, max(2, min(cig_max, 24))))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if groups == 1 and (kh, kw, dh, dw) == (3, 3, 1, 1):
        dh = 2  # (Winograd takes 3x3 stride-1 layers of one group first)
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    OH = draw(st.integers(1, 9))
    OW = draw(st.sampled_from([16, 17, 23, 31, 32, 33, 48, 50]))
    H = max(1, OH + dh * (kh - 1) - 2 * ph)
    W = OW + dw * (kw - 1) - 2 * pw
    n = draw(st.sampled_from([1, 2, 5]))
    return dict(n=n, groups=groups, cin=cig * groups, cout=cog * groups, k=(kh, kw),
                pad=(ph, pw), dil=(dh, dw), H=H, W=W)


def _run(c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c["n"], c["cin"], c["H"], c["W"])).astype(np.float32)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["k"]).astype(np.float32)
    args = (1, c["pad"], c["dil"], c["groups"])
    y = F.conv2d(x, w, None, *args)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    return x, w, dy, args, y.shape[2:]


@given(c=dw_cases())
def test_reference(simd_level, c):
    x, w, dy, args, (OH, OW) = _run(c, 0)
    geo = x.shape + (w.shape[0],) + c["k"] + ((1, 1), c["pad"], c["dil"], c["groups"], OH, OW)
    assert _C.conv2d_bwd_weight_uses_direct(*geo)
    gw = F.conv2d_backward(dy, x, w, *args, output_mask=(False, True, False))[1]
    ref = _C.conv2d_bwd_weight_ref(dy.astype(np.float64), x.astype(np.float64), *c["k"],
                                   (1, 1), c["pad"], c["dil"], c["groups"])
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(gw, ref, rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize("case", [
    # (N, Cin, H, W, Cout, groups, k, pad): ResNeXt groups of 8, LeNet c1
    (5, 64, 20, 21, 64, 8, 3, 1),
    (4, 1, 28, 28, 6, 1, 5, 2),
])
def test_thread_invariance(simd_level, restore_threads, case):
    N, Cin, H, W, Cout, G, k, p = case
    c = dict(n=N, groups=G, cin=Cin, cout=Cout, k=(k, k), pad=(p, p), dil=(1, 1), H=H, W=W)
    x, w, dy, args, (OH, OW) = _run(c, 1)
    assert _C.conv2d_bwd_weight_uses_direct(N, Cin, H, W, Cout, k, k, (1, 1), (p, p), (1, 1),
                                            G, OH, OW)
    got = []
    for nt in (1, 2, 3):
        with num_threads(nt):
            got.append(F.conv2d_backward(dy, x, w, *args, output_mask=(False, True, False))[1])
    assert all(np.array_equal(got[0], g) for g in got[1:])
    ref = _C.conv2d_bwd_weight_ref(dy.astype(np.float64), x.astype(np.float64), k, k, (1, 1),
                                   (p, p), (1, 1), G)
    np.testing.assert_allclose(got[0], ref, rtol=0, atol=2e-5 * max(1.0, np.abs(ref).max()))
