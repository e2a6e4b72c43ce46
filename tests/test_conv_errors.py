"""conv2d / conv_transpose2d: every error path, with PyTorch's wording."""
import numpy as np
import pytest

import nnkern.functional as F
from nnkern import _C

X = np.zeros((2, 3, 8, 8))
W = np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(stride=0), ValueError, "non-positive stride is not supported"),
    (dict(stride=(1, -1)), ValueError, "non-positive stride is not supported"),
    (dict(padding=-1), ValueError, "negative padding is not supported"),
    (dict(padding=(0, -2)), ValueError, "negative padding is not supported"),
    (dict(dilation=0), ValueError, "non-positive dilation is not supported"),
    (dict(groups=0), ValueError, "non-positive groups is not supported"),
    (dict(groups=-2), ValueError, "non-positive groups is not supported"),
    (dict(groups=1.5), TypeError, "groups must be an int"),
    (dict(padding="same", stride=2), ValueError,
     "padding='same' is not supported for strided convolutions"),
    (dict(padding="foo"), ValueError, "Invalid padding string: 'foo'"),
    (dict(stride=(1, 2, 3)), ValueError,
     r"expected stride to be a single integer value or a list of 2 values to match the "
     r"convolution dimensions, but got stride=\[1, 2, 3\]"),
    (dict(stride=1.0), TypeError, "stride must be an int or a tuple of two ints"),
    (dict(dilation=True), TypeError, "dilation must be an int or a tuple of two ints"),
    (dict(padding=[1, "a"]), TypeError, "padding must be an int or a tuple of two ints"),
])
def test_argument_errors(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        F.conv2d(X, W, **kwargs)
    with pytest.raises(exc, match=msg):
        F.conv2d_backward(np.zeros((2, 4, 6, 6)), X, W, **kwargs)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"Given groups=1, weight of size \[4, 3, 3, 3\], "
                       r"expected input\[2, 4, 8, 8\] to have 3 channels, but got 4 "
                       r"channels instead"):
        F.conv2d(np.zeros((2, 4, 8, 8)), W)
    with pytest.raises(ValueError, match=r"Given groups=3, expected weight to be divisible "
                       r"by 3 at dimension 0, but got weight of size \[\[4, 3, 3, 3\]\] instead"):
        F.conv2d(np.zeros((2, 9, 8, 8)), W, groups=3)
    with pytest.raises(ValueError, match=r"Given groups=2, weight of size \[4, 3, 3, 3\], "
                       r"expected input\[2, 3, 8, 8\] to have 6 channels, but got 3"):
        F.conv2d(X, W, groups=2)
    with pytest.raises(ValueError, match=r"expected weight to be at least 1 at dimension 0"):
        F.conv2d(X, np.zeros((0, 3, 3, 3)))
    with pytest.raises(ValueError, match="non-positive kernel size"):
        F.conv2d(X, np.zeros((4, 3, 0, 3)))
    with pytest.raises(ValueError, match=r"Calculated padded input size per channel: \(2 x 2\)\. "
                       r"Kernel size: \(3 x 3\)\. Kernel size can't be greater than actual "
                       r"input size"):
        F.conv2d(np.zeros((2, 3, 2, 2)), W)
    with pytest.raises(ValueError, match=r"Calculated padded input size per channel: "
                       r"\(4 x 10\)\. Kernel size: \(5 x 5\)"):
        F.conv2d(np.zeros((2, 3, 2, 8)), W, padding=1, dilation=2)
    for bad in (np.zeros((8, 8)), np.zeros((1, 2, 3, 8, 8))):
        with pytest.raises(ValueError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) "
                           r"input to conv2d, but got input of size"):
            F.conv2d(bad, W)
    with pytest.raises(ValueError, match="Expected 4-dimensional weight"):
        F.conv2d(X, np.zeros((3, 3, 3)))
    for bias in (np.zeros(3), np.zeros((4, 1))):
        with pytest.raises(ValueError, match=r"Given weight of size \[4, 3, 3, 3\], expected "
                           r"bias to be 1-dimensional with 4 elements"):
            F.conv2d(X, W, bias)


def test_dtype_errors():
    with pytest.raises(TypeError, match=r"Input type \(float\) and weight type \(double\) "
                       r"should be the same"):
        F.conv2d(X.astype(np.float32), W)
    with pytest.raises(TypeError, match=r"Input type \(double\) and bias type \(float\)"):
        F.conv2d(X, W, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="float32 and float64"):
        F.conv2d(X.astype(np.int32), W)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.conv2d(X.astype(np.float16), W.astype(np.float16))
    with pytest.raises(TypeError, match="must be a numpy.ndarray"):
        F.conv2d("x", W)
    with pytest.raises(TypeError, match=r"grad_output type \(float\)"):
        F.conv2d_backward(np.zeros((2, 4, 6, 6), np.float32), X, W)


