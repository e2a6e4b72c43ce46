"""Memory: calling every kernel many times leaves resident memory and
Python-level allocations flat, and holds no references to its inputs.

Loop counts: 2,000 calls per kernel by default, 10,000 under
NNKERN_HYPOTHESIS_PROFILE=long (or NNKERN_MEMORY_ITERS=N).  Inputs are small
so that the loops are cheap; the C drivers allocate their workspaces per
call whatever the size, so a leaked workspace still shows up in RSS.
"""
import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest

import nnkern
import nnkern.functional as F
from nnkern import nn
from nnkern._config import BUILD_INFO

ITERS = int(os.environ.get("NNKERN_MEMORY_ITERS") or
            (10_000 if os.environ.get("NNKERN_HYPOTHESIS_PROFILE") == "long" else 2_000))

_r = np.random.default_rng(0)


def _a(*shape, dt=np.float32):
    return _r.standard_normal(shape).astype(dt)


X4 = _a(2, 4, 9, 8)
W4 = _a(6, 2, 3, 3)
B6 = _a(6)
XT = _a(2, 4, 5, 4)
WT = _a(4, 3, 3, 3)
A2, B2 = _a(17, 13), _a(13, 11)
XL, WL, BL = _a(3, 5, 13), _a(7, 13), _a(7)
V = _a(3, 100)
Y4 = F.conv2d(X4, W4, B6, stride=2, padding=1, groups=2)
GY4 = _a(*Y4.shape)
YT = F.conv_transpose2d(XT, WT, None, stride=2, padding=1, output_padding=1)
GYT = _a(*YT.shape)
GL = _a(3, 5, 7)
VA = _a(3, 100)
CONV = dict(stride=2, padding=1, groups=2)
CT = dict(stride=2, padding=1, output_padding=1)

# name -> (callable, the input arrays whose reference counts must not change)
CALLS = {
    "matmul": (lambda: F.matmul(A2, B2), (A2, B2)),
    "gemm": (lambda: F.gemm(A2.T, B2, None, 2.0, 0.0, True, False), (A2, B2)),
    "linear": (lambda: F.linear(XL, WL, BL), (XL, WL, BL)),
    "linear_backward": (lambda: F.linear_backward(GL, XL, WL), (GL, XL, WL)),
    "conv2d": (lambda: F.conv2d(X4, W4, B6, **CONV), (X4, W4, B6)),
    "conv2d_backward": (lambda: F.conv2d_backward(GY4, X4, W4, **CONV), (GY4, X4, W4)),
    "conv2d_strided_view": (lambda: F.conv2d(X4[:, :, ::-1, ::2], W4, None, **CONV), (X4, W4)),
    "conv_transpose2d": (lambda: F.conv_transpose2d(XT, WT, None, **CT), (XT, WT)),
    "conv_transpose2d_backward": (lambda: F.conv_transpose2d_backward(GYT, XT, WT, **CT),
                                  (GYT, XT, WT)),
    "relu": (lambda: F.relu(V), (V,)),
    "relu_": (lambda: F.relu_(V.copy()), (V,)),
    "leaky_relu": (lambda: F.leaky_relu(V, 0.1), (V,)),
    "leaky_relu_": (lambda: F.leaky_relu_(V[:, ::2].copy(), 0.1), (V,)),
    "sigmoid": (lambda: F.sigmoid(V), (V,)),
    "tanh": (lambda: F.tanh(V.T), (V,)),
    "relu_backward": (lambda: F.relu_backward(VA, V), (VA, V)),
    "leaky_relu_backward": (lambda: F.leaky_relu_backward(VA, V, 0.2), (VA, V)),
    "sigmoid_backward": (lambda: F.sigmoid_backward(VA, V), (VA, V)),
    "tanh_backward": (lambda: F.tanh_backward(VA, V), (VA, V)),
}
if hasattr(F, "max_pool2d"):
    XP = _a(2, 3, 11, 10)
    YP, IP = F.max_pool2d(XP, 3, 2, 1, 1, False, True)
    GP = _a(*YP.shape)
    YA = F.avg_pool2d(XP, 3, 2, 1)
    GA = _a(*YA.shape)
    CALLS.update({
        "max_pool2d": (lambda: F.max_pool2d(XP, 3, 2, 1, 1, False, True), (XP,)),
        "max_pool2d_backward": (lambda: F.max_pool2d_backward(GP, IP, XP.shape), (GP, IP)),
        "avg_pool2d": (lambda: F.avg_pool2d(XP, 3, 2, 1), (XP,)),
        "avg_pool2d_backward": (lambda: F.avg_pool2d_backward(GA, XP.shape, 3, 2, 1, False,
                                                              True, None), (GA,)),
    })


