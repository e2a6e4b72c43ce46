"""One representative call of every kernel in nnkern.functional, shared by the
reliability tests (threads, fork, memory, determinism).

Each case is ``name -> fn(dtype) -> list of ndarrays``; inputs come from a
fixed seed, and the sizes are large enough that the drivers split the work
over several OpenMP threads (GEMM and conv need >= 2**20 multiply-adds per
thread, activations >= 65536 elements), yet each call takes a few ms.
Pooling cases appear as soon as nnkern.functional has the pooling API.
"""
import numpy as np

import nnkern.functional as F


def _rng(seed=0):
    return np.random.default_rng(seed)


def _arrays(dtype, *shapes, seed=0):
    r = _rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in shapes]


def _flat(out):
    if isinstance(out, tuple):
        return [o for o in out if o is not None]
    return [out]


# --- dense ----------------------------------------------------------------
def _matmul(dt):
    a, b = _arrays(dt, (180, 170), (170, 190))
    return [F.matmul(a, b)]


def _gemm(dt):
    a, b, c = _arrays(dt, (170, 180), (190, 170), (1, 190))
    return [F.gemm(a, b, c, alpha=0.5, beta=2.0, trans_a=True, trans_b=True)]


def _linear(dt):
    x, w, b = _arrays(dt, (4, 50, 130), (140, 130), (140,))
    return [F.linear(x, w, b)]


def _linear_backward(dt):
    g, x, w = _arrays(dt, (4, 50, 140), (4, 50, 130), (140, 130))
    return _flat(F.linear_backward(g, x, w))


# --- convolution ------------------------------------------------------------
_CONV = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)


def _conv2d(dt):
    x, w, b = _arrays(dt, (3, 8, 30, 29), (12, 4, 3, 3), (12,))
    return [F.conv2d(x, w, b, **_CONV)]


def _conv2d_backward(dt):
    x, w = _arrays(dt, (3, 8, 30, 29), (12, 4, 3, 3))
    y = F.conv2d(x, w, None, **_CONV)
    (g,) = _arrays(dt, y.shape, seed=1)
    return _flat(F.conv2d_backward(g, x, w, **_CONV))


def _conv2d_1x1(dt):
    x, w = _arrays(dt, (4, 16, 24, 24), (24, 16, 1, 1))
    return [F.conv2d(x, w)]


def _conv2d_backward_s1(dt):
    x, w = _arrays(dt, (2, 8, 28, 28), (8, 8, 3, 3))
    (g,) = _arrays(dt, (2, 8, 28, 28), seed=1)
    return _flat(F.conv2d_backward(g, x, w, padding="same"))


_CT = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=1)


def _conv_transpose2d(dt):
    x, w, b = _arrays(dt, (3, 8, 15, 14), (8, 6, 3, 3), (12,))
    return [F.conv_transpose2d(x, w, b, **_CT)]


def _conv_transpose2d_backward(dt):
    x, w = _arrays(dt, (3, 8, 15, 14), (8, 6, 3, 3))
    y = F.conv_transpose2d(x, w, None, **_CT)
    (g,) = _arrays(dt, y.shape, seed=1)
    return _flat(F.conv_transpose2d_backward(g, x, w, **_CT))


# --- activations --------------------------------------------------------------
_ACT_SHAPE = (3, 7, 97, 61)  # 124,263 elements: several blocks, odd tail


def _act(name):
    fn = getattr(F, name)

    def case(dt):
        (x,) = _arrays(dt, _ACT_SHAPE)
        return [fn(x)]
    case.__name__ = name
    return case


def _relu_inplace(dt):
    (x,) = _arrays(dt, _ACT_SHAPE)
    F.relu_(x)
    return [x]


def _leaky_inplace(dt):
    (x,) = _arrays(dt, _ACT_SHAPE)
    F.leaky_relu_(x, 0.3)
    return [x]


def _leaky(dt):
    (x,) = _arrays(dt, _ACT_SHAPE)
    return [F.leaky_relu(x, 0.2)]


def _act_bwd(name, from_output):
    fn = getattr(F, name + "_backward")
    fwd = getattr(F, name)

    def case(dt):
        g, x = _arrays(dt, _ACT_SHAPE, _ACT_SHAPE)
        t = fwd(x) if from_output else x
        return [fn(g, t)]
    case.__name__ = name + "_backward"
    return case


