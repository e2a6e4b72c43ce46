"""conv2d's Winograd F(4x4, 3x3) path (csrc/nk_conv_winograd.c: float32,
3x3, stride 1, groups 1, >= 16 channels in and out, AVX2 and AVX-512 levels)
and, through it, the stride-1 backward-data; and the weight gradient by the
transposed transforms (>= 32 channels in and out).

Forward and backward-data against the float64 reference over a hypothesis
grid (partial tiles, padding and dilation of each side, chunks spanning
images); the probe against the rule written out here; thread invariance on a
shape of several chunks; the same bits at both levels; the switch (nnkern.set_conv_winograd, and
NNKERN_CONV_WINOGRAD=0); inf and NaN, which fall back to the direct paths;
torch, when importable."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import nnkern
import nnkern.functional as F
from nnkern import _C

from _util import SIMD_LEVELS, num_threads

pytestmark = pytest.mark.skipif(not SIMD_LEVELS, reason="the Winograd path is AVX2/AVX-512 code")


@pytest.fixture
def level(simd_level):
    nnkern.set_conv_winograd(True)
    try:
        yield simd_level
    finally:
        nnkern.set_conv_winograd(True)
        _C.conv_shift_enable(True)


def _geo(N, C, H, W, K, pad, dil):
    OH, OW = H + 2 * pad[0] - 2 * dil[0], W + 2 * pad[1] - 2 * dil[1]
    return (N, C, H, W, K, 3, 3, (1, 1), pad, dil, 1, OH, OW)


def _expect(geo):
    """The path's rule: >= 16 channels in and out; computed pixels (whole
    4x4 tiles on each dilation phase) at most 1.5x the output's; at least 32
    tiles, and at most 128 KiB of transformed weights (36 x K rounded up to
    6 x C floats) a tile."""
    N, C, H, W, K, _, _, _, pad, dil, _, OH, OW = geo
    if C < 16 or K < 16 or OH < 1 or OW < 1 or min(pad) < 0:
        return False

    def cdiv(a, b):
        return -(-a // b)

    tr, tc = dil[0] * cdiv(cdiv(OH, dil[0]), 4), dil[1] * cdiv(cdiv(OW, dil[1]), 4)
    total = N * tr * tc
    return (tr * tc * 32 <= 3 * OH * OW and total >= 32
            and 36 * cdiv(K, 6) * 6 * C * 4 <= (128 << 10) * total)


def _data(N, C, H, W, K, seed, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    w = (rng.standard_normal((K, C, 3, 3)) / np.sqrt(9 * C)).astype(np.float32)
    b = rng.standard_normal(K).astype(np.float32) if bias else None
    return x, w, b


def _close(a, ref):
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(a, ref, rtol=0, atol=2e-5 * scale)


def _ref_fwd(x, w, b, pad, dil, OH, OW):
    b64 = None if b is None else b.astype(np.float64)
    return _C.conv2d_fwd_ref(x.astype(np.float64), w.astype(np.float64), b64, (1, 1), pad,
                             dil, 1, OH, OW)


def _expect_dw(geo):
    return _expect(geo) and geo[1] >= 32 and geo[4] >= 32


def _ref_dw(dy, x, pad, dil):
    return _C.conv2d_bwd_weight_ref(dy.astype(np.float64), x.astype(np.float64), 3, 3, (1, 1),
                                    pad, dil, 1)


def _ref_dx(dy, w, H, W, pad, dil):
    return _C.conv2d_bwd_data_ref(dy.astype(np.float64), w.astype(np.float64), H, W, (1, 1),
                                  pad, dil, 1)


@st.composite
def cases(draw):
    dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (draw(st.integers(0, 2 * dil[0])), draw(st.integers(0, 2 * dil[1])))
    H = draw(st.integers(max(1, 2 * dil[0] + 1 - 2 * pad[0]), 2 * dil[0] + 30))
    W = draw(st.integers(max(1, 2 * dil[1] + 1 - 2 * pad[1]), 2 * dil[1] + 30))
    return dict(N=draw(st.integers(1, 6)), C=draw(st.sampled_from([15, 16, 17, 32, 33, 48])),
                K=draw(st.sampled_from([16, 17, 32, 37, 40])), H=H, W=W, pad=pad, dil=dil,
                bias=draw(st.booleans()))


@given(c=cases())
def test_forward_and_backward_data_match_reference(level, c):
    N, C, H, W, K, pad, dil = c["N"], c["C"], c["H"], c["W"], c["K"], c["pad"], c["dil"]
    x, w, b = _data(N, C, H, W, K, 0, c["bias"])
    geo = _geo(N, C, H, W, K, pad, dil)
    OH, OW = geo[-2:]
    assert _C.conv2d_fwd_uses_winograd(*geo) == _expect(geo)
    y = F.conv2d(x, w, b, 1, pad, dil)
    _close(y, _ref_fwd(x, w, b, pad, dil, OH, OW))
    # backward-data: a forward over dy with flip(w)^T, padding 2d - p
    tpad = (2 * dil[0] - pad[0], 2 * dil[1] - pad[1])
    tgeo = (N, K, OH, OW, C, 3, 3, (1, 1), tpad, dil, 1, H, W)
    assert _C.conv2d_fwd_uses_winograd(*tgeo) == _expect(tgeo)
    dy = np.random.default_rng(1).standard_normal(y.shape, dtype=np.float32)
    dx, = F.conv2d_backward(dy, x, w, 1, pad, dil, 1, (True, False, False))[:1]
    _close(dx, _ref_dx(dy, w, H, W, pad, dil))
    assert _C.conv2d_bwd_weight_uses_winograd(*geo) == _expect_dw(geo)
    dw = F.conv2d_backward(dy, x, w, 1, pad, dil, 1, (False, True, False))[1]
    _close(dw, _ref_dw(dy, x, pad, dil))


@st.composite
def taken_cases(draw):
    """Shapes every part takes (>= 32 tiles, >= 32 channels): edge tiles,
    each side's padding and dilation."""
    dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (draw(st.integers(0, 2 * dil[0])), draw(st.integers(0, 2 * dil[1])))
    H = draw(st.integers(2 * dil[0] + 5, 2 * dil[0] + 29))
    W = draw(st.integers(2 * dil[1] + 5, 2 * dil[1] + 29))
    return dict(N=draw(st.integers(2, 4)), C=draw(st.sampled_from([32, 33, 48])),
                K=draw(st.sampled_from([32, 40, 47])), H=H, W=W, pad=pad, dil=dil)


