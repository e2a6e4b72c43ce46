"""Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (C kernels, NCHW)."""
import numpy as np

from .. import functional as F
from .._validate import pair
from .module import _NCHWModule, _kernel_error, _layer_name

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class _Pool2d(_NCHWModule):
    _fresh_output = True
    _supports_input_grad = True
    _fresh_grad = True

    def _input(self, x):
        x, unbatched = self._nchw(x)
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{_layer_name(self)}: input has dtype {x.dtype}; nnkern supports "
                            f"float32 and float64 only")
        return x, unbatched

    def _run(self, x, kernel):
        """(x as NCHW, unbatched, kernel(x)); a kernel error names the layer."""
        x, unbatched = self._input(x)
        try:
            return x, unbatched, kernel(x)
        except (TypeError, ValueError) as exc:
            raise _kernel_error(self, exc, x) from exc

    @staticmethod
    def _one(p):
        return p[0] if p[0] == p[1] else p

    def _set_window(self, kernel_size, stride, padding, ceil_mode):
        """kernel_size/stride/padding as pairs (stride defaults to the kernel)."""
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.ceil_mode = bool(ceil_mode)

    def _window_repr(self):
        one = self._one
        return (f"kernel_size={one(self.kernel_size)}, stride={one(self.stride)}, "
                f"padding={one(self.padding)}")


class MaxPool2d(_Pool2d):
    """Max pooling as torch.nn.MaxPool2d: output
    ``H_out = floor((H + 2*padding - dilation*(k-1) - 1) / stride) + 1``
    (ceil with ``ceil_mode``); ``stride`` defaults to ``kernel_size``.
    Caches the argmax indices for backward (in training mode; eval mode
    skips them unless ``return_indices``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self._set_window(kernel_size, stride, padding, ceil_mode)
        self.dilation = pair(dilation, "dilation")
        self.return_indices = bool(return_indices)
        self._in_shape = None
        self._idx = None

    def extra_repr(self):
        return (f"{self._window_repr()}, dilation={self._one(self.dilation)}, "
                f"ceil_mode={self.ceil_mode}")

    def forward(self, x):
        need = self.training or self.return_indices
        x, unbatched, r = self._run(x, lambda t: F.max_pool2d(
            t, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, need))
        y, idx = r if need else (r, None)
        d = self.__dict__  # plain cache attributes: skip Module.__setattr__
        d["_idx"] = idx
        d["_in_shape"] = x.shape
        y = self._cache_shapes(unbatched, y)
        if unbatched and idx is not None:
            idx = idx[0]
        return (y, idx) if self.return_indices else y

    def backward(self, grad_output, input_grad=True):
        g = self._nchw_grad(grad_output)
        if not input_grad:
            return None
        if self._idx is None:
            raise RuntimeError(f"{_layer_name(self)}: backward() needs a forward pass in "
                               f"training mode (eval mode does not keep the argmax "
                               f"indices); call .train()")
        return self._unbatch(F.max_pool2d_backward(g, self._idx, self._in_shape))


class AvgPool2d(_Pool2d):
    """Average pooling as torch.nn.AvgPool2d (output size as MaxPool2d with
    dilation 1).  Backward needs only the input shape."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self._set_window(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override
        self._in_shape = None

    def extra_repr(self):
        return self._window_repr()

    def forward(self, x):
        x, unbatched, y = self._run(x, lambda t: F.avg_pool2d(
            t, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override))
        self.__dict__["_in_shape"] = x.shape
        return self._cache_shapes(unbatched, y)

    def backward(self, grad_output, input_grad=True):
        g = self._nchw_grad(grad_output)
        if not input_grad:
            return None
        return self._unbatch(F.avg_pool2d_backward(
            g, self._in_shape, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override))


class AdaptiveAvgPool2d(_Pool2d):
    """Adaptive average pooling to a fixed ``output_size`` (an int, or a
    pair whose None entries keep the input size), as
    torch.nn.AdaptiveAvgPool2d; output cell ``(i, j)`` averages input rows
    ``[floor(i*H/OH), ceil((i+1)*H/OH))`` and likewise columns.
    ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size
        self._in_shape = None

    def extra_repr(self):
        return f"output_size={self.output_size}"

    def forward(self, x):
        x, unbatched, y = self._run(x, lambda t: F.adaptive_avg_pool2d(t, self.output_size))
        self.__dict__["_in_shape"] = x.shape
        return self._cache_shapes(unbatched, y)

    def backward(self, grad_output, input_grad=True):
        g = self._nchw_grad(grad_output)
        if not input_grad:
            return None
        return self._unbatch(F.adaptive_avg_pool2d_backward(g, self._in_shape))
