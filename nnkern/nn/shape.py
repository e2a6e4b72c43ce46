"""Shape layers: Flatten, Unflatten, Upsample (nearest)."""
import numbers

import numpy as np

from .module import Module, _as_input, _layer_name, _size_arg

__all__ = ["Flatten", "Unflatten", "Upsample"]


def _dim(d, ndim, module, shape):
    if not -ndim <= d < max(ndim, 1):
        raise ValueError(f"{_layer_name(module)}: dimension {d} is out of range for an "
                         f"input of shape {shape}")
    return d % ndim if ndim else 0


class Flatten(Module):
    """Flattens dims ``start_dim..end_dim`` into one (a view when possible).
    ``(N, C, H, W) -> (N, C*H*W)`` with the defaults."""

    _supports_input_grad = True
    _fresh_grad = None

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = _size_arg("Flatten", "start_dim", start_dim)
        self.end_dim = _size_arg("Flatten", "end_dim", end_dim)
        self._shape = None

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x):
        _as_input(self, x)
        shape = x.shape
        nd = len(shape)
        if nd == 0:
            self._shape = shape
            return x.reshape(1)
        s = _dim(self.start_dim, nd, self, shape)
        e = _dim(self.end_dim, nd, self, shape)
        if s > e:
            raise ValueError(f"{_layer_name(self)}: start_dim cannot come after end_dim "
                             f"for an input of shape {shape}")
        self._shape = shape
        return x.reshape(shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])

    def backward(self, grad_output, input_grad=True):
        if self._shape is None:
            raise self._no_forward()
        return grad_output.reshape(self._shape) if input_grad else None


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size``, e.g.
    ``Unflatten(1, (16, 5, 5))``: ``(N, 400) -> (N, 16, 5, 5)``."""

    _supports_input_grad = True
    _fresh_grad = None

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = _size_arg("Unflatten", "dim", dim)
        self.unflattened_size = tuple(_size_arg("Unflatten", "unflattened_size", s)
                                      for s in unflattened_size)
        self._shape = None

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def forward(self, x):
        _as_input(self, x)
        shape = x.shape
        d = _dim(self.dim, len(shape), self, shape)
        size = list(self.unflattened_size)
        if size.count(-1) > 1:
            raise ValueError(f"{_layer_name(self)}: only one dimension can be -1")
        known = int(np.prod([s for s in size if s != -1]))
        if -1 in size:
            if known == 0 or shape[d] % known:
                raise ValueError(f"{_layer_name(self)}: cannot unflatten dimension {d} of "
                                 f"input shape {shape} into {self.unflattened_size}")
            size[size.index(-1)] = shape[d] // known
        elif known != shape[d]:
            raise ValueError(f"{_layer_name(self)}: unflattened_size {self.unflattened_size} "
                             f"must multiply to {shape[d]} (dimension {d} of input shape "
                             f"{shape})")
        self._shape = shape
        return x.reshape(shape[:d] + tuple(size) + shape[d + 1:])

    def backward(self, grad_output, input_grad=True):
        if self._shape is None:
            raise self._no_forward()
        return grad_output.reshape(self._shape) if input_grad else None


def _nearest_index(n_in, n_out, scale):
    """PyTorch's 'nearest' source index: floor(dst * scale), clamped, where
    scale = 1/scale_factor if given, else n_in/n_out."""
    src = np.floor(np.arange(n_out, dtype=np.float64) * scale).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _scatter_sum(g, idx, n_in, axis):
    """Transpose of take(., idx, axis): sum gradient entries onto their source
    index (idx is non-decreasing)."""
    out_shape = list(g.shape)
    out_shape[axis] = n_in
    out = np.zeros(out_shape, dtype=g.dtype)
    if idx.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    sums = np.add.reduceat(g, starts, axis=axis)
    sl = [slice(None)] * g.ndim
    sl[axis] = idx[starts]
    out[tuple(sl)] = sums
    return out


class Upsample(Module):
    """Nearest-neighbour upsampling of ``(N, C, H, W)`` inputs, as
    torch.nn.Upsample(size=None, scale_factor=None, mode='nearest').

    Give either ``size`` (an int or (H_out, W_out)) or ``scale_factor`` (a
    number or a pair): ``H_out = floor(H * scale_factor)``; output pixel
    ``(i, j)`` copies input ``(floor(i * H/H_out), floor(j * W/W_out))``
    (with ``1/scale_factor`` in place of the ratio when scale_factor is
    given).  Integer scale factors take a fast broadcast/reshape path, and
    backward sums each block of the gradient.
    """

    _fresh_output = True
    _supports_input_grad = True
    _fresh_grad = True

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample: mode {mode!r} is not supported; nnkern implements "
                             f"mode='nearest'")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: either size or scale_factor should be defined "
                             "(exactly one of them)")
        if align_corners:
            raise ValueError("Upsample: align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear | bicubic | trilinear")
        self.mode = mode
        self.recompute_scale_factor = recompute_scale_factor
        if size is not None:
            size = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
            size = tuple(_size_arg("Upsample", "size", s) for s in size)
            if len(size) != 2 or any(s <= 0 for s in size):
                raise ValueError(f"Upsample: size must be a positive int or pair, got {size}")
            size = tuple(int(s) for s in size)
            self.size = size
            self.scale_factor = None
        else:
            sf = (scale_factor, scale_factor) if isinstance(scale_factor, numbers.Real) \
                else tuple(scale_factor)
            if len(sf) != 2 or any(not 0 < float(s) < float("inf") for s in sf):
                raise ValueError(f"Upsample: scale_factor must be positive and finite, "
                                 f"got {scale_factor}")
            self.scale_factor = tuple(float(s) for s in sf)
            self.size = None
        self._cache = None

    def extra_repr(self):
        if self.scale_factor is not None:
            sf = self.scale_factor
            sf = sf[0] if sf[0] == sf[1] else sf
            return f"scale_factor={sf}, mode={self.mode!r}"
        return f"size={self.size}, mode={self.mode!r}"

    def _plan(self, H, W):
        if self.size is not None:
            Ho, Wo = self.size
            scales = (H / Ho, W / Wo)
        else:
            sh, sw = self.scale_factor
            Ho, Wo = int(np.floor(H * sh)), int(np.floor(W * sw))
            if self.recompute_scale_factor:
                scales = (H / Ho if Ho else 0.0, W / Wo if Wo else 0.0)
            else:
                scales = (1.0 / sh, 1.0 / sw)
        rh, rw = Ho // H if H else 0, Wo // W if W else 0
        integer = (H and W and Ho == rh * H and Wo == rw * W
                   and abs(scales[0] * rh - 1) < 1e-12 and abs(scales[1] * rw - 1) < 1e-12)
        return Ho, Wo, scales, (rh, rw) if integer else None

    def forward(self, x):
        _as_input(self, x)
        if x.ndim != 4:
            raise ValueError(f"{_layer_name(self)}: expected a 4-D input (N, C, H, W), "
                             f"got shape {tuple(x.shape)}")
        N, C, H, W = x.shape
        Ho, Wo, scales, rep = self._plan(H, W)
        if Ho <= 0 or Wo <= 0:
            raise ValueError(f"{_layer_name(self)}: output size ({Ho}, {Wo}) for input "
                             f"shape {tuple(x.shape)} is empty")
        if rep is not None:
            rh, rw = rep
            y = np.empty((N, C, H, rh, W, rw), dtype=x.dtype)
            y[...] = x[:, :, :, None, :, None]
            y = y.reshape(N, C, Ho, Wo)
            self._cache = (x.shape, rep, None, None)
        else:
            ih = _nearest_index(H, Ho, scales[0])
            iw = _nearest_index(W, Wo, scales[1])
            y = x[:, :, ih[:, None], iw[None, :]]
            self._cache = (x.shape, None, ih, iw)
        return y

    def backward(self, grad_output, input_grad=True):
        if self._cache is None:
            raise self._no_forward()
        if not input_grad:
            return None
        shape, rep, ih, iw = self._cache
        N, C, H, W = shape
        g = grad_output
        if rep is not None:
            rh, rw = rep
            if g.shape != (N, C, H * rh, W * rw):
                raise ValueError(f"{_layer_name(self)}: grad_output has shape {g.shape}, "
                                 f"expected {(N, C, H * rh, W * rw)}")
            return g.reshape(N, C, H, rh, W, rw).sum(axis=(3, 5))
        if g.shape != (N, C, ih.size, iw.size):
            raise ValueError(f"{_layer_name(self)}: grad_output has shape {g.shape}, "
                             f"expected {(N, C, ih.size, iw.size)}")
        return _scatter_sum(_scatter_sum(g, iw, W, 3), ih, H, 2)
