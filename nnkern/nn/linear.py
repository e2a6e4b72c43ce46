"""Fully-connected layers: Linear (alias Dense) and Identity."""
import numpy as np

from .. import functional as F
from .. import init
from .module import (Module, Parameter, _accumulate_grad, _as_input, _check_dtype, _size_arg,
                     _kernel_error, _layer_name)

__all__ = ["Linear", "Dense", "Identity"]


def _factory_dtype(dtype):
    dtype = np.dtype(np.float32 if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


class Linear(Module):
    """y = x W^T + b, as torch.nn.Linear.

    Input ``(*, in_features)``, output ``(*, out_features)``.  ``weight`` has
    shape ``(out_features, in_features)``, ``bias`` ``(out_features,)``.
    Default init as PyTorch: ``kaiming_uniform_(a=sqrt(5))`` on the weight
    (= U(-1/sqrt(in), 1/sqrt(in))) and bias ~ U(-1/sqrt(in), 1/sqrt(in)),
    drawn from ``rng`` (a ``numpy.random.Generator``, an int seed, or None
    for nnkern's default generator, see ``nnkern.init.manual_seed``).
    ``dtype`` is float32 (default) or float64.
    """

    _fresh_output = True
    _supports_input_grad = True
    _fresh_grad = True

    def __init__(self, in_features, out_features, bias=True, dtype=None, *, rng=None):
        super().__init__()
        self.in_features = _size_arg("Linear", "in_features", in_features)
        self.out_features = _size_arg("Linear", "out_features", out_features)
        if self.in_features < 0 or self.out_features < 0:
            raise ValueError(f"Linear: in_features and out_features must be >= 0, got "
                             f"{in_features} and {out_features}")
        dtype = _factory_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)
        self._x = None
        self._shape = None

    def reset_parameters(self, rng=None):
        init._default_layer_init(self.weight, self.bias, rng)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def forward(self, x):
        _as_input(self, x)
        w = self.weight.data
        if x.dtype != w.dtype:
            _check_dtype(self, x, w)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{_layer_name(self)}: expected input of shape "
                             f"(*, {self.in_features}), got {tuple(x.shape)}")
        shape = x.shape
        if x.ndim != 2:
            x = x.reshape(-1, self.in_features)
        b = self.bias
        try:
            y = F.linear(x, w, None if b is None else b.data)
        except (TypeError, ValueError) as exc:
            raise _kernel_error(self, exc, x) from exc
        d = self.__dict__  # plain cache attributes: skip Module.__setattr__
        d["_x"] = x
        d["_shape"] = shape
        if len(shape) != 2:
            y = y.reshape(shape[:-1] + (self.out_features,))
        return y

    def backward(self, grad_output, input_grad=True):
        x = self._x
        if x is None:
            raise self._no_forward()
        g = grad_output
        if g.ndim != 2:
            g = g.reshape(-1, self.out_features)
        if g.shape[0] != x.shape[0] or g.shape[1] != self.out_features:
            raise ValueError(f"{_layer_name(self)}: grad_output has shape "
                             f"{tuple(grad_output.shape)}, expected "
                             f"{self._shape[:-1] + (self.out_features,)}")
        w, b = self.weight, self.bias
        gi, gw, gb = F.linear_backward(g, x, w.data,
                                       (bool(input_grad), w.requires_grad,
                                        b is not None and b.requires_grad))
        if gw is not None:
            _accumulate_grad(w, gw)
        if gb is not None:
            _accumulate_grad(b, gb)
        if gi is not None and len(self._shape) != 2:
            gi = gi.reshape(self._shape)
        return gi


Dense = Linear


class Identity(Module):
    """Returns its input unchanged (any arguments are ignored, as torch)."""

    _supports_input_grad = True
    _fresh_grad = None

    def __init__(self, *args, **kwargs):
        super().__init__()
        self._seen = False

    def forward(self, x):
        self._seen = True
        return x

    def backward(self, grad_output, input_grad=True):
        if not self._seen:
            raise self._no_forward()
        return grad_output if input_grad else None
