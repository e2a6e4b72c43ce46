"""Test helpers: finite differences, thread-count context."""
import contextlib

import numpy as np

import nnkern


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
