"""Dense layers on nnkern's GEMM: matmul, gemm, linear and its backward.

Every product runs in nnkern's C GEMM (csrc/nk_gemm_*.c): operands are passed
with their NumPy strides (transposes, slices and negative steps cost no
copy), bias and ReLU are fused into the write of the result, and the result
is bitwise identical for any thread count.
"""
import math

import numpy as np

from .. import _C
from .._validate import as_float_array, c_contig, common_dtype

__all__ = ["matmul", "gemm", "linear", "linear_backward"]


def _operand(x):
    """x as the C kernel can read it in place: aligned (hence element-strided,
    since float32/float64 alignment equals the item size), else an aligned
    copy (np.ascontiguousarray would keep a contiguous misaligned array)."""
    return x if x.flags.aligned else c_contig(x)


def _shape_str(shape):
    return "x".join(str(d) for d in shape)


def _check_2d(x, name, fn):
    if x.ndim != 2:
        raise ValueError(f"{fn}: {name} must be a 2-D array (matrix), got shape {x.shape}")


def _run(a, b, c, alpha=1.0, beta=0.0, bias=None, fresh=True):
    """c = alpha * a @ b + beta * c (+ per-column bias) in place.  When c
    is not `fresh` (user memory), go through a temporary if it overlaps an
    input or is not element-strided."""
    a, b = _operand(a), _operand(b)
    if bias is not None:
        bias = c_contig(bias)
    if fresh:
        _C.gemm_into(a, b, c, alpha, beta, bias)
        return c
    target = c
    if (not c.flags.aligned or np.may_share_memory(c, a) or np.may_share_memory(c, b)
            or (bias is not None and np.may_share_memory(c, bias))):
        target = np.array(c, order="C", copy=True) if beta != 0 else np.empty(c.shape, c.dtype)
    _C.gemm_into(a, b, target, alpha, beta, bias)
    if target is not c:
        c[...] = target
    return c


def matmul(a, b, out=None):
    """Matrix product of two 2-D arrays, ``a @ b``.

    Shapes: a (M, K), b (K, N) -> (M, N).  Both float32 or both float64.
    ``out``, if given, must be a writable (M, N) array of that dtype; the
    result is written into it and it is returned.
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    dtype = common_dtype(("a", a), ("b", b))
    _check_2d(a, "a", "matmul")
    _check_2d(b, "b", "matmul")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"mat1 and mat2 shapes cannot be multiplied "
                         f"({_shape_str(a.shape)} and {_shape_str(b.shape)})")
    shape = (a.shape[0], b.shape[1])
    if out is None:
        return _run(a, b, np.empty(shape, dtype))
    else:
        if not isinstance(out, np.ndarray):
            raise ValueError(f"out must be a numpy.ndarray, got {type(out).__name__}")
        if out.shape != shape or out.dtype != dtype:
            raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}; expected "
                             f"shape {shape} and dtype {dtype}")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
    return _run(a, b, out, fresh=False)


def gemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """General matrix multiply: ``alpha * op(a) @ op(b) + beta * c``.

    op(x) is x, or x.T when trans_x is true (no copy is made).  Shapes:
    op(a) (M, K), op(b) (K, N), c broadcastable to (M, N) (it is not
    modified; a new (M, N) array is returned).  With beta == 0, c is not read
    (NaN or Inf in it do not propagate), as in BLAS.
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    if c is not None:
        c = as_float_array(c, "c")
    dtype = common_dtype(("a", a), ("b", b), ("c", c))
    _check_2d(a, "a", "gemm")
    _check_2d(b, "b", "gemm")
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    if opa.shape[1] != opb.shape[0]:
        raise ValueError(f"gemm: op(a) and op(b) shapes cannot be multiplied "
                         f"({_shape_str(opa.shape)} and {_shape_str(opb.shape)})")
    shape = (opa.shape[0], opb.shape[1])
    out = np.empty(shape, dtype)
    if c is not None:
        try:
            cb = np.broadcast_to(c, shape)
        except ValueError:
            raise ValueError(f"gemm: c of shape {c.shape} cannot be broadcast to the "
                             f"product's shape {shape}") from None
        if beta != 0:
            out[...] = cb
    else:
        beta = 0.0
    return _run(opa, opb, out, float(alpha), float(beta))


