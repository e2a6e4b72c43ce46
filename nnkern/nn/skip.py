"""Skip connections: Residual (additive) and Concat (concatenating)."""
import numpy as np

from .module import Module, _as_input, _layer_name, _size_arg

__all__ = ["Residual", "Concat"]


def _backward_no_input(module, g):
    """Parameter gradients only: skip the input gradient where supported."""
    if module._supports_input_grad:
        module.backward(g, input_grad=False)
    else:
        module.backward(g)


class Residual(Module):
    """Additive skip connection: ``Residual(block, shortcut=None)(x) = block(x) + J(x)``.

    ``J`` is

    * ``shortcut(x)`` when a shortcut module is given (for example a 1x1
      ``Conv2d`` projection, or a ``Linear``);
    * the identity when ``block(x)`` has the shape of ``x``;
    * the zero embedding when the block's output has *more* features
      (dimension 1: features of ``(N, F)`` or channels of ``(N, C, H, W)``)
      and otherwise the same shape: ``J(x) = [x, 0, ..., 0]`` along
      dimension 1 -- the seed's identity-embedding matrix ``J = [I; 0]``.

    Backward sends the gradient down both paths and adds them
    (``J^T g`` keeps the first features of ``g``).

    Where the connection lands follows from composition.  **Post-activation**
    (the original ResNet: add, then activate)::

        Sequential(Residual(Sequential(Linear(64, 64), ReLU(), Linear(64, 64))),
                   ReLU())

    computes ``relu(x + W2 relu(W1 x))``.  **Pre-activation** (He et al.
    2016: the skip path stays free of nonlinearities)::

        Residual(Sequential(ReLU(), Linear(64, 64), ReLU(), Linear(64, 64)))

    computes ``x + W2 relu(W1 relu(x))``.  A widening block without a
    shortcut uses the zero embedding::

        Residual(Sequential(Linear(4, 8), ReLU()))   # x (N, 4) -> (N, 8)

    and a strided or narrowing block needs a projection::

        Residual(Sequential(Conv2d(16, 32, 3, stride=2, padding=1), ReLU(),
                            Conv2d(32, 32, 3, padding=1)),
                 shortcut=Conv2d(16, 32, 1, stride=2))
    """

    _fresh_output = True
    _supports_input_grad = True
    _fresh_grad = True

    def __init__(self, block, shortcut=None):
        super().__init__()
        if not isinstance(block, Module):
            raise TypeError(f"Residual: block must be a Module, got {type(block).__name__}")
        if shortcut is not None and not isinstance(shortcut, Module):
            raise TypeError(f"Residual: shortcut must be a Module or None, "
                            f"got {type(shortcut).__name__}")
        self.block = block
        if shortcut is not None:
            self.shortcut = shortcut
        else:
            self.shortcut = None
        self._mode = None

    def forward(self, x):
        _as_input(self, x)
        y = self.block(x)
        sc = self._modules.get("shortcut")
        if sc is not None:
            s = sc(x)
            if s.shape != y.shape:
                raise ValueError(f"Residual: block output shape {tuple(y.shape)} and shortcut "
                                 f"output shape {tuple(s.shape)} differ (input shape "
                                 f"{tuple(x.shape)})")
            self._mode = ("shortcut", None)
            return y + s
        if y.shape == x.shape:
            self._mode = ("identity", None)
            return y + x
        if (y.ndim == x.ndim and y.ndim >= 2 and y.shape[0] == x.shape[0]
                and y.shape[2:] == x.shape[2:] and y.shape[1] > x.shape[1]):
            c = x.shape[1]
            out = y.copy()
            out[:, :c] += x
            self._mode = ("embed", c)
            return out
        raise ValueError(
            f"Residual: cannot add the block output of shape {tuple(y.shape)} to the input of "
            f"shape {tuple(x.shape)}; the identity embedding needs the same batch and spatial "
            f"sizes and at least as many features (dimension 1) -- pass a shortcut module "
            f"(e.g. a 1x1 Conv2d or a Linear projection)")

    def backward(self, grad_output, input_grad=True):
        if self._mode is None:
            raise self._no_forward()
        kind, c = self._mode
        g = grad_output
        if not input_grad:
            _backward_no_input(self.block, g)
            if kind == "shortcut":
                _backward_no_input(self._modules["shortcut"], g)
            return None
        gb = self.block.backward(g)
        if kind == "shortcut":
            return gb + self._modules["shortcut"].backward(g)
        if kind == "identity":
            return gb + g
        return gb + g[:, :c]


class Concat(Module):
    """Concatenating skip connection (U-Net style):
    ``Concat(block, dim=1)(x) = concatenate([x, block(x)], dim)``.

    With ``x`` of shape ``(N, C, H, W)`` and ``block(x)`` of shape
    ``(N, C2, H, W)`` the output is ``(N, C + C2, H, W)``.  Backward splits
    the gradient: the first part goes straight to ``x``, the rest through the
    block, and the two are added.
    """

    _fresh_output = True
    _supports_input_grad = True
    _fresh_grad = True

    def __init__(self, block, dim=1):
        super().__init__()
        if not isinstance(block, Module):
            raise TypeError(f"Concat: block must be a Module, got {type(block).__name__}")
        self.block = block
        self.dim = _size_arg("Concat", "dim", dim)
        self._cache = None

    def extra_repr(self):
        return f"dim={self.dim}"

    def forward(self, x):
        _as_input(self, x)
        y = self.block(x)
        if y.ndim != x.ndim:
            raise ValueError(f"{_layer_name(self)}: block output shape {tuple(y.shape)} and "
                             f"input shape {tuple(x.shape)} have different ranks")
        d = self.dim % x.ndim if -x.ndim <= self.dim < x.ndim else None
        if d is None:
            raise ValueError(f"{_layer_name(self)}: dim {self.dim} is out of range for input "
                             f"shape {tuple(x.shape)}")
        if x.shape[:d] + x.shape[d + 1:] != y.shape[:d] + y.shape[d + 1:]:
            raise ValueError(f"{_layer_name(self)}: cannot concatenate input of shape "
                             f"{tuple(x.shape)} with block output of shape {tuple(y.shape)} "
                             f"along dim {self.dim}")
        if y.dtype != x.dtype:
            raise TypeError(f"{_layer_name(self)}: block output dtype {y.dtype} differs from "
                            f"input dtype {x.dtype}")
        self._cache = (d, x.shape[d], x.shape[d] + y.shape[d])
        return np.concatenate([x, y], axis=d)

    def backward(self, grad_output, input_grad=True):
        if self._cache is None:
            raise self._no_forward()
        d, n, total = self._cache
        g = grad_output
        if g.ndim <= d or g.shape[d] != total:
            raise ValueError(f"{_layer_name(self)}: grad_output has shape {tuple(g.shape)}, "
                             f"expected size {total} along dim {d}")
        sl = [slice(None)] * g.ndim
        sl[d] = slice(n, None)
        gy = np.ascontiguousarray(g[tuple(sl)])
        if not input_grad:
            _backward_no_input(self.block, gy)
            return None
        sl[d] = slice(0, n)
        return self.block.backward(gy) + g[tuple(sl)]