def _leaky_bwd(dt):
    g, x = _arrays(dt, _ACT_SHAPE, _ACT_SHAPE)
    return [F.leaky_relu_backward(g, x, 0.2)]


# --- pooling (once nnkern.functional has it) ---------------------------------------
def _max_pool(dt):
    (x,) = _arrays(dt, (4, 16, 41, 37))
    y, idx = F.max_pool2d(x, 3, 2, 1, 1, False, True)
    return [y, idx]


def _max_pool_ceil_dil(dt):
    (x,) = _arrays(dt, (4, 16, 41, 37))
    return [F.max_pool2d(x, (3, 2), (2, 3), (1, 1), (2, 1), True)]


def _max_pool_backward(dt):
    (x,) = _arrays(dt, (4, 16, 41, 37))
    y, idx = F.max_pool2d(x, 3, 2, 1, 1, False, True)
    (g,) = _arrays(dt, y.shape, seed=1)
    return [F.max_pool2d_backward(g, idx, x.shape)]


def _avg_pool(dt):
    (x,) = _arrays(dt, (4, 16, 41, 37))
    return [F.avg_pool2d(x, 3, 2, 1)]


def _avg_pool_backward(dt):
    (x,) = _arrays(dt, (4, 16, 41, 37))
    y = F.avg_pool2d(x, 3, 2, 1)
    (g,) = _arrays(dt, y.shape, seed=1)
    return [F.avg_pool2d_backward(g, x.shape, 3, 2, 1, False, True, None)]


def _adaptive(dt):
    (x,) = _arrays(dt, (4, 16, 41, 37))
    return [F.adaptive_avg_pool2d(x, (5, 7)), F.adaptive_avg_pool2d(x, 1)]


def _adaptive_backward(dt):
    (g,) = _arrays(dt, (4, 16, 5, 7))
    return [F.adaptive_avg_pool2d_backward(g, (4, 16, 41, 37))]


CASES = {
    "matmul": _matmul, "gemm": _gemm, "linear": _linear, "linear_backward": _linear_backward,
    "conv2d": _conv2d, "conv2d_1x1": _conv2d_1x1, "conv2d_backward": _conv2d_backward,
    "conv2d_backward_same": _conv2d_backward_s1, "conv_transpose2d": _conv_transpose2d,
    "conv_transpose2d_backward": _conv_transpose2d_backward,
    "relu": _act("relu"), "relu_": _relu_inplace, "leaky_relu": _leaky,
    "leaky_relu_": _leaky_inplace,
    "sigmoid": _act("sigmoid"), "tanh": _act("tanh"),
    "relu_backward": _act_bwd("relu", True), "leaky_relu_backward": _leaky_bwd,
    "sigmoid_backward": _act_bwd("sigmoid", True), "tanh_backward": _act_bwd("tanh", True),
}
if hasattr(F, "max_pool2d"):
    CASES.update({"max_pool2d": _max_pool, "max_pool2d_ceil_dilation": _max_pool_ceil_dil,
                  "max_pool2d_backward": _max_pool_backward, "avg_pool2d": _avg_pool,
                  "avg_pool2d_backward": _avg_pool_backward})
if hasattr(F, "adaptive_avg_pool2d"):
    CASES.update({"adaptive_avg_pool2d": _adaptive,
                  "adaptive_avg_pool2d_backward": _adaptive_backward})

DTYPES = (np.float32, np.float64)


def run_all(dtypes=DTYPES, names=None):
    """{(name, dtype): [arrays]} for every case."""
    out = {}
    for dt in dtypes:
        for name in (names or CASES):
            out[(name, np.dtype(dt).name)] = CASES[name](dt)
    return out


def assert_bitwise(a, b, what=""):
    """Two results of run_all are bitwise identical (NaN payloads included)."""
    assert a.keys() == b.keys()
    for key in a:
        for x, y in zip(a[key], b[key], strict=True):
            assert x.dtype == y.dtype and x.shape == y.shape, (what, key)
            assert x.tobytes() == y.tobytes(), f"{what}: {key} differs"


def public_functions():
    """Every name in nnkern.functional.__all__ (so that the tests notice a new
    public function that no case covers)."""
    return list(F.__all__)