@given(c=taken_cases())
def test_taken_grid(level, c):
    N, C, H, W, K, pad, dil = c["N"], c["C"], c["H"], c["W"], c["K"], c["pad"], c["dil"]
    geo = _geo(N, C, H, W, K, pad, dil)
    assume(_expect_dw(geo))
    assert _C.conv2d_fwd_uses_winograd(*geo) and _C.conv2d_bwd_weight_uses_winograd(*geo)
    x, w, b = _data(N, C, H, W, K, 14)
    y = F.conv2d(x, w, b, 1, pad, dil)
    _close(y, _ref_fwd(x, w, b, pad, dil, *geo[-2:]))
    dy = np.random.default_rng(15).standard_normal(y.shape, dtype=np.float32)
    dx, dw, _ = F.conv2d_backward(dy, x, w, 1, pad, dil)
    _close(dx, _ref_dx(dy, w, H, W, pad, dil))
    _close(dw, _ref_dw(dy, x, pad, dil))


# shapes the path takes: exact and partial tiles, prime sizes, dilation 2
# and 4 with and without 'same' padding, one image of few tiles next to a
# batch, channels not a multiple of the 6-row or 16-lane panels, padding
# wider than the kernel
TAKEN = [
    (8, 16, 16, 16, 16, (1, 1), (1, 1)),
    (3, 17, 13, 11, 23, (1, 1), (1, 1)),
    (1, 32, 29, 31, 16, (0, 2), (1, 1)),
    (2, 16, 20, 20, 20, (2, 2), (2, 2)),
    (1, 24, 32, 32, 16, (4, 4), (4, 4)),
    (3, 40, 14, 14, 48, (1, 1), (1, 1)),
    (2, 16, 24, 19, 16, (3, 0), (3, 1)),
    (2, 32, 23, 17, 33, (1, 2), (1, 2)),
    (4, 32, 12, 12, 32, (5, 2), (1, 1)),  # padding past 2d: dx (padding 2d - p < 0) is not
]