def _rows(shape):
    """Number of rows of the (*, features) -> (rows, features) view."""
    return math.prod(shape[:-1])


def _linear_shapes(input, weight, fn):
    if weight.ndim != 2:
        raise ValueError(f"{fn}: weight must be 2-D (out_features, in_features), "
                         f"got shape {weight.shape}")
    if input.ndim < 1:
        raise ValueError(f"{fn}: input must have at least 1 dimension, got a scalar")
    if input.shape[-1] != weight.shape[1]:
        raise ValueError(f"mat1 and mat2 shapes cannot be multiplied "
                         f"({_rows(input.shape)}x{input.shape[-1]} and "
                         f"{weight.shape[1]}x{weight.shape[0]})")


def linear(input, weight, bias=None):
    """``y = input @ weight.T + bias``, as torch.nn.functional.linear.

    Shapes: input (*, in_features), weight (out_features, in_features),
    bias (out_features,) or None -> output (*, out_features).  The bias is
    added in the GEMM's epilogue.
    """
    input = as_float_array(input, "input")
    weight = as_float_array(weight, "weight")
    if bias is not None:
        bias = as_float_array(bias, "bias")
    dtype = common_dtype(("input", input), ("weight", weight), ("bias", bias))
    _linear_shapes(input, weight, "linear")
    out_f, in_f = weight.shape
    if bias is not None and bias.shape != (out_f,):
        raise ValueError(f"linear: bias must have shape ({out_f},), got {bias.shape}")
    x2 = input.reshape(_rows(input.shape), in_f)
    out = np.empty((x2.shape[0], out_f), dtype)
    if bias is not None and not bias.flags.c_contiguous:
        bias = np.ascontiguousarray(bias)
    _run(x2, weight.T, out, bias=bias)
    return out.reshape(input.shape[:-1] + (out_f,))


def linear_backward(grad_output, input, weight, output_mask=(True, True, True)):
    """Gradients of :func:`linear` with respect to (input, weight, bias).

    Shapes: grad_output (*, out_features), input (*, in_features), weight
    (out_features, in_features).  Returns (grad_input (*, in_features),
    grad_weight (out_features, in_features), grad_bias (out_features,));
    an entry is None (and not computed) where output_mask is False.

        grad_input  = grad_output @ weight
        grad_weight = grad_output^T @ input     (summed over all of *)
        grad_bias   = grad_output summed over *
    """
    grad_output = as_float_array(grad_output, "grad_output")
    input = as_float_array(input, "input")
    weight = as_float_array(weight, "weight")
    dtype = common_dtype(("grad_output", grad_output), ("input", input), ("weight", weight))
    _linear_shapes(input, weight, "linear_backward")
    if len(output_mask) != 3:
        raise ValueError(f"linear_backward: output_mask must have 3 entries, got {output_mask!r}")
    out_f, in_f = weight.shape
    expected = input.shape[:-1] + (out_f,)
    if grad_output.shape != expected:
        raise ValueError(f"linear_backward: grad_output has shape {grad_output.shape}, "
                         f"expected {expected} for input {input.shape} and weight "
                         f"{weight.shape}")
    rows = _rows(input.shape)
    g2 = grad_output.reshape(rows, out_f)
    x2 = input.reshape(rows, in_f)
    grad_input = grad_weight = grad_bias = None
    if output_mask[0]:
        grad_input = np.empty((g2.shape[0], in_f), dtype)
        _run(g2, weight, grad_input)
        grad_input = grad_input.reshape(input.shape)
    if output_mask[1]:
        grad_weight = np.empty((out_f, in_f), dtype)
        _run(g2.T, x2, grad_weight)
    if output_mask[2]:
        grad_bias = g2.sum(axis=0, dtype=dtype)
    return grad_input, grad_weight, grad_bias
