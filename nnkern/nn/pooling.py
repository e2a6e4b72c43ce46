"""Pooling layers: MaxPool2d and AvgPool2d (C kernels, NCHW)."""
import numpy as np

from .. import functional as F
from .._validate import pair
from .module import Module, _as_input, _kernel_error, _layer_name

__all__ = ["MaxPool2d", "AvgPool2d"]


class _Pool2d(Module):
    _fresh_output = True

    def _input(self, x):
        _as_input(self, x)
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{_layer_name(self)}: input has dtype {x.dtype}; nnkern supports "
                            f"float32 and float64 only")
        if x.ndim == 3:
            return x[None], True
        if x.ndim != 4:
            raise ValueError(f"{_layer_name(self)}: expected a 3-D (C, H, W) or 4-D "
                             f"(N, C, H, W) input, got shape {tuple(x.shape)}")
        return x, False

    def _grad(self, grad_output):
        if self._in_shape is None:
            raise self._no_forward()
        g = grad_output
        if self._unbatched and g.ndim == 3:
            g = g[None]
        if g.shape != self._out_shape:
            raise ValueError(f"{_layer_name(self)}: grad_output has shape "
                             f"{tuple(grad_output.shape)}, expected {self._out_shape}")
        return g


class MaxPool2d(_Pool2d):
    """Max pooling as torch.nn.MaxPool2d: output
    ``H_out = floor((H + 2*padding - dilation*(k-1) - 1) / stride) + 1``
    (ceil with ``ceil_mode``); ``stride`` defaults to ``kernel_size``.
    Caches the argmax indices for backward (in training mode; eval mode
    skips them unless ``return_indices``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.dilation = pair(dilation, "dilation")
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)
        self._in_shape = None
        self._idx = None

    def extra_repr(self):
        def one(p):
            return p[0] if p[0] == p[1] else p
        return (f"kernel_size={one(self.kernel_size)}, stride={one(self.stride)}, "
                f"padding={one(self.padding)}, dilation={one(self.dilation)}, "
                f"ceil_mode={self.ceil_mode}")

    def forward(self, x):
        x, unbatched = self._input(x)
        need = self.training or self.return_indices
        try:
            r = F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                             self.ceil_mode, need)
        except (TypeError, ValueError) as exc:
            raise _kernel_error(self, exc, x) from exc
        y, idx = r if need else (r, None)
        self._idx = idx
        self._in_shape = x.shape
        self._unbatched = unbatched
        self._out_shape = y.shape
        if unbatched:
            y = y[0]
            idx = None if idx is None else idx[0]
        return (y, idx) if self.return_indices else y

    def backward(self, grad_output):
        g = self._grad(grad_output)
        if self._idx is None:
            raise RuntimeError(f"{_layer_name(self)}: backward() needs a forward pass in "
                               f"training mode (eval mode does not keep the argmax "
                               f"indices); call .train()")
        gi = F.max_pool2d_backward(g, self._idx, self._in_shape)
        return gi[0] if self._unbatched else gi


class AvgPool2d(_Pool2d):
    """Average pooling as torch.nn.AvgPool2d (output size as MaxPool2d with
    dilation 1).  Backward needs only the input shape."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override
        self._in_shape = None

    def extra_repr(self):
        def one(p):
            return p[0] if p[0] == p[1] else p
        return (f"kernel_size={one(self.kernel_size)}, stride={one(self.stride)}, "
                f"padding={one(self.padding)}")

    def forward(self, x):
        x, unbatched = self._input(x)
        try:
            y = F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override)
        except (TypeError, ValueError) as exc:
            raise _kernel_error(self, exc, x) from exc
        self._in_shape = x.shape
        self._unbatched = unbatched
        self._out_shape = y.shape
        return y[0] if unbatched else y

    def backward(self, grad_output):
        g = self._grad(grad_output)
        gi = F.avg_pool2d_backward(g, self._in_shape, self.kernel_size, self.stride,
                                   self.padding, self.ceil_mode, self.count_include_pad,
                                   self.divisor_override)
        return gi[0] if self._unbatched else gi