@pytest.mark.parametrize("case", TAKEN)
def test_taken_shapes(level, case):
    N, C, H, W, K, pad, dil = case
    geo = _geo(N, C, H, W, K, pad, dil)
    assert _C.conv2d_fwd_uses_winograd(*geo) and _expect(geo)
    x, w, b = _data(N, C, H, W, K, 2)
    y = F.conv2d(x, w, b, 1, pad, dil)
    _close(y, _ref_fwd(x, w, b, pad, dil, *geo[-2:]))
    dy = np.random.default_rng(3).standard_normal(y.shape, dtype=np.float32)
    assert _C.conv2d_bwd_weight_uses_winograd(*geo) == _expect_dw(geo)
    dx, dw, db = F.conv2d_backward(dy, x, w, 1, pad, dil)
    _close(dx, _ref_dx(dy, w, H, W, pad, dil))
    _close(dw, _ref_dw(dy, x, pad, dil))


def test_not_taken(level):
    """Outside the rule: 15 channels, groups, stride 2, 5x5 kernels, few
    tiles, U too large for its tiles (512 channels on 7x7), float64, and
    the generic level."""
    assert not _C.conv2d_fwd_uses_winograd(*_geo(8, 15, 16, 16, 16, (1, 1), (1, 1)))
    assert not _C.conv2d_fwd_uses_winograd(*_geo(8, 16, 16, 16, 15, (1, 1), (1, 1)))
    g = list(_geo(8, 32, 16, 16, 32, (1, 1), (1, 1)))
    assert _C.conv2d_fwd_uses_winograd(*g)
    assert not _C.conv2d_fwd_uses_winograd(*(g[:10] + [2] + g[11:]))
    assert not _C.conv2d_fwd_uses_winograd(*(g[:7] + [(2, 2)] + g[8:11] + [8, 8]))
    assert not _C.conv2d_fwd_uses_winograd(8, 32, 16, 16, 32, 5, 5, (1, 1), (2, 2), (1, 1), 1,
                                           16, 16)
    assert not _C.conv2d_fwd_uses_winograd(*_geo(1, 32, 8, 8, 32, (1, 1), (1, 1)))
    assert not _C.conv2d_fwd_uses_winograd(*_geo(8, 512, 7, 7, 512, (1, 1), (1, 1)))
    x, w, b = _data(2, 16, 16, 16, 16, 4)
    y64 = F.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), 1, 1)
    np.testing.assert_allclose(y64, _ref_fwd(x, w, b, (1, 1), (1, 1), 16, 16), rtol=0,
                               atol=1e-11 * np.abs(y64).max())
    _C.set_isa("generic")
    assert not _C.conv2d_fwd_uses_winograd(*g)


