"""2-D convolution (NCHW) with torch.nn.functional semantics, on NumPy arrays.

Shapes (groups g):
  input   (N, C_in, H, W) or unbatched (C_in, H, W)
  weight  (C_out, C_in/g, kH, kW)            -- conv2d
          (C_in, C_out/g, kH, kW)            -- conv_transpose2d
  output  conv2d:            OH = floor((H + 2*pad - dil*(kH-1) - 1) / stride) + 1
          conv_transpose2d:  OH = (H-1)*stride - 2*pad + dil*(kH-1) + output_padding + 1
(and the same for W).  float32 is the fast path; float64 is supported.
Errors follow PyTorch's wording, as ValueError (shapes, values) or TypeError
(dtypes, argument types).
"""
import numbers

import numpy as np

from .. import _C
from .._validate import as_float_array, c_contig

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward"]


def _ints(v, name):
    """An int or a sequence of 1 or 2 ints -> (int, int) (PyTorch's rules)."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or a tuple of two ints, got {v!r}")
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)):
        if not all(isinstance(e, numbers.Integral) and not isinstance(e, (bool, np.bool_))
                   for e in v):
            raise TypeError(f"{name} must be an int or a tuple of two ints, got {v!r}")
        if len(v) == 1:
            return (int(v[0]), int(v[0]))
        if len(v) == 2:
            return (int(v[0]), int(v[1]))
        raise ValueError(
            f"expected {name} to be a single integer value or a list of 2 values to match "
            f"the convolution dimensions, but got {name}={list(v)}")
    raise TypeError(f"{name} must be an int or a tuple of two ints, got {v!r}")


def _size(shape):
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _dtype_name(dt):
    return {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}.get(dt, str(dt))


def _operands(input, weight, bias, fname):
    """Arrays, dtype checks, batching.  Returns (x4d, weight, bias, unbatched)."""
    x = as_float_array(input, "input")
    w = as_float_array(weight, "weight")
    b = None if bias is None else as_float_array(bias, "bias")
    if x.ndim not in (3, 4):
        raise ValueError(f"Expected 3D (unbatched) or 4D (batched) input to {fname}, "
                         f"but got input of size: {_size(x.shape)}")
    if w.ndim != 4:
        raise ValueError(f"Expected 4-dimensional weight for {x.ndim}-dimensional input "
                         f"{_size(x.shape)}, but got {w.ndim}-dimensional weight of size "
                         f"{_size(w.shape)} instead")
    if x.dtype != w.dtype:
        raise TypeError(f"Input type ({_dtype_name(x.dtype)}) and weight type "
                        f"({_dtype_name(w.dtype)}) should be the same; nnkern supports "
                        "float32 and float64")
    if b is not None and b.dtype != x.dtype:
        raise TypeError(f"Input type ({_dtype_name(x.dtype)}) and bias type "
                        f"({_dtype_name(b.dtype)}) should be the same")
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    return x, w, b, unbatched


def _check_common(stride, dilation, padding, groups, w):
    if any(s <= 0 for s in stride):
        raise ValueError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise ValueError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise ValueError("non-positive dilation is not supported")
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups <= 0:
        raise ValueError("non-positive groups is not supported")
    if w.shape[0] == 0:
        raise ValueError(f"Given groups={groups}, expected weight to be at least 1 at "
                         f"dimension 0, but got weight of size {_size(w.shape)} instead")
    if w.shape[0] % groups:
        raise ValueError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                         f"at dimension 0, but got weight of size [{_size(w.shape)}] instead")
    if w.shape[2] <= 0 or w.shape[3] <= 0:
        raise ValueError(f"non-positive kernel size is not supported: weight of size "
                         f"{_size(w.shape)}")
    return groups


_I64 = 2**63


def _geometry(stride, pad, dilation, groups, out):
    """The C core takes int64 geometry: a value outside it (e.g. stride=2**64,
    or an output size past 2**63) is a ValueError, not an OverflowError from
    the binding's int conversion."""
    if any(not -_I64 <= v < _I64 for v in (*stride, *pad, *dilation, *out)):
        raise ValueError("conv2d: the requested sizes overflow 64-bit arithmetic "
                         f"(stride={stride}, padding={pad}, dilation={dilation}, "
                         f"output size={out})")
    return stride, pad, dilation, groups, out


