"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh (C kernels).

Each caches one array for its backward: the output (ReLU, Sigmoid, Tanh)
or the input (LeakyReLU).  Inside a Sequential, activations run in place
on a fresh output of the layer before them (Linear, Conv2d, pooling, ...),
which nothing else references, and their backward passes write into a
gradient made by the layer after them: no allocation, one pass over memory.
Called on their own (outside a Sequential) they never overwrite anything,
unless constructed with ``inplace=True`` (ReLU, LeakyReLU), as in PyTorch.
"""
import numbers

import numpy as np

from .. import _C
from .. import functional as F
from .module import Module, _as_input, _layer_name

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh"]


def _inplace_ok(x):
    """x can be handed to a C kernel as its own output."""
    return (type(x) is np.ndarray and x.flags.c_contiguous and x.flags.aligned
            and x.flags.writeable and x.dtype.isnative)


class _Act(Module):
    """Element-wise activation.  Subclasses provide the functional forward
    and backward (``_functional``, ``_functional_backward``) and the raw C
    calls used in place (``_kernel_forward``, ``_kernel_backward``)."""

    _can_inplace = True
    _supports_input_grad = True
    _fresh_grad = True
    inplace = False

    def __init__(self):
        super().__init__()
        self._t = None  # what backward needs (output or input)

    def _allow_inplace(self):
        return True

    def _saved(self, x, y):
        return y

    def forward(self, x):
        return self._run(x, self.inplace)

    def _forward_inplace(self, x):
        return self._run(x, True)

    def _run(self, x, inplace):
        _as_input(self, x)
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{_layer_name(self)}: input has dtype {x.dtype}; nnkern supports "
                            f"float32 and float64 only")
        inplace = inplace and self._allow_inplace()
        if inplace and _inplace_ok(x):
            self._kernel_forward(x, x)
            y = x
        else:
            y = self._functional(x, inplace)
        self.__dict__["_t"] = self._saved(x, y) if y is not x else y
        return y

    def backward(self, grad_output, input_grad=True):
        t = self._t
        if t is None:
            raise self._no_forward()
        if not input_grad:
            return None
        if grad_output.shape != t.shape:
            raise ValueError(f"{_layer_name(self)}: grad_output has shape "
                             f"{tuple(grad_output.shape)}, expected {tuple(t.shape)} (the "
                             f"forward output's shape)")
        return self._functional_backward(grad_output, t)

    def _backward_inplace(self, g):
        """Backward writing into grad_output (Sequential passes a gradient it
        owns: made by the layer after this one, referenced nowhere else)."""
        t = self._t
        if t is None:
            raise self._no_forward()
        if (type(g) is np.ndarray and g.dtype == t.dtype and g.shape == t.shape
                and _inplace_ok(g) and t.flags.c_contiguous and t.dtype.isnative
                and not np.may_share_memory(g, t)):
            self._kernel_backward(g, t, g)
            return g
        return self.backward(g)


class ReLU(_Act):
    """max(x, 0) element-wise (NaN propagates); any shape."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""

    def _functional(self, x, inplace):
        return F.relu(x, inplace=inplace)

    def _functional_backward(self, g, t):
        return F.relu_backward(g, t)

    def _kernel_forward(self, x, out):
        _C.act_relu_forward(x, out)

    def _kernel_backward(self, g, t, out):
        _C.act_relu_backward(g, t, out)


class LeakyReLU(_Act):
    """x where x > 0, else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
            raise TypeError(f"LeakyReLU: negative_slope must be a real number, "
                            f"got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.inplace = bool(inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")

    def _allow_inplace(self):
        # In place, the output replaces the input; with a positive slope its
        # sign is the input's sign, which is all that backward looks at.
        return self.negative_slope > 0

    def _saved(self, x, y):
        return x

    def _functional(self, x, inplace):
        return F.leaky_relu(x, self.negative_slope, inplace=inplace)

    def _functional_backward(self, g, t):
        return F.leaky_relu_backward(g, t, self.negative_slope)

    def _kernel_forward(self, x, out):
        _C.act_leaky_relu_forward(x, out, self.negative_slope)

    def _kernel_backward(self, g, t, out):
        _C.act_leaky_relu_backward(g, t, out, self.negative_slope)


class Sigmoid(_Act):
    """1 / (1 + exp(-x)) element-wise."""

    def _functional(self, x, inplace):
        return F.sigmoid(x)

    def _functional_backward(self, g, t):
        return F.sigmoid_backward(g, t)

    def _kernel_forward(self, x, out):
        _C.act_sigmoid_forward(x, out)

    def _kernel_backward(self, g, t, out):
        _C.act_sigmoid_backward(g, t, out)


class Tanh(_Act):
    """tanh(x) element-wise."""

    def _functional(self, x, inplace):
        return F.tanh(x)

    def _functional_backward(self, g, t):
        return F.tanh_backward(g, t)

    def _kernel_forward(self, x, out):
        _C.act_tanh_forward(x, out)

    def _kernel_backward(self, g, t, out):
        _C.act_tanh_backward(g, t, out)