@pytest.mark.parametrize("N, C, H, K", [(4, 16, 62, 16), (3, 32, 30, 32)])
def test_thread_invariant_over_chunks(level, N, C, H, K):
    """1024 tiles of 16 channels, 192 of 32: several chunks of the forward
    and the weight gradient, spanning images."""
    geo = _geo(N, C, H, H, K, (1, 1), (1, 1))
    assert _C.conv2d_fwd_uses_winograd(*geo)
    assert _C.conv2d_bwd_weight_uses_winograd(*geo) == (C >= 32)
    x, w, b = _data(N, C, H, H, K, 5)
    dy = np.random.default_rng(6).standard_normal((N, K, H, H), dtype=np.float32)
    out = {}
    for t in (1, 2):
        with num_threads(t):
            out[t] = (F.conv2d(x, w, b, 1, 1),) + F.conv2d_backward(dy, x, w, 1, 1, 1, 1,
                                                                   (True, True, False))[:2]
    for a, e in zip(out[1], out[2]):
        assert np.array_equal(a, e)
    _close(out[1][0], _ref_fwd(x, w, b, (1, 1), (1, 1), H, H))
    _close(out[1][2], _ref_dw(dy, x, (1, 1), (1, 1)))


@pytest.mark.skipif(len(SIMD_LEVELS) < 2, reason="needs the AVX2 and AVX-512 levels")
@pytest.mark.parametrize("case", TAKEN)
def test_same_bits_at_both_levels(case):
    """The AVX2 transforms and 6x16 GEMM kernel do the AVX-512 ones'
    operations in the same order."""
    N, C, H, W, K, pad, dil = case
    x, w, b = _data(N, C, H, W, K, 12)
    dy = np.random.default_rng(13).standard_normal((N, K) + _geo(N, C, H, W, K, pad, dil)[-2:],
                                                   dtype=np.float32)
    before, out = _C.isa_active(), {}
    try:
        for lvl in SIMD_LEVELS:
            _C.set_isa(lvl)
            assert _C.conv2d_fwd_uses_winograd(*_geo(N, C, H, W, K, pad, dil))
            out[lvl] = (F.conv2d(x, w, b, 1, pad, dil),) + F.conv2d_backward(
                dy, x, w, 1, pad, dil, 1, (True, True, False))[:2]
    finally:
        _C.set_isa(before)
    for a, e in zip(out["avx2"], out["avx512"]):
        assert np.array_equal(a, e)


def test_switch(level):
    """Off: the shape takes the shifted-rows path, whose bits are the
    im2col path's (Winograd's are not)."""
    geo = _geo(4, 32, 20, 20, 32, (1, 1), (1, 1))
    x, w, b = _data(4, 32, 20, 20, 32, 7)
    assert nnkern.get_conv_winograd() and _C.conv2d_fwd_uses_winograd(*geo)
    y_w = F.conv2d(x, w, b, 1, 1)
    nnkern.set_conv_winograd(False)
    assert not nnkern.get_conv_winograd() and not _C.conv2d_fwd_uses_winograd(*geo)
    y_s = F.conv2d(x, w, b, 1, 1)
    _C.conv_shift_enable(False)
    y_c = F.conv2d(x, w, b, 1, 1)
    assert np.array_equal(y_s, y_c)
    assert not np.array_equal(y_w, y_c)
    _close(y_w, y_c.astype(np.float64))
    with pytest.raises(TypeError):
        nnkern.set_conv_winograd(1)


