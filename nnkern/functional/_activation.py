"""Activations (torch.nn.functional names and arguments) and their backward
passes.  Element-wise, any shape; float32 and float64.

``relu``/``leaky_relu`` take ``inplace=True`` to overwrite their input (worth
it on a fresh GEMM/conv output); relu propagates NaN, as PyTorch does.
Backward passes follow PyTorch's formulas:

* ``relu_backward(g, y)``            = g where y > 0, else 0 (y is relu's output)
* ``leaky_relu_backward(g, x, s)``   = g where x > 0, else s * g
* ``sigmoid_backward(g, y)``         = g * y * (1 - y)   (y = sigmoid(x))
* ``tanh_backward(g, y)``            = g * (1 - y * y)   (y = tanh(x))
"""
import numbers

import numpy as np

from .. import _C
from .._validate import as_float_array, c_contig, common_dtype

__all__ = ["relu", "relu_", "leaky_relu", "leaky_relu_", "sigmoid", "tanh",
           "relu_backward", "leaky_relu_backward", "sigmoid_backward", "tanh_backward"]


def _unary(x, name, inplace):
    x = as_float_array(x, name)
    if inplace:
        if not x.flags.writeable:
            raise ValueError(f"{name}: inplace=True needs a writeable array")
        if x.flags.c_contiguous and x.flags.aligned and x.dtype.isnative:
            return x, x
        # Non-contiguous target: compute into a contiguous copy, write back.
        return c_contig(x), x
    return c_contig(x), None


def _finish(out, target):
    if target is not None and target is not out:
        target[...] = out
        return target
    return out


def relu(input, inplace=False):
    """max(input, 0) element-wise; NaN stays NaN.  Output shape = input shape."""
    x, target = _unary(input, "relu", inplace)
    out = x if target is not None else np.empty_like(x)
    _C.act_relu_forward(x, out)
    return _finish(out, target)


def relu_(input):
    return relu(input, inplace=True)


def _slope(negative_slope):
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"negative_slope must be a real number, got {negative_slope!r}")
    return float(negative_slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where input > 0, else negative_slope * input."""
    s = _slope(negative_slope)
    x, target = _unary(input, "leaky_relu", inplace)
    out = x if target is not None else np.empty_like(x)
    _C.act_leaky_relu_forward(x, out, s)
    return _finish(out, target)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def sigmoid(input):
    """1 / (1 + exp(-input)) element-wise."""
    x, _ = _unary(input, "sigmoid", False)
    out = np.empty_like(x)
    _C.act_sigmoid_forward(x, out)
    return out


def tanh(input):
    """tanh(input) element-wise."""
    x, _ = _unary(input, "tanh", False)
    out = np.empty_like(x)
    _C.act_tanh_forward(x, out)
    return out


def _pair(grad_output, other, name, other_name):
    g = as_float_array(grad_output, "grad_output")
    o = as_float_array(other, other_name)
    common_dtype(("grad_output", g), (other_name, o))
    if g.shape != o.shape:
        raise ValueError(f"{name}: grad_output shape {g.shape} does not match "
                         f"{other_name} shape {o.shape}")
    return c_contig(g), c_contig(o)


def relu_backward(grad_output, output):
    """Gradient of relu: grad_output where output > 0, else 0 (as PyTorch's
    threshold_backward: NaN outputs pass the gradient through)."""
    g, y = _pair(grad_output, output, "relu_backward", "output")
    gi = np.empty_like(g)
    _C.act_relu_backward(g, y, gi)
    return gi


def leaky_relu_backward(grad_output, input, negative_slope=0.01):
    """Gradient of leaky_relu: grad_output where input > 0, else
    negative_slope * grad_output."""
    s = _slope(negative_slope)
    g, x = _pair(grad_output, input, "leaky_relu_backward", "input")
    gi = np.empty_like(g)
    _C.act_leaky_relu_backward(g, x, gi, s)
    return gi


def sigmoid_backward(grad_output, output):
    """Gradient of sigmoid from its output y: grad_output * y * (1 - y)."""
    g, y = _pair(grad_output, output, "sigmoid_backward", "output")
    gi = np.empty_like(g)
    _C.act_sigmoid_backward(g, y, gi)
    return gi


def tanh_backward(grad_output, output):
    """Gradient of tanh from its output y: grad_output * (1 - y * y)."""
    g, y = _pair(grad_output, output, "tanh_backward", "output")
    gi = np.empty_like(g)
    _C.act_tanh_backward(g, y, gi)
    return gi
