"""Smoke test for an installed wheel, run by .ci/run from outside the source
tree (not collected by pytest: its name does not start with test_)."""
import os
import sys

import numpy as np

import nnkern

here = os.path.dirname(os.path.abspath(__file__))
pkg = os.path.dirname(os.path.abspath(nnkern.__file__))
assert not pkg.startswith(os.path.dirname(here)), f"imported the source tree: {pkg}"
cfg = nnkern.show_config()
assert cfg["version"] == nnkern.__version__
F = nnkern.functional
rng = np.random.default_rng(0)
checks = 0
if hasattr(F, "linear"):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    w = rng.standard_normal((3, 5)).astype(np.float32)
    y = F.linear(x, w)
    np.testing.assert_allclose(y, x @ w.T, rtol=1e-5, atol=1e-5)
    gx, gw, gb = F.linear_backward(np.ones_like(y), x, w)
    np.testing.assert_allclose(gx, np.ones_like(y) @ w, rtol=1e-5, atol=1e-5)
    checks += 1
if hasattr(F, "conv2d"):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (2, 4, 8, 8)
    gx, gw, gb = F.conv2d_backward(np.ones_like(y), x, w, padding=1)
    assert gx.shape == x.shape and gw.shape == w.shape
    checks += 1
if hasattr(F, "max_pool2d"):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(y, x.reshape(2, 3, 4, 2, 4, 2).max(axis=(3, 5)))
    gx = F.max_pool2d_backward(np.ones_like(y), idx, x.shape)
    assert gx.sum() == y.size
    checks += 1
print(f"wheel smoke test passed ({checks} kernel families checked) from {pkg}")
sys.exit(0)
