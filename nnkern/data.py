"""Data sets and batching: the embedded 8x8 digits, MNIST-style IDX files,
seeded splits and mini-batches.

>>> from nnkern.data import load_digits, train_val_test_split, batches
>>> X, y = load_digits()                 # (1797, 1, 8, 8) float32 in [0, 1], (1797,) int64
>>> train, val, test = train_val_test_split(X, y, val=0.15, test=0.15, seed=0)
>>> for xb, yb in batches(*train, batch_size=64, shuffle=True, rng=0):
...     pass
"""
import gzip
import os
import struct
import zlib

import numpy as np

__all__ = ["load_digits", "load_idx", "IDXError", "train_val_test_split", "batches"]

_DEMO_EXTRA_MSG = ("{what} needs {pkg}, which is part of nnkern's optional 'demo' extra; "
                   "install it with `pip install \"nnkern[demo]\"` (or `pip install {pkg}`).")


def _require(module, pkg, what):
    """Import an optional dependency or raise ImportError naming the extra."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(_DEMO_EXTRA_MSG.format(what=what, pkg=pkg)) from exc


def load_digits(flatten=False, dtype=np.float32):
    """The embedded default data set: scikit-learn's 8x8 handwritten digits.

    1,797 grey-scale images of the digits 0-9 (about 180 per class), scaled
    from 0..16 to [0, 1].

    Returns ``(X, y)``: X has shape (1797, 1, 8, 8) (NCHW, ready for Conv2d)
    or (1797, 64) with ``flatten=True``; y has shape (1797,) and dtype int64.
    Needs scikit-learn (the ``demo`` extra); the data ship inside it, so no
    download happens.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"load_digits: dtype must be float32 or float64, got {dtype}")
    datasets = _require("sklearn.datasets", "scikit-learn", "nnkern.data.load_digits()")
    d = datasets.load_digits()
    X = np.asarray(d.data, dtype=dtype) / dtype.type(16.0)
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return np.ascontiguousarray(X), np.asarray(d.target, dtype=np.int64)


# ---------------------------------------------------------------------------
# IDX (the MNIST file format)
# ---------------------------------------------------------------------------

class IDXError(ValueError):
    """A file that is not a valid IDX file (corrupt, truncated, unknown type)."""


# type code -> big-endian dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_all(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw), True
        except (EOFError, OSError, zlib.error) as exc:
            raise IDXError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    return raw, False


def load_idx(path):
    """Read an MNIST-style IDX file, raw or gzip-compressed (detected from the
    content, not the file name).

    Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, one
    big-endian uint32 per dimension, then the data in C order, big-endian.

    Returns a NumPy array with that shape, in native byte order (uint8 for
    the MNIST image and label files).  A truncated, oversized or corrupt file
    raises :class:`IDXError` (a ValueError) whose message names the file.
    """
    path = os.fspath(path)
    buf, _ = _read_all(path)
    if len(buf) < 4:
        raise IDXError(f"{path}: truncated IDX file: {len(buf)} bytes, the header needs at least 4")
    zero, tcode, ndim = struct.unpack(">HBB", buf[:4])
    if zero != 0:
        raise IDXError(f"{path}: not an IDX file (bad magic number 0x{buf[:4].hex()}; "
                       "expected two zero bytes first)")
    if tcode not in _IDX_TYPES:
        raise IDXError(f"{path}: unknown IDX data type code 0x{tcode:02x} "
                       f"(known: {', '.join(hex(k) for k in _IDX_TYPES)})")
    if ndim == 0:
        raise IDXError(f"{path}: IDX header declares 0 dimensions")
    hdr = 4 + 4 * ndim
    if len(buf) < hdr:
        raise IDXError(f"{path}: truncated IDX header: {len(buf)} bytes, "
                       f"{ndim} dimensions need {hdr}")
    shape = struct.unpack(">" + "I" * ndim, buf[4:hdr])
    dt = np.dtype(_IDX_TYPES[tcode])
    count = 1
    for s in shape:
        count *= int(s)
    need = hdr + count * dt.itemsize
    if len(buf) < need:
        raise IDXError(f"{path}: truncated IDX file: shape {tuple(shape)} of {dt.name} needs "
                       f"{need} bytes, the file has {len(buf)}")
    if len(buf) > need:
        raise IDXError(f"{path}: corrupt IDX file: {len(buf) - need} unexpected trailing bytes "
                       f"after shape {tuple(shape)} of {dt.name}")
    arr = np.frombuffer(buf, dtype=dt, count=count, offset=hdr).reshape(shape)
    return arr.astype(dt.newbyteorder("="), copy=True)


