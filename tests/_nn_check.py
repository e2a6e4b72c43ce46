"""Helpers for the nn tests: float64 finite-difference checks of a module's
backward (input and every parameter gradient)."""
import numpy as np

from _util import numerical_grad


def check_module_grad(module, x, rng=None, rtol=1e-6, atol=1e-7, eps=1e-6):
    """loss = sum(module(x) * R) for a random R; compares module.backward(R)
    and the accumulated parameter gradients with central differences."""
    rng = np.random.default_rng(0) if rng is None else rng
    module.double()
    x = np.array(x, dtype=np.float64)
    y = module(x)
    R = rng.standard_normal(y.shape)
    module.zero_grad()
    gi = module.backward(R)

    def f():
        return float(np.sum(module(x) * R))

    num = numerical_grad(f, x, eps)
    np.testing.assert_allclose(gi, num, rtol=rtol, atol=atol, err_msg="input gradient")
    for name, p in module.named_parameters():
        g = p.grad
        numg = numerical_grad(f, p.data, eps)
        np.testing.assert_allclose(g, numg, rtol=rtol, atol=atol, err_msg=f"grad of {name}")
    return gi