def test_backward_errors():
    with pytest.raises(ValueError, match=r"Expected grad_output of size \[2, 4, 6, 6\], but "
                       r"got grad_output of size \[2, 4, 6, 5\]"):
        F.conv2d_backward(np.zeros((2, 4, 6, 5)), X, W)
    with pytest.raises(ValueError, match="output_mask must have 3 entries"):
        F.conv2d_backward(np.zeros((2, 4, 6, 6)), X, W, output_mask=(True, True))


def test_transpose_errors():
    x = np.zeros((2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"Given transposed=1, weight of size \[4, 3, 3, 3\], "
                       r"expected input\[2, 3, 8, 8\] to have 4 channels, but got 3"):
        F.conv_transpose2d(X, W)
    with pytest.raises(ValueError, match="output padding must be smaller than either stride "
                       "or dilation, but got output_padding_height: 1 output_padding_width: 1 "
                       "stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1"):
        F.conv_transpose2d(x, W, output_padding=1)
    with pytest.raises(ValueError, match="negative output_padding is not supported"):
        F.conv_transpose2d(x, W, output_padding=-1)
    with pytest.raises(ValueError, match=r"Given input size per channel: \(1 x 1\)\. "
                       r"Calculated output size per channel: \(-1 x -1\)\. Output size is too small"):
        F.conv_transpose2d(np.zeros((2, 4, 1, 1)), W, padding=2)
    with pytest.raises(TypeError, match="argument 'padding' must be tuple of ints, not str"):
        F.conv_transpose2d(x, W, padding="same")
    with pytest.raises(ValueError, match=r"Given transposed=1, weight of size \[4, 3, 3, 3\], "
                       r"expected bias to be 1-dimensional with 3 elements"):
        F.conv_transpose2d(x, W, np.zeros(4))
    with pytest.raises(ValueError, match="divisible by 3 at dimension 0"):
        F.conv_transpose2d(x, W, groups=3)
    with pytest.raises(ValueError, match="non-positive stride is not supported"):
        F.conv_transpose2d(x, W, stride=0)
    with pytest.raises(ValueError, match=r"Expected grad_output of size \[2, 3, 7, 7\]"):
        F.conv_transpose2d_backward(np.zeros((2, 3, 7, 8)), x, W)


def test_binding_rejects_bad_buffers():
    """The low-level binding never lets C write out of bounds."""
    x = np.zeros((1, 3, 8, 8))
    w = np.zeros((4, 3, 3, 3))
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.conv2d_fwd(np.zeros((1, 8, 8, 3)).transpose(0, 3, 1, 2), w, None, (1, 1), (0, 0),
                      (1, 1), 1, 6, 6)
    with pytest.raises(TypeError):
        _C.conv2d_fwd(x, w.astype(np.float32), None, (1, 1), (0, 0), (1, 1), 1, 6, 6)
    with pytest.raises(ValueError, match="4-D"):
        _C.conv2d_fwd(x[0], w, None, (1, 1), (0, 0), (1, 1), 1, 6, 6)
    with pytest.raises(ValueError, match="weight.shape"):
        _C.conv2d_fwd(x, np.zeros((4, 2, 3, 3)), None, (1, 1), (0, 0), (1, 1), 1, 6, 6)
    with pytest.raises(ValueError, match="bias"):
        _C.conv2d_fwd(x, w, np.zeros(3), (1, 1), (0, 0), (1, 1), 1, 6, 6)
    with pytest.raises(ValueError, match="invalid arguments"):
        _C.conv2d_fwd(x, w, None, (0, 1), (0, 0), (1, 1), 1, 6, 6)
    with pytest.raises(ValueError, match="invalid arguments"):
        _C.conv2d_fwd(x, w, None, (1, 1), (0, 0), (1, 1), 1, -1, 6)
    with pytest.raises(ValueError, match="overflow"):
        _C.conv2d_fwd(x, w, None, (1, 1), (0, 0), (1, 1), 1, 2**40, 2**40)
    with pytest.raises(ValueError, match="weight.shape"):
        _C.conv2d_bwd_data(np.zeros((1, 5, 6, 6)), w, 8, 8, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="batch sizes differ"):
        _C.conv2d_bwd_weight(np.zeros((2, 4, 6, 6)), x, 3, 3, (1, 1), (0, 0), (1, 1), 1)