# ---------------------------------------------------------------------------
# Splits and batches
# ---------------------------------------------------------------------------

def _as_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def train_val_test_split(X, y, val=0.15, test=0.15, seed=0, stratify=True):
    """Shuffle and split ``(X, y)`` into train, validation and test sets.

    ``val`` and ``test`` are fractions in [0, 1) (their sum below 1) or
    absolute counts (ints).  With ``stratify=True`` (default) and integer
    labels, every class is split in the same proportions.  The split depends
    only on ``seed`` (an int or a numpy Generator).

    Returns ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"train_val_test_split: X has {n} samples but y has {len(y)}")

    def count(frac, name):
        if isinstance(frac, (int, np.integer)) and not isinstance(frac, bool) and frac >= 1:
            if frac > n:
                raise ValueError(f"train_val_test_split: {name}={frac} exceeds the {n} samples")
            return int(frac)
        frac = float(frac)
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"train_val_test_split: {name} must be a fraction in [0, 1) "
                             f"or a count, got {frac}")
        return frac

    v, t = count(val, "val"), count(test, "test")
    rng = _as_rng(seed)
    if stratify and y.ndim == 1 and y.dtype.kind in "iub":
        idx_val, idx_test, idx_train = [], [], []
        vf = v / n if isinstance(v, int) else v
        tf = t / n if isinstance(t, int) else t
        if vf + tf >= 1.0:
            raise ValueError("train_val_test_split: val + test must leave some training data")
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            nv = int(round(vf * len(members)))
            nt = int(round(tf * len(members)))
            idx_val.append(members[:nv])
            idx_test.append(members[nv:nv + nt])
            idx_train.append(members[nv + nt:])
        parts = [rng.permutation(np.concatenate(p)) for p in (idx_train, idx_val, idx_test)]
    else:
        nv = v if isinstance(v, int) else int(round(v * n))
        nt = t if isinstance(t, int) else int(round(t * n))
        if nv + nt >= n:
            raise ValueError("train_val_test_split: val + test must leave some training data")
        perm = rng.permutation(n)
        parts = [perm[nv + nt:], perm[:nv], perm[nv:nv + nt]]
    return tuple((X[p], y[p]) for p in parts)


def batches(X, y=None, batch_size=32, shuffle=False, rng=None, drop_last=False):
    """Yield mini-batches ``(X_batch, y_batch)`` (or ``X_batch`` alone when y
    is None) along the first axis.

    ``shuffle=True`` draws a fresh permutation from ``rng`` (an int seed or a
    numpy Generator; pass the same Generator across epochs for a different,
    reproducible order each epoch).  The last batch may be smaller unless
    ``drop_last=True``.  Batches are contiguous copies when shuffled, views
    otherwise.
    """
    X = np.asarray(X)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"batches: X has {len(X)} samples but y has {len(y)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batches: batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be positive, got {batch_size}")
    n = len(X)
    order = _as_rng(rng).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            sl = slice(start, min(start + batch_size, n))
            xb = X[sl]
            yb = None if y is None else y[sl]
        else:
            sel = order[start:start + batch_size]
            xb = X[sel]
            yb = None if y is None else y[sel]
        yield xb if y is None else (xb, yb)
