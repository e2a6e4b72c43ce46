"""Pooling error paths: PyTorch's wording (checked against torch when it is
importable), dtype errors, shapes of backward arguments, bad indices."""
import numpy as np
import pytest

import nnkern.functional as F
from nnkern import _C

X = np.zeros((2, 3, 8, 8), np.float32)

# (function name, args, kwargs, exception, exact message or None for TypeError/no torch twin)
CASES = [
    ("max_pool2d", (X, 3, 2, 2), {}, ValueError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    ("max_pool2d", (X, 3, 2, -1), {}, ValueError, "pad must be non-negative, but got pad: -1"),
    ("max_pool2d", (X, 3, 0, 1), {}, ValueError, "stride should not be zero"),
    ("max_pool2d", (X, 3, -1, 1), {}, ValueError,
     "stride should be greater than zero, but got dH: -1 dW: -1"),
    ("max_pool2d", (X, 0, 1, 0), {}, ValueError,
     "kernel size should be greater than zero, but got kH: 0 kW: 0"),
    ("max_pool2d", (X, (2, -1), 1, 0), {}, ValueError,
     "kernel size should be greater than zero, but got kH: 2 kW: -1"),
    ("max_pool2d", (X, 3, 1, 0), {"dilation": 0}, ValueError,
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    ("max_pool2d", (X, 3, 1, 2), {"dilation": 0}, ValueError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=0"),
    ("max_pool2d", (X, 2, 1, 2), {"dilation": 3}, ValueError,
     "pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 2, kW = 2, kH = 2"),
    ("max_pool2d", (X, 9, 1, 0), {}, ValueError,
     "Given input size: (3x8x8). Calculated output size: (3x0x0). Output size is too small"),
    ("max_pool2d", (np.zeros((8, 8), np.float32), 2), {}, ValueError,
     "non-empty 3D or 4D (batch mode) tensor expected for input"),
    ("max_pool2d", (np.zeros((1, 2, 3, 8, 8), np.float32), 2), {}, ValueError,
     "non-empty 3D or 4D (batch mode) tensor expected for input"),
    ("max_pool2d", (np.zeros((2, 3, 0, 8), np.float32), 2), {}, ValueError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 3, 0, 8]"),
    ("max_pool2d", (np.zeros((2, 0, 8, 8), np.float32), 2), {}, ValueError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 0, 8, 8]"),
    ("max_pool2d", (np.zeros((0, 8, 8), np.float32), 2), {}, ValueError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[0, 8, 8]"),
    ("max_pool2d", (X, (2, 2, 2)), {}, ValueError,
     "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    ("max_pool2d", (X, 2, (1, 1, 1)), {}, ValueError,
     "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
    ("max_pool2d", (X, 2, 2, (0, 0, 0)), {}, ValueError,
     "max_pool2d: padding must either be a single int, or a tuple of two ints"),
    ("max_pool2d", (X, 2, 2, 0, (1, 1, 1)), {}, ValueError,
     "max_pool2d: dilation must be either a single int, or a tuple of two ints"),
    ("avg_pool2d", (X, 2, 2, (0, 0, 0)), {}, ValueError,
     "avg_pool2d: padding must either be a single int, or a tuple of two ints"),
    ("avg_pool2d", (X, 2, (1, 1, 1)), {}, ValueError,
     "avg_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
    ("max_pool2d", (X, 2.0), {}, TypeError, None),
    ("max_pool2d", (X, True), {}, TypeError, None),
    ("avg_pool2d", (X, 3, 2, 2), {}, ValueError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    ("avg_pool2d", (X, 3, 2, -1), {}, ValueError, "pad must be non-negative, but got pad: -1"),
    ("avg_pool2d", (X, 3, 0, 1), {}, ValueError, "stride should not be zero"),
    ("avg_pool2d", (X, 3, -1, 1), {}, ValueError,
     "stride should be greater than zero, but got dH: -1 dW: -1"),
    ("avg_pool2d", (X, 0, 1, 0), {}, ValueError,
     "kernel size should be greater than zero, but got kH: 0 kW: 0"),
    ("avg_pool2d", (X, (1, 2), (1, 1), (1, 0)), {}, ValueError,
     "pad should be at most half of effective kernel size, but got pad=1, kernel_size=1 and dilation=1"),
    ("avg_pool2d", (X, 9, 1, 0), {}, ValueError,
     "Given input size: (3x8x8). Calculated output size: (3x0x0). Output size is too small"),
    ("avg_pool2d", (X, 2), {"divisor_override": 0}, ValueError, "divisor must be not zero"),
    ("avg_pool2d", (np.zeros((8, 8), np.float32), 2), {"divisor_override": 0}, ValueError,
     "divisor must be not zero"),
    ("avg_pool2d", (np.zeros((2, 3, 0, 8), np.float32), 2), {}, ValueError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 3, 0, 8]"),
    ("avg_pool2d", (X, (2, 3, 3)), {}, ValueError,
     "avg_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    ("avg_pool2d", (X, 2), {"divisor_override": 1.5}, TypeError, None),
    ("adaptive_avg_pool2d", (np.zeros((8, 8), np.float32), 2), {}, ValueError,
     "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [8, 8]"),
    ("adaptive_avg_pool2d", (np.zeros((2, 3, 0, 8), np.float32), 2), {}, ValueError,
     "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, "
     "but input has sizes [2, 3, 0, 8] with dimension 2 being empty"),
    ("adaptive_avg_pool2d", (X, (2, -1)), {}, ValueError,
     "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {2, -1}"),
    ("adaptive_avg_pool2d", (X, (2,)), {}, ValueError, "adaptive_avg_pool2d: output_size must be 2"),
    ("adaptive_avg_pool2d", (X, None), {}, TypeError, None),
]


@pytest.mark.parametrize("name,args,kwargs,exc,msg", CASES)
def test_error_wording(name, args, kwargs, exc, msg):
    with pytest.raises(exc) as ei:
        getattr(F, name)(*args, **kwargs)
    if msg is not None:
        assert str(ei.value) == msg


@pytest.mark.parametrize("name,args,kwargs,exc,msg", [c for c in CASES if c[4] is not None])
def test_error_wording_is_torchs(name, args, kwargs, exc, msg):
    torch = pytest.importorskip("torch")
    targs = tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)
    with pytest.raises((RuntimeError, IndexError)) as ei:
        getattr(torch.nn.functional, name)(*targs, **kwargs)
    first = str(ei.value).splitlines()[0]
    if isinstance(ei.value, IndexError):  # torch's avg_pool2d on 2-D input; we say more
        return
    assert first == msg


def test_dtype_errors():
    with pytest.raises(TypeError, match="float32 and float64"):
        F.max_pool2d(X.astype(np.int32), 2)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.avg_pool2d(X.astype(np.float16), 2)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.adaptive_avg_pool2d(X.astype(np.int64), 1)
    with pytest.raises(TypeError):
        F.max_pool2d("x", 2)
    y, ind = F.max_pool2d(X, 2, return_indices=True)
    with pytest.raises(TypeError, match="integer"):
        F.max_pool2d_backward(y, ind.astype(np.float64), X.shape)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.max_pool2d_backward(y.astype(np.int32), ind, X.shape)


def test_max_backward_argument_errors(isa):
    y, ind = F.max_pool2d(X, 2, return_indices=True)
    with pytest.raises(ValueError, match="indices shape"):
        F.max_pool2d_backward(y, ind[..., :3], X.shape)
    with pytest.raises(ValueError, match="does not match"):
        F.max_pool2d_backward(y, ind, (2, 4, 8, 8))
    with pytest.raises(ValueError, match="3 or 4 dimensions"):
        F.max_pool2d_backward(y, ind, (3, 8, 8))
    with pytest.raises(TypeError, match="input_shape"):
        F.max_pool2d_backward(y, ind, (2, 3, 8.0, 8))
    for bad in (-1, 64, 2 ** 40, -(2 ** 62)):
        b = ind.copy()
        b[1, 2, 3, 1] = bad
        with pytest.raises(ValueError, match="out of range"):
            F.max_pool2d_backward(y, b, X.shape)
    b = ind.astype(np.uint64)
    b[0, 0, 0, 0] = 2 ** 63 + 5
    with pytest.raises(ValueError, match="out of range"):
        F.max_pool2d_backward(y, b, X.shape)
    # smaller int dtypes are accepted
    np.testing.assert_array_equal(F.max_pool2d_backward(y, ind.astype(np.int32), X.shape),
                                  F.max_pool2d_backward(y, ind, X.shape))
    # input plane too small for any index
    with pytest.raises(ValueError, match="out of range"):
        F.max_pool2d_backward(y, ind, (2, 3, 0, 8))


def test_avg_backward_argument_errors():
    g = np.zeros((2, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match="spatial size"):
        F.avg_pool2d_backward(g, (2, 3, 10, 8), 2)
    with pytest.raises(ValueError, match="does not match"):
        F.avg_pool2d_backward(g, (2, 2, 8, 8), 2)
    with pytest.raises(ValueError, match="divisor must be not zero"):
        F.avg_pool2d_backward(g, X.shape, 2, divisor_override=0)
    with pytest.raises(ValueError, match="pad should be at most half"):
        F.avg_pool2d_backward(g, X.shape, 2, padding=2)
    with pytest.raises(ValueError, match="does not match"):
        F.adaptive_avg_pool2d_backward(g, (2, 4, 8, 8))
    with pytest.raises(ValueError, match="non-zero size"):
        F.adaptive_avg_pool2d_backward(g, (2, 3, 0, 8))


def test_bindings_reject_bad_buffers():
    """The bindings never hand C a buffer of the wrong size, rank or dtype."""
    with pytest.raises(ValueError, match="4-D"):
        _C.pool_max_fwd(X[0], 4, 4, (2, 2, 2, 2, 0, 0, 1, 1), False)
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.pool_avg_fwd(X[..., ::2], 2, 2, (2, 2, 2, 2, 0, 0, 1, 1), True, 0)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.pool_adaptive_avg_fwd(X.astype(np.float16), 1, 1)
    y, ind = F.max_pool2d(X, 2, return_indices=True)
    with pytest.raises(ValueError, match="int64"):
        _C.pool_max_bwd(y, ind.astype(np.int32), 8, 8)
    with pytest.raises(ValueError, match="does not\\s+match"):
        _C.pool_max_bwd(y, ind[:, :, :3].copy(), 8, 8)
    # C-side checks: inconsistent geometry is rejected by the drivers
    with pytest.raises(ValueError, match="invalid arguments"):
        _C.pool_max_fwd(X, 4, 4, (2, 2, 0, 2, 0, 0, 1, 1), False)
    with pytest.raises(ValueError, match="invalid arguments"):
        _C.pool_avg_fwd(X, 4, 4, (2, 2, 2, 2, 0, 0, 2, 1), True, 0)
    with pytest.raises(ValueError, match="invalid arguments"):
        _C.pool_max_fwd(X, 20, 4, (2, 2, 2, 2, 0, 0, 1, 1), False)  # empty windows
    with pytest.raises(ValueError, match="invalid arguments"):
        _C.pool_adaptive_avg_fwd(np.zeros((1, 1, 0, 3), np.float32), 2, 2)
    with pytest.raises(ValueError, match="out of range"):
        b = ind.copy()
        b[0, 0, 0, 0] = 99
        _C.pool_max_bwd(y, b, 8, 8, True)


def test_window_in_the_padding():
    """A dilated window that starts in the padding can step over a whole
    input of width 1 (taps -1 and 1): a clear ValueError, not the C
    driver's status.  (PyTorch returns -inf there, with an index outside
    the plane.)"""
    x = np.ones((1, 1, 1, 1), np.float32)
    with pytest.raises(ValueError) as ei:
        F.max_pool2d(x, (1, 2), 1, (0, 1), dilation=2)
    assert str(ei.value) == ("pooling window 0 along the width holds no input element (input "
                             "size 1, kernel_size=2, stride=1, padding=1, dilation=2): every "
                             "tap falls in the padding")
    with pytest.raises(ValueError, match="along the height holds no input"):
        F.max_pool2d(np.ones((6, 30, 20, 1), np.float32).transpose(0, 1, 3, 2), 2, 2, 1,
                     dilation=2, ceil_mode=True)
    y = F.max_pool2d(np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3), 2, 1, 1, dilation=2)
    assert y.shape == (1, 1, 3, 3) and y[0, 0, 1, 1] == 8


def test_window_check_matches_the_drivers():
    """Over small geometries the Python checks reject exactly what the C
    driver would: every call returns, or raises a worded ValueError (never
    the driver's bare status)."""
    ok = 0
    for L in (1, 2, 3, 5):
        for k in (1, 2, 3):
            for s in (1, 2, 3):
                for d in (1, 2, 3):
                    for p in range(0, ((k - 1) * d + 1) // 2 + 1):
                        for ceil in (False, True):
                            try:
                                F.max_pool2d(np.ones((1, 1, L, L), np.float32), k, s, p,
                                             dilation=d, ceil_mode=ceil)
                                ok += 1
                            except ValueError as e:
                                assert "invalid arguments" not in str(e), (L, k, s, p, d, ceil)
    assert ok > 200