if hasattr(F, "adaptive_avg_pool2d"):
    GAD = _a(2, 3, 4, 3)
    CALLS.update({
        "adaptive_avg_pool2d": (lambda: F.adaptive_avg_pool2d(XP, (4, 3)), (XP,)),
        "adaptive_avg_pool2d_backward": (lambda: F.adaptive_avg_pool2d_backward(GAD, XP.shape),
                                         (GAD,)),
    })


def _error(fn):
    def call():
        try:
            fn()
        except (TypeError, ValueError, MemoryError):
            return
        raise AssertionError("expected an error")
    return call


# Error paths must not leak either (arrays allocated before a check fails).
ERRORS = {
    "matmul_shape": (_error(lambda: F.matmul(A2, A2)), (A2,)),
    "matmul_dtype": (_error(lambda: F.matmul(A2, B2.astype(np.float64))), (A2,)),
    "conv2d_groups": (_error(lambda: F.conv2d(X4, W4, None, groups=3)), (X4, W4)),
    "conv2d_huge_output": (_error(lambda: F.conv2d(X4, W4, None, padding=2**40)), (X4, W4)),
    "conv_transpose2d_opad": (_error(lambda: F.conv_transpose2d(XT, WT, None, output_padding=1)),
                              (XT, WT)),
    "relu_int": (_error(lambda: F.relu(np.arange(4))), ()),
    "linear_bias": (_error(lambda: F.linear(XL, WL, BL[:3])), (XL, WL, BL)),
}
if hasattr(F, "max_pool2d"):
    BAD_IDX = IP.copy()
    BAD_IDX.flat[3] = 10**6
    ERRORS["max_pool2d_backward_index"] = (
        _error(lambda: F.max_pool2d_backward(GP, BAD_IDX, XP.shape)), (GP, BAD_IDX))


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="RSS is read from /proc/self/statm")
# ASan keeps freed memory in a quarantine (up to 256 MiB), so RSS grows under
# sanitizer builds without any leak; tracemalloc and refcounts still apply.
CHECK_RSS = not BUILD_INFO.get("sanitize")


def test_every_public_function_is_looped():
    missing = [n for n in F.__all__ if n not in CALLS]
    assert not missing, f"add {missing} to CALLS"


def _loop(fn, n):
    for _ in range(n):
        fn()


@needs_proc
@pytest.mark.parametrize("name", list(CALLS) + list(ERRORS))
def test_rss_tracemalloc_and_refcounts_flat(name):
    fn, inputs = CALLS.get(name) or ERRORS[name]
    refs = [sys.getrefcount(a) for a in inputs]
    _loop(fn, 200)                                 # warm up caches and pools
    gc.collect()
    rss0 = rss_bytes()
    _loop(fn, ITERS)
    gc.collect()
    grown = (rss_bytes() - rss0) if CHECK_RSS else 0
    # A leaked output or workspace of even 1 kB per call would add >= 2 MB.
    assert grown < 2 * 2**20, f"{name}: RSS grew by {grown / 2**20:.1f} MiB over {ITERS} calls"
    tracemalloc.start()
    try:
        _loop(fn, 50)
        gc.collect()
        s0 = tracemalloc.take_snapshot()
        _loop(fn, ITERS // 4)
        gc.collect()
        s1 = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    diff = sum(st.size_diff for st in s1.compare_to(s0, "filename"))
    assert diff < 64 * 1024, f"{name}: tracemalloc grew by {diff} bytes over {ITERS // 4} calls"
    assert [sys.getrefcount(a) for a in inputs] == refs, f"{name}: input references leaked"


@needs_proc
def test_layers_training_loop_flat():
    """Forward/backward of every kind of layer, many times."""
    nnkern.init.manual_seed(0)
    layers = [nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.ReLU(), nn.LeakyReLU(0.1),
              nn.ConvTranspose2d(6, 4, 2, stride=2), nn.Sigmoid(), nn.Tanh()]
    if hasattr(F, "max_pool2d"):
        layers += [nn.MaxPool2d(2), nn.AvgPool2d(2)]
    if hasattr(nn, "AdaptiveAvgPool2d"):
        layers.append(nn.AdaptiveAvgPool2d((3, 2)))
    layers.append(nn.Flatten())
    features = nn.Sequential(*layers)(X4).shape[1]
    model = nn.Sequential(*layers, nn.Linear(features, 5))
    x = X4.copy()

    def step():
        y = model(x)
        model.zero_grad()
        model.backward(np.ones_like(y))

    _loop(step, 100)
    gc.collect()
    refs = sys.getrefcount(x)   # the first layer caches its input for backward
    rss0 = rss_bytes()
    _loop(step, ITERS // 4)
    gc.collect()
    grown = (rss_bytes() - rss0) if CHECK_RSS else 0
    assert grown < 2 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB"
    assert sys.getrefcount(x) == refs