def test_environment_switch():
    parent = os.path.dirname(os.path.dirname(os.path.abspath(nnkern.__file__)))
    env = dict(os.environ, NNKERN_CONV_WINOGRAD="0")
    env["PYTHONPATH"] = parent + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", "import nnkern; print(nnkern.get_conv_winograd(),"
                          " nnkern.show_config(False)['conv_winograd'])"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("where", ["x", "w", "dy"])
def test_inf_and_nan_fall_back(level, where):
    """One inf or NaN makes a whole 4x4 tile non-finite in Winograd's
    transforms; the path hands such calls to the direct paths, so the
    non-finite values reach exactly the outputs that read them."""
    geo = _geo(2, 32, 16, 16, 32, (1, 1), (1, 1))
    assert _C.conv2d_fwd_uses_winograd(*geo)
    x, w, b = _data(2, 32, 16, 16, 32, 8)
    dy = np.random.default_rng(9).standard_normal((2, 32, 16, 16), dtype=np.float32)
    if where == "x":
        x[1, 3, 5, 7], x[0, 0, 9, 2] = np.nan, np.inf
    elif where == "w":
        w[3, 4, 1, 1] = np.inf
    else:
        dy[0, 5, 6, 6] = np.nan

    assert _C.conv2d_bwd_weight_uses_winograd(*geo)

    def run():
        return (F.conv2d(x, w, b, 1, 1),) + F.conv2d_backward(dy, x, w, 1, 1, 1, 1,
                                                             (True, True, False))[:2]

    got = run()
    nnkern.set_conv_winograd(False)
    want = run()
    # the outputs that read the non-finite value: the direct paths' bits;
    # the others (dx does not read x, y not dy, dw not w) stay on Winograd
    hit = {"x": (0, 2), "w": (0, 1), "dy": (1, 2)}[where]
    for i, (a, e) in enumerate(zip(got, want)):
        if i in hit:
            assert np.array_equal(a, e, equal_nan=True)
        else:
            assert np.isfinite(a).all() and not np.array_equal(a, e)
            _close(a, e.astype(np.float64))
    if where == "x":  # a NaN reaches the 3x3 window around it only
        assert np.isnan(got[0][1]).sum() == 32 * 9


def test_matches_torch(level):
    torch = pytest.importorskip("torch")
    x, w, b = _data(2, 32, 28, 28, 48, 10)
    xt = torch.from_numpy(x).requires_grad_()
    yt = torch.nn.functional.conv2d(xt, torch.from_numpy(w), torch.from_numpy(b), 1, 2, 2)
    y = F.conv2d(x, w, b, 1, 2, 2)
    assert _C.conv2d_fwd_uses_winograd(*_geo(2, 32, 28, 28, 48, (2, 2), (2, 2)))
    dy = np.random.default_rng(11).standard_normal(y.shape, dtype=np.float32)
    yt.backward(torch.from_numpy(dy))
    dx = F.conv2d_backward(dy, x, w, 1, 2, 2, 1, (True, False, False))[0]
    for got, ref in ((y, yt.detach().numpy()), (dx, xt.grad.numpy())):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def _check_dw_padding_1(N, C, H, K, seed):
    """The Winograd weight gradient of an H x H input, padding 1: taken,
    the same bits at 1 and 2 threads, and close to the reference."""
    geo = _geo(N, C, H, H, K, (1, 1), (1, 1))
    assert _C.conv2d_bwd_weight_uses_winograd(*geo)
    x, w, _ = _data(N, C, H, H, K, seed)
    dy = np.random.default_rng(seed + 1).standard_normal((N, K, H, H), dtype=np.float32)
    out = {}
    for t in (1, 2):
        with num_threads(t):
            out[t] = F.conv2d_backward(dy, x, w, 1, 1, 1, 1, (False, True, False))[1]
    assert np.array_equal(out[1], out[2])
    _close(out[1], _ref_dw(dy, x, (1, 1), (1, 1)))


def test_weight_gradient_one_slot_several_chunks(level):
    """36 K C over 2^20 sums: one slot shared by the threads, its chunk
    sized by the sums (48 tiles here, not the 1 MiB rule's 32), so 68 tiles
    are a chunk of 48 and one of 20 (a partial 16-tile group)."""
    _check_dw_padding_1(17, 64, 7, 515, 21)


@pytest.mark.parametrize("N, C, H, K", [(2, 33, 14, 33), (3, 35, 14, 37), (4, 171, 14, 171)])
def test_weight_gradient_odd_channel_products(level, N, C, H, K):
    """36 K C floats of sums not a multiple of 16 (K C odd), with 2, 3 and
    1 slots: the transforms' aligned stores into V and P after the sums
    once crashed (SIGSEGV) on these shapes."""
    _check_dw_padding_1(N, C, H, K, 31)
