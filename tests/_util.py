"""Test helpers: finite differences, thread-count context, the SIMD levels."""
import contextlib

import numpy as np

import nnkern
from nnkern import _C

# The SIMD levels this CPU has, for kernels with AVX2 and AVX-512 code only
# (the `simd_level` fixture of conftest.py runs a test once per level).
SIMD_LEVELS = [lvl for lvl in ("avx2", "avx512") if lvl in _C.isa_available()]


def numerical_grad(f, x, eps=1e-6):
    """Central finite differences of the scalar function f at x (float64);
    x is perturbed in place and restored."""
    g = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    gflat = g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


@contextlib.contextmanager
def num_threads(n):
    before = nnkern.get_num_threads()
    nnkern.set_num_threads(n)
    try:
        yield
    finally:
        nnkern.set_num_threads(before)