def _conv_geometry(x, w, stride, padding, dilation, groups):
    """Validates a conv2d call; returns (stride, top/left padding, dilation,
    groups, (OH, OW))."""
    stride = _ints(stride, "stride")
    dilation = _ints(dilation, "dilation")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string: {padding!r}")
        mode = padding
        pad = (0, 0)
    else:
        mode = None
        pad = _ints(padding, "padding")
    groups = _check_common(stride, dilation, pad, groups, w)
    C_in = x.shape[1]
    if w.shape[1] * groups != C_in:
        raise ValueError(f"Given groups={groups}, weight of size {_size(w.shape)}, expected "
                         f"input{_size(x.shape)} to have {w.shape[1] * groups} channels, but "
                         f"got {C_in} channels instead")
    k = (w.shape[2], w.shape[3])
    if mode == "same":
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        total = [dilation[i] * (k[i] - 1) for i in range(2)]
        pad = (total[0] // 2, total[1] // 2)
        return _geometry(stride, pad, dilation, groups, (x.shape[2], x.shape[3]))
    eff = [dilation[i] * (k[i] - 1) + 1 for i in range(2)]
    padded = [x.shape[2 + i] + 2 * pad[i] for i in range(2)]
    if padded[0] < eff[0] or padded[1] < eff[1]:
        raise ValueError(f"Calculated padded input size per channel: ({padded[0]} x "
                         f"{padded[1]}). Kernel size: ({eff[0]} x {eff[1]}). Kernel size "
                         "can't be greater than actual input size")
    out = tuple((padded[i] - eff[i]) // stride[i] + 1 for i in range(2))
    return _geometry(stride, pad, dilation, groups, out)


def _check_bias(b, n, w, transposed=False):
    if b is not None and (b.ndim != 1 or b.shape[0] != n):
        t = "transposed=1, " if transposed else ""
        raise ValueError(f"Given {t}weight of size {_size(w.shape)}, expected bias to be "
                         f"1-dimensional with {n} elements, but got bias of size "
                         f"{_size(b.shape)} instead")


def _mask(output_mask):
    m = tuple(bool(v) for v in output_mask)
    if len(m) != 3:
        raise ValueError(f"output_mask must have 3 entries, got {output_mask!r}")
    return m


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), like torch.nn.functional.conv2d.

    input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in/groups, kH, kW);
    bias (C_out,) or None.  stride, dilation: int or pair; padding: int, pair,
    'valid' (no padding) or 'same' (stride 1 only; output size = input size,
    the extra pad of an even effective kernel going to the bottom/right as in
    PyTorch).  Returns (N, C_out, OH, OW) with
    OH = floor((H + 2*padding - dilation*(kH-1) - 1) / stride) + 1.
    """
    x, w, b, unbatched = _operands(input, weight, bias, "conv2d")
    stride, pad, dilation, groups, (OH, OW) = _conv_geometry(x, w, stride, padding, dilation,
                                                        groups)
    _check_bias(b, w.shape[0], w)
    y = _C.conv2d_fwd(c_contig(x), c_contig(w), None if b is None else c_contig(b),
                      stride, pad, dilation, groups, OH, OW)
    return y[0] if unbatched else y


def _grad_output(grad_output, x, unbatched, expected):
    """grad_output as a 4-D array of x's dtype and the `expected` (batched)
    shape, with PyTorch's wording when it is not."""
    dy = as_float_array(grad_output, "grad_output")
    if dy.dtype != x.dtype:
        raise TypeError(f"Input type ({_dtype_name(x.dtype)}) and grad_output type "
                        f"({_dtype_name(dy.dtype)}) should be the same")
    if unbatched and dy.ndim == 3:
        dy = dy[None]
    if dy.shape != expected:
        raise ValueError(f"Expected grad_output of size {_size(expected[1:] if unbatched else expected)}, "
                         f"but got grad_output of size {_size(dy.shape[1:] if unbatched else dy.shape)}")
    return dy


