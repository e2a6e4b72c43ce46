"""Convolution layers: Conv2d and ConvTranspose2d (C kernels, NCHW)."""
import numpy as np

from .. import functional as F
from .. import init
from .._validate import pair
from .linear import _factory_dtype
from .module import (Parameter, _NCHWModule, _accumulate_grad, _check_dtype, _kernel_error,
                     _layer_name, _size_arg)

__all__ = ["Conv2d", "ConvTranspose2d"]


class _ConvNd(_NCHWModule):
    _fresh_output = True
    _supports_input_grad = True
    _fresh_grad = True
    _transposed = False

    def _setup(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
               bias, padding_mode, dtype, rng):
        name = type(self).__name__
        self.in_channels = _size_arg(name, "in_channels", in_channels)
        self.out_channels = _size_arg(name, "out_channels", out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.dilation = pair(dilation, "dilation")
        self.groups = _size_arg(name, "groups", groups)
        if self.groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer")
        if self.in_channels % self.groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups")
        if self.out_channels % self.groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups")
        if min(self.kernel_size) <= 0 or min(self.stride) <= 0 or min(self.dilation) <= 0:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be positive")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: padding_mode {padding_mode!r} is not supported; "
                             f"nnkern implements 'zeros'")
        self.padding_mode = padding_mode
        self.padding = pair(padding, "padding")
        dtype = _factory_dtype(dtype)
        kh, kw = self.kernel_size
        if self._transposed:   # torch's layouts
            wshape = (self.in_channels, self.out_channels // self.groups, kh, kw)
        else:
            wshape = (self.out_channels, self.in_channels // self.groups, kh, kw)
        self.weight = Parameter(np.empty(wshape, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)
        self._x = None

    def reset_parameters(self, rng=None):
        init._default_layer_init(self.weight, self.bias, rng)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def _input(self, x):
        x, unbatched = self._nchw(x)
        w = self.weight.data
        if x.dtype != w.dtype:
            _check_dtype(self, x, w)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{_layer_name(self)}: expected input with {self.in_channels} "
                             f"channels, got shape {tuple(x.shape)}")
        return x, unbatched

    def _mask(self, input_grad):
        w, b = self.weight, self.bias
        return (bool(input_grad), w.requires_grad, b is not None and b.requires_grad)

    def _accumulate(self, gw, gb):
        if gw is not None:
            _accumulate_grad(self.weight, gw)
        if gb is not None:
            _accumulate_grad(self.bias, gb)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) as torch.nn.Conv2d.

    Input ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``), weight
    ``(C_out, C_in/groups, kH, kW)``, bias ``(C_out,)``, output
    ``(N, C_out, H_out, W_out)`` with
    ``H_out = floor((H + 2*padding - dilation*(kH-1) - 1) / stride) + 1``.
    ``padding`` may be an int, a pair, 'valid' (0) or 'same' (stride 1 and
    an even total padding ``dilation*(k-1)``).  Default init as PyTorch,
    drawn from ``rng``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=None, *,
                 rng=None):
        super().__init__()
        if isinstance(padding, str):
            padding = self._string_padding(padding, pair(kernel_size, "kernel_size"),
                                           pair(stride, "stride"), pair(dilation, "dilation"))
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, padding_mode, dtype, rng)

    @staticmethod
    def _string_padding(padding, kernel_size, stride, dilation):
        if padding == "valid":
            return 0
        if padding != "same":
            raise ValueError(f"Conv2d: invalid padding string {padding!r}, should be one of "
                             f"{{'valid', 'same'}}")
        if stride != (1, 1):
            raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
        tot = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
        if any(t % 2 for t in tot):
            raise ValueError("Conv2d: padding='same' needs an even total padding "
                             "dilation*(kernel_size-1) in nnkern")
        return (tot[0] // 2, tot[1] // 2)

    def forward(self, x):
        x, unbatched = self._input(x)
        b = self.bias
        try:
            y = F.conv2d(x, self.weight.data, None if b is None else b.data, self.stride,
                         self.padding, self.dilation, self.groups)
        except (TypeError, ValueError) as exc:
            raise _kernel_error(self, exc, x) from exc
        self.__dict__["_x"] = x
        return self._cache_shapes(unbatched, y)

    def backward(self, grad_output, input_grad=True):
        g = self._nchw_grad(grad_output)
        gi, gw, gb = F.conv2d_backward(g, self._x, self.weight.data, self.stride, self.padding,
                                       self.dilation, self.groups, self._mask(input_grad))
        self._accumulate(gw, gb)
        return self._unbatch(gi)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution as torch.nn.ConvTranspose2d (the forward
    is the convolution's backward-data), for convolutional decoders.

    Input ``(N, C_in, H, W)``, weight ``(C_in, C_out/groups, kH, kW)``,
    bias ``(C_out,)``, output ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H-1)*stride - 2*padding + dilation*(kH-1) + output_padding + 1``.
    ``forward(x, output_size=None)``: an ``output_size`` picks the
    output_padding that reaches it, as PyTorch.  Default init as PyTorch
    (its fan-in comes from ``weight.shape[1] * kH * kW``).
    """

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=None, *, rng=None):
        super().__init__()
        self.output_padding = pair(output_padding, "output_padding")
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, padding_mode, dtype, rng)

    def _output_padding(self, x, output_size):
        if output_size is None:
            return self.output_padding
        size = tuple(int(s) for s in output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"{_layer_name(self)}: output_size must have 2 or more "
                             f"elements, got {output_size}")
        op = []
        for d in range(2):
            n = x.shape[2 + d]
            lo = ((n - 1) * self.stride[d] - 2 * self.padding[d]
                  + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            hi = lo + self.stride[d] - 1
            if not lo <= size[d] <= hi:
                raise ValueError(f"{_layer_name(self)}: requested an output size of {size}, "
                                 f"but valid sizes range from {lo} to {hi} (for an input "
                                 f"of shape {tuple(x.shape)})")
            op.append(size[d] - lo)
        return tuple(op)

    def forward(self, x, output_size=None):
        x, unbatched = self._input(x)
        op = self._output_padding(x, output_size)
        b = self.bias
        try:
            y = F.conv_transpose2d(x, self.weight.data, None if b is None else b.data,
                                   self.stride, self.padding, op, self.groups, self.dilation)
        except (TypeError, ValueError) as exc:
            raise _kernel_error(self, exc, x) from exc
        d = self.__dict__
        d["_x"] = x
        d["_op"] = op
        return self._cache_shapes(unbatched, y)

    def backward(self, grad_output, input_grad=True):
        g = self._nchw_grad(grad_output)
        gi, gw, gb = F.conv_transpose2d_backward(g, self._x, self.weight.data, self.stride,
                                                 self.padding, self._op, self.groups,
                                                 self.dilation, self._mask(input_grad))
        self._accumulate(gw, gb)
        return self._unbatch(gi)
