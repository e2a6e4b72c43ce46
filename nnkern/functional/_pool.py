"""Max and average pooling (NCHW), forward and backward.

Mirrors ``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` /
``adaptive_avg_pool2d``: names, argument order, defaults, the output-size
rule and error wording (ValueError/TypeError instead of RuntimeError).
Inputs are ``(N, C, H, W)`` or unbatched ``(C, H, W)``, float32 or float64.

Output size, per spatial dimension (L = H or W)::

    out = floor((L + 2*pad - dilation*(k - 1) - 1 + (stride - 1 if ceil_mode else 0)) / stride) + 1
    if ceil_mode and (out - 1) * stride >= L + pad: out -= 1

(the last window must start inside the input or the left padding).
"""
import functools
import numbers

import numpy as np

from .. import _C
from .._validate import as_float_array, c_contig

__all__ = [
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
]


def _is_int(v):
    t = type(v)
    if t is int:
        return True
    return t is not bool and isinstance(v, numbers.Integral) and not isinstance(v, np.bool_)


def _pair_arg(v, fn, name, default=None):
    """int or 1-/2-sequence of ints -> (a, b), PyTorch's wording on bad length."""
    if type(v) is int:  # the common case, first
        return v, v
    if v is None or (isinstance(v, (tuple, list)) and len(v) == 0 and default is not None):
        if default is None:
            raise TypeError(f"{fn}: {name} must be an int or a tuple of two ints, got None")
        return default
    if _is_int(v):
        return int(v), int(v)
    if isinstance(v, (tuple, list)):
        if not all(_is_int(e) for e in v):
            raise TypeError(f"{fn}: {name} must be an int or a tuple of two ints, got {v!r}")
        if len(v) == 1:
            return int(v[0]), int(v[0])
        if len(v) == 2:
            return int(v[0]), int(v[1])
    elif not isinstance(v, (tuple, list)):
        raise TypeError(f"{fn}: {name} must be an int or a tuple of two ints, got {v!r}")
    if name == "kernel_size":
        raise ValueError(f"{fn}: kernel_size must either be a single int, or a tuple of two ints")
    if name == "stride":
        raise ValueError(f"{fn}: stride must either be omitted, a single int, or a tuple of two ints")
    if name == "dilation":
        raise ValueError(f"{fn}: dilation must be either a single int, or a tuple of two ints")
    raise ValueError(f"{fn}: {name} must either be a single int, or a tuple of two ints")


_I64 = 2**63


def _int64(fn, *values):
    """The C core takes int64 sizes: a value outside that range (kernel_size
    2**64, an output size past 2**63, ...) is a ValueError, not an
    OverflowError from the binding's int conversion."""
    if any(not -_I64 <= v < _I64 for v in values):
        raise ValueError(f"{fn}: the requested sizes overflow 64-bit arithmetic")