def conv2d_backward(grad_output, input, weight, stride=1, padding=0, dilation=1, groups=1,
                    output_mask=(True, True, True)):
    """Gradients of conv2d: returns (grad_input, grad_weight, grad_bias).

    Arguments as for conv2d; grad_output has conv2d's output shape.  Entries
    whose output_mask is False are None (and not computed).
    grad_input (N, C_in, H, W), grad_weight like weight, grad_bias (C_out,).
    """
    mask = _mask(output_mask)
    x, w, _, unbatched = _operands(input, weight, None, "conv2d")
    stride, pad, dilation, groups, (OH, OW) = _conv_geometry(x, w, stride, padding, dilation,
                                                        groups)
    dy = _grad_output(grad_output, x, unbatched, (x.shape[0], w.shape[0], OH, OW))
    dy = c_contig(dy)
    gi = gw = gb = None
    if mask[0]:
        gi = _C.conv2d_bwd_data(dy, c_contig(w), x.shape[2], x.shape[3], stride, pad,
                                dilation, groups)
        if unbatched:
            gi = gi[0]
    if mask[1]:
        gw = _C.conv2d_bwd_weight(dy, c_contig(x), w.shape[2], w.shape[3], stride, pad,
                                  dilation, groups)
    if mask[2]:
        gb = _C.conv2d_bwd_bias(dy)
    return gi, gw, gb


def _transpose_args(x, w, stride, padding, output_padding, groups, dilation):
    if isinstance(padding, str):
        raise TypeError("conv_transpose2d(): argument 'padding' must be tuple of ints, not str")
    stride = _ints(stride, "stride")
    dilation = _ints(dilation, "dilation")
    pad = _ints(padding, "padding")
    opad = _ints(output_padding, "output_padding")
    groups = _check_common(stride, dilation, pad, groups, w)
    if any(p < 0 for p in opad):
        raise ValueError("negative output_padding is not supported")
    for i in range(2):
        if not (opad[i] < stride[i] or opad[i] < dilation[i]):
            raise ValueError(
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding_height: {opad[0]} output_padding_width: {opad[1]} "
                f"stride_height: {stride[0]} stride_width: {stride[1]} "
                f"dilation_height: {dilation[0]} dilation_width: {dilation[1]}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"Given transposed=1, weight of size {_size(w.shape)}, expected "
                         f"input{_size(x.shape)} to have {w.shape[0]} channels, but got "
                         f"{x.shape[1]} channels instead")
    out = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * pad[i] +
                dilation[i] * (w.shape[2 + i] - 1) + opad[i] + 1 for i in range(2))
    if out[0] <= 0 or out[1] <= 0:
        raise ValueError(f"Given input size per channel: ({x.shape[2]} x {x.shape[3]}). "
                         f"Calculated output size per channel: ({out[0]} x {out[1]}). "
                         "Output size is too small")
    return _geometry(stride, pad, dilation, groups, out)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 2-D convolution, like torch.nn.functional.conv_transpose2d
    (the gradient of conv2d with respect to its input).

    input (N, C_in, H, W) or (C_in, H, W); weight (C_in, C_out/groups, kH, kW);
    bias (C_out,) or None.  Returns (N, C_out, OH, OW) with
    OH = (H-1)*stride - 2*padding + dilation*(kH-1) + output_padding + 1.
    """
    x, w, b, unbatched = _operands(input, weight, bias, "conv_transpose2d")
    stride, pad, dilation, groups, (OH, OW) = _transpose_args(
        x, w, stride, padding, output_padding, groups, dilation)
    _check_bias(b, w.shape[1] * groups, w, transposed=True)
    y = _C.conv2d_bwd_data(c_contig(x), c_contig(w), OH, OW, stride, pad, dilation, groups)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y[0] if unbatched else y


def conv_transpose2d_backward(grad_output, input, weight, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1,
                              output_mask=(True, True, True)):
    """Gradients of conv_transpose2d: (grad_input, grad_weight, grad_bias).

    grad_input is a conv2d of grad_output with weight, grad_weight a conv2d
    weight gradient (roles of input and grad_output swapped); entries whose
    output_mask is False are None and not computed.
    """
    mask = _mask(output_mask)
    x, w, _, unbatched = _operands(input, weight, None, "conv_transpose2d")
    stride, pad, dilation, groups, (OH, OW) = _transpose_args(
        x, w, stride, padding, output_padding, groups, dilation)
    dy = _grad_output(grad_output, x, unbatched, (x.shape[0], w.shape[1] * groups, OH, OW))
    dy = c_contig(dy)
    gi = gw = gb = None
    if mask[0]:
        gi = _C.conv2d_fwd(dy, c_contig(w), None, stride, pad, dilation, groups,
                           x.shape[2], x.shape[3])
        if unbatched:
            gi = gi[0]
    if mask[1]:
        gw = _C.conv2d_bwd_weight(c_contig(x), dy, w.shape[2], w.shape[3], stride, pad,
                                  dilation, groups)
    if mask[2]:
        gb = _C.conv2d_bwd_bias(dy)
    return gi, gw, gb
