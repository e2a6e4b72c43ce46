"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh (C kernels).

Each caches one array for its backward: the output (ReLU, Sigmoid, Tanh)
or the input (LeakyReLU).  Inside a Sequential, ReLU and LeakyReLU run in
place on a fresh output of the layer before them (Linear, Conv2d, pooling,
...), which nothing else references, saving an allocation and a pass over
memory.
"""
import numbers

import numpy as np

from .. import functional as F
from .module import Module, _as_input, _layer_name

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh"]


def _check_grad(module, g, ref):
    if g.shape != ref.shape:
        raise ValueError(f"{_layer_name(module)}: grad_output has shape {tuple(g.shape)}, "
                         f"expected {tuple(ref.shape)} (the forward output's shape)")


class _Act(Module):
    _can_inplace = True

    def __init__(self):
        super().__init__()
        self._t = None  # what backward needs (output or input)

    def _check(self, x):
        _as_input(self, x)
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{_layer_name(self)}: input has dtype {x.dtype}; nnkern supports "
                            f"float32 and float64 only")


class ReLU(_Act):
    """max(x, 0) element-wise (NaN propagates); any shape."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""

    def forward(self, x):
        self._check(x)
        y = F.relu(x, inplace=self.inplace)
        self._t = y
        return y

    def _forward_inplace(self, x):
        self._check(x)
        y = F.relu(x, inplace=True)
        self._t = y
        return y

    def backward(self, grad_output):
        if self._t is None:
            raise self._no_forward()
        _check_grad(self, grad_output, self._t)
        return F.relu_backward(grad_output, self._t)


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

    def forward(self, x):
        return self._run(x, self.inplace)

    def _forward_inplace(self, x):
        return self._run(x, True)

    def _run(self, x, inplace):
        self._check(x)
        if inplace and self.negative_slope <= 0:
            inplace = False  # the sign of x must survive for backward
        y = F.leaky_relu(x, self.negative_slope, inplace=inplace)
        # In place, y overwrote x; with a positive slope its sign is x's sign,
        # which is all that backward looks at.
        self._t = y if inplace else x
        return y

    def backward(self, grad_output):
        if self._t is None:
            raise self._no_forward()
        _check_grad(self, grad_output, self._t)
        return F.leaky_relu_backward(grad_output, self._t, self.negative_slope)


class Sigmoid(_Act):
    """1 / (1 + exp(-x)) element-wise."""

    _can_inplace = False

    def forward(self, x):
        self._check(x)
        y = F.sigmoid(x)
        self._t = y
        return y

    def backward(self, grad_output):
        if self._t is None:
            raise self._no_forward()
        _check_grad(self, grad_output, self._t)
        return F.sigmoid_backward(grad_output, self._t)


class Tanh(_Act):
    """tanh(x) element-wise."""

    _can_inplace = False

    def forward(self, x):
        self._check(x)
        y = F.tanh(x)
        self._t = y
        return y

    def backward(self, grad_output):
        if self._t is None:
            raise self._no_forward()
        _check_grad(self, grad_output, self._t)
        return F.tanh_backward(grad_output, self._t)