def _trunc_div(a, b):
    """C++ integer division (rounds toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _out_size(L, k, pad, stride, dilation, ceil_mode):
    """PyTorch's pooling_output_shape (with its checks)."""
    if stride == 0:
        raise ValueError("stride should not be zero")
    if pad < 0:
        raise ValueError(f"pad must be non-negative, but got pad: {pad}")
    if pad > _trunc_div((k - 1) * dilation + 1, 2):
        raise ValueError(
            f"pad should be at most half of effective kernel size, but got pad={pad}, "
            f"kernel_size={k} and dilation={dilation}")
    out = (L + 2 * pad - dilation * (k - 1) - 1 + ((stride - 1) if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= L + pad:
        out -= 1
    return out


def _shape_check(shape, k, s, p, d, out):
    """PyTorch's pool2d_shape_check."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = k, s, p, d, out
    if kh <= 0 or kw <= 0:
        raise ValueError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh <= 0 or sw <= 0:
        raise ValueError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise ValueError(
            f"dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}")
    nonbatch = shape[1:] if len(shape) == 4 else shape
    if len(shape) not in (3, 4) or any(n == 0 for n in nonbatch):
        raise ValueError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                         f"size for input, but got:{list(shape)}")
    if kw // 2 < pw or kh // 2 < ph:
        raise ValueError("pad should be smaller than or equal to half of kernel size, but got "
                         f"padW = {pw}, padH = {ph}, kW = {kw}, kH = {kh}")
    if oh < 1 or ow < 1:
        C, H, W = shape[-3:]
        raise ValueError(f"Given input size: ({C}x{H}x{W}). Calculated output size: "
                         f"({C}x{oh}x{ow}). Output size is too small")


def _pool_geometry(fn, shape, kernel_size, stride, padding, dilation, ceil_mode):
    k = _pair_arg(kernel_size, fn, "kernel_size")
    s = _pair_arg(stride, fn, "stride", default=k)
    p = _pair_arg(padding, fn, "padding")
    d = _pair_arg(dilation, fn, "dilation")
    ceil_mode = bool(ceil_mode)
    return k, s, p, d, ceil_mode


@functools.lru_cache(maxsize=256)
def _output_hw(shape, k, s, p, d, ceil_mode):
    """(OH, OW) after all of PyTorch's checks; memoized (errors are not)."""
    oh = _out_size(shape[-2], k[0], p[0], s[0], d[0], ceil_mode)
    ow = _out_size(shape[-1], k[1], p[1], s[1], d[1], ceil_mode)
    _shape_check(shape, k, s, p, d, (oh, ow))
    _int64("pooling", *k, *s, *p, *d, oh, ow)
    for dim, (L, n) in enumerate(zip(shape[-2:], (oh, ow))):
        _window_check(dim, L, n, k[dim], s[dim], p[dim], d[dim])
    return oh, ow


def _window_check(dim, L, n, k, s, p, d):
    """Every window must hold an input element.  With dilation a window
    that starts in the padding can step over the whole input (W = 1,
    kernel 2, dilation 2, padding 1: taps -1 and 1); PyTorch returns -inf
    there with an index outside the plane, which its backward cannot use.
    Only windows starting in the padding (o * s < p) can be empty."""
    for o in range(min(n, p // s + 1)):
        a = o * s - p
        t = 0 if a >= 0 else -(a // d)  # first tap at or after 0: ceil(-a / d)
        if t >= k or a + t * d >= L:
            side = "height" if dim == 0 else "width"
            raise ValueError(
                f"pooling window {o} along the {side} holds no input element (input size {L}, "
                f"kernel_size={k}, stride={s}, padding={p}, dilation={d}): every tap falls in "
                f"the padding")


def _as4d(x):
    """(C, H, W) -> (1, C, H, W); returns (4-D C-contiguous array, batched?)."""
    if x.ndim == 3:
        return c_contig(x)[None], False
    return c_contig(x), True


def _unbatch(a, batched):
    return a if batched else a[0]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W) input.

    Padding counts as -inf; NaN propagates.  Returns (N, C, OH, OW) (or
    (C, OH, OW)), plus, with return_indices=True, int64 indices: the flat
    offset h*W + w of each maximum inside its (n, c) plane.  OH/OW follow the
    formula in the module docstring.
    """
    x = as_float_array(input, "input")
    k, s, p, d, ceil_mode = _pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding,
                                           dilation, ceil_mode)
    if x.ndim not in (3, 4):
        raise ValueError("non-empty 3D or 4D (batch mode) tensor expected for input")
    oh, ow = _output_hw(x.shape, k, s, p, d, ceil_mode)
    x4, batched = _as4d(x)
    y, ind = _C.pool_max_fwd(x4, oh, ow, (k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]),
                             bool(return_indices))
    if return_indices:
        return _unbatch(y, batched), _unbatch(ind, batched)
    return _unbatch(y, batched)


def _check_grad_shape(fn, g, input_shape):
    if not isinstance(input_shape, (tuple, list)) or not all(_is_int(v) for v in input_shape):
        raise TypeError(f"{fn}: input_shape must be a tuple of ints, got {input_shape!r}")
    input_shape = tuple(int(v) for v in input_shape)
    _int64(fn, *input_shape)
    if g.ndim not in (3, 4) or len(input_shape) != g.ndim:
        raise ValueError(f"{fn}: expected grad_output with 3 or 4 dimensions matching "
                         f"input_shape {input_shape}, got shape {g.shape}")
    if input_shape[:-2] != g.shape[:-2] or any(v < 0 for v in input_shape):
        raise ValueError(f"{fn}: grad_output shape {g.shape} does not match "
                         f"input_shape {input_shape}")
    return input_shape


def max_pool2d_backward(grad_output, indices, input_shape):
    """Gradient of max_pool2d w.r.t. its input.

    grad_output and indices: (N, C, OH, OW) or (C, OH, OW), indices as
    returned by max_pool2d(..., return_indices=True).  Returns grad_input of
    input_shape, grad_input[n, c].flat[indices[n, c, i, j]] += grad_output[n, c, i, j].
    Indices outside [0, H*W) raise ValueError (nothing is written out of
    bounds).
    """
    g = as_float_array(grad_output, "grad_output")
    input_shape = _check_grad_shape("max_pool2d_backward", g, input_shape)
    ind = np.asarray(indices)
    if ind.dtype.kind not in "iu":
        raise TypeError(f"max_pool2d_backward: indices must be an integer array, got {ind.dtype}")
    if ind.shape != g.shape:
        raise ValueError(f"max_pool2d_backward: indices shape {ind.shape} does not match "
                         f"grad_output shape {g.shape}")
    if ind.dtype != np.int64:
        if ind.dtype.kind == "u" and ind.size and ind.max() > np.iinfo(np.int64).max:
            raise ValueError("max_pool2d_backward: an index is out of range for the input")
        ind = ind.astype(np.int64)
    g4, batched = _as4d(g)
    ind4, _ = _as4d(ind)
    dx = _C.pool_max_bwd(g4, ind4, input_shape[-2], input_shape[-1])
    return _unbatch(dx, batched)


def _avg_args(fn, shape, kernel_size, stride, padding, ceil_mode, divisor_override):
    k, s, p, d, ceil_mode = _pool_geometry(fn, shape, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"{fn}: divisor_override must be an int or None, got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError("divisor must be not zero")
    if len(shape) not in (3, 4):
        raise ValueError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                         f"size for input, but got:{list(shape)}")
    oh, ow = _output_hw(shape, k, s, p, d, ceil_mode)
    dov = 0 if divisor_override is None else int(divisor_override)
    _int64(fn, dov)
    return (k[0], k[1], s[0], s[1], p[0], p[1], 1, 1), oh, ow, dov


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling over (N, C, H, W) or (C, H, W) input.

    Each output is the sum of the in-bounds window elements divided by
    divisor_override if given, else by the window size clipped to the padded
    extent (count_include_pad=True) or the number of in-bounds elements
    (False).  Output (N, C, OH, OW), OH/OW from the module docstring formula.
    """
    x = as_float_array(input, "input")
    win, oh, ow, dov = _avg_args("avg_pool2d", x.shape, kernel_size, stride, padding,
                                 ceil_mode, divisor_override)
    x4, batched = _as4d(x)
    y = _C.pool_avg_fwd(x4, oh, ow, win, bool(count_include_pad), dov)
    return _unbatch(y, batched)


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d w.r.t. its input (same pooling arguments).

    grad_output: (N, C, OH, OW) or (C, OH, OW), where OH/OW must be the
    output size avg_pool2d gives for input_shape.  Returns grad_input of
    input_shape.
    """
    g = as_float_array(grad_output, "grad_output")
    input_shape = _check_grad_shape("avg_pool2d_backward", g, input_shape)
    win, oh, ow, dov = _avg_args("avg_pool2d", input_shape, kernel_size, stride, padding,
                                 ceil_mode, divisor_override)
    if g.shape[-2:] != (oh, ow):
        raise ValueError(f"avg_pool2d_backward: grad_output has spatial size {g.shape[-2:]}, "
                         f"but avg_pool2d of input_shape {input_shape} gives {(oh, ow)}")
    g4, batched = _as4d(g)
    dx = _C.pool_avg_bwd(g4, input_shape[-2], input_shape[-1], win, bool(count_include_pad), dov)
    return _unbatch(dx, batched)


def _adaptive_size(shape, output_size):
    if _is_int(output_size):
        size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError("adaptive_avg_pool2d: output_size must be 2")
        if not all(v is None or _is_int(v) for v in output_size):
            raise TypeError(f"adaptive_avg_pool2d: output_size must be ints or None, got {output_size!r}")
        size = tuple(shape[-2 + i] if v is None else int(v) for i, v in enumerate(output_size))
    else:
        raise TypeError(f"adaptive_avg_pool2d: output_size must be an int or a tuple of two ints, "
                        f"got {output_size!r}")
    if size[0] < 0 or size[1] < 0:
        raise ValueError("adaptive_avg_pool2d: elements of output_size must be greater than or "
                         f"equal to 0 but received {{{size[0]}, {size[1]}}}")
    if len(shape) not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(shape)}")
    _int64("adaptive_avg_pool2d", *size)
    for i in range(len(shape) - 3, len(shape)):
        if shape[i] == 0:
            raise ValueError("adaptive_avg_pool2d(): Expected input to have non-zero size for "
                             f"non-batch dimensions, but input has sizes {list(shape)} with "
                             f"dimension {i} being empty")
    return size


def adaptive_avg_pool2d(input, output_size):
    """Adaptive 2-D average pooling to output_size (int, or pair whose None
    entries keep the input size).  Output (oh, ow) averages input rows
    [floor(oh*H/OH), ceil((oh+1)*H/OH)) and likewise columns.  output_size 1
    is global average pooling (a fast path)."""
    x = as_float_array(input, "input")
    oh, ow = _adaptive_size(x.shape, output_size)
    x4, batched = _as4d(x)
    y = _C.pool_adaptive_avg_fwd(x4, oh, ow)
    return _unbatch(y, batched)


def adaptive_avg_pool2d_backward(grad_output, input_shape):
    """Gradient of adaptive_avg_pool2d w.r.t. its input: grad_output
    (N, C, OH, OW) or (C, OH, OW) -> grad_input of input_shape."""
    g = as_float_array(grad_output, "grad_output")
    input_shape = _check_grad_shape("adaptive_avg_pool2d_backward", g, input_shape)
    _adaptive_size(input_shape, g.shape[-2:])
    g4, batched = _as4d(g)
    dx = _C.pool_adaptive_avg_bwd(g4, input_shape[-2], input_shape[-1])
    return _unbatch(dx, batched)
