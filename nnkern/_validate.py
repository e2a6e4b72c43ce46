"""Argument checks shared by the functional API (dtypes, shapes, pairs)."""
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(x, name):
    """Return x as an ndarray of float32/float64 without copying when it is
    one already.  Lists and scalars are converted (float64 unless they are
    float32 arrays); any other dtype raises TypeError naming the accepted
    dtypes."""
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple, numbers.Number)):
            x = np.asarray(x)
            if x.dtype.kind in "iub":
                x = x.astype(np.float64)
        else:
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} has dtype {x.dtype}; nnkern supports float32 and float64 only")
    return x


def common_dtype(*named):
    """All (name, array-or-None) pairs must share one float dtype; returns it."""
    dtype = None
    first = None
    for name, a in named:
        if a is None:
            continue
        if dtype is None:
            dtype, first = a.dtype, name
        elif a.dtype != dtype:
            raise TypeError(
                f"expected {name} to have the same dtype as {first} ({dtype}), "
                f"but got {a.dtype}; nnkern supports float32 and float64, not mixed")
    return dtype


def pair(v, name):
    """An int or a pair of ints -> tuple of two Python ints."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or a tuple of two ints, got {v!r}")
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)) and len(v) == 1 and isinstance(v[0], numbers.Integral):
        return (int(v[0]), int(v[0]))
    if (isinstance(v, (tuple, list)) and len(v) == 2
            and all(isinstance(e, numbers.Integral) and not isinstance(e, (bool, np.bool_)) for e in v)):
        return (int(v[0]), int(v[1]))
    raise TypeError(f"{name} must be an int or a tuple of two ints, got {v!r}")


def c_contig(x):
    """C-contiguous, aligned, native-order view or copy of x (shape kept,
    0-d included).  np.ascontiguousarray alone is not enough: it returns a
    contiguous but misaligned array (np.frombuffer at an odd offset) as is."""
    if x.flags.c_contiguous and x.flags.aligned and x.dtype.isnative:
        return x
    return np.require(x, x.dtype.newbyteorder("="), ["C", "A"])
