"""conv2d / conv_transpose2d compared with PyTorch (outputs and all gradients)."""
import numpy as np
import pytest

import nnkern.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CONV_CASES = [
    # (N, Cin, H, W, Cout, k, stride, padding, dilation, groups)
    (2, 3, 11, 9, 4, (3, 2), 1, 1, 1, 1),
    (2, 4, 12, 13, 6, 3, (2, 1), (1, 2), (2, 1), 2),
    (1, 6, 10, 10, 6, 3, 1, "same", 1, 6),          # depthwise, 'same'
    (2, 3, 9, 8, 5, (2, 4), 1, "same", (2, 1), 1),  # even kernel: asymmetric 'same'
    (3, 3, 16, 16, 8, 7, 2, 3, 1, 1),               # stem-like
    (2, 8, 7, 7, 16, 1, 1, 0, 1, 1),                # 1x1
    (2, 4, 9, 9, 4, 3, 1, 4, 4, 1),                 # dilation 4
    (1, 1, 28, 28, 6, 5, 1, 2, 1, 1),               # LeNet c1
    (2, 2, 5, 5, 3, 5, 1, "valid", 1, 1),           # kernel = input
]


def _t(a, grad=False):
    return torch.tensor(a, requires_grad=grad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_matches_torch(isa, dtype, case):
    N, Cin, H, W, Cout, k, s, p, d, g = case
    k = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, Cin, H, W)).astype(dtype)
    w = rng.standard_normal((Cout, Cin // g) + k).astype(dtype)
    b = rng.standard_normal(Cout).astype(dtype)
    xt, wt, bt = _t(x, True), _t(w, True), _t(b, True)
    yt = TF.conv2d(xt, wt, bt, s, p, d, g)
    y = F.conv2d(x, w, b, s, p, d, g)
    dy = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(_t(dy))
    gi, gw, gb = F.conv2d_backward(dy, x, w, s, p, d, g)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for got, ref in ((y, yt.detach()), (gi, xt.grad), (gw, wt.grad), (gb, bt.grad)):
        ref = ref.numpy()
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1, np.abs(ref).max()))


TRANSPOSE_CASES = [
    # (N, Cin, H, W, Cout, k, stride, padding, output_padding, groups, dilation)
    (2, 4, 5, 6, 3, (3, 2), 2, 1, 1, 1, 1),
    (2, 4, 5, 6, 6, 3, (2, 3), (1, 0), (1, 2), 2, 1),
    (1, 4, 4, 4, 4, 3, 1, 1, 1, 1, 2),
    (2, 8, 7, 7, 4, 1, 1, 0, 0, 1, 1),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose2d_matches_torch(isa, dtype, case):
    N, Cin, H, W, Cout, k, s, p, op, g, d = case
    k = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, Cin, H, W)).astype(dtype)
    w = rng.standard_normal((Cin, Cout // g) + k).astype(dtype)
    b = rng.standard_normal(Cout).astype(dtype)
    xt, wt, bt = _t(x, True), _t(w, True), _t(b, True)
    yt = TF.conv_transpose2d(xt, wt, bt, s, p, op, g, d)
    y = F.conv_transpose2d(x, w, b, s, p, op, g, d)
    dy = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(_t(dy))
    gi, gw, gb = F.conv_transpose2d_backward(dy, x, w, s, p, op, g, d)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for got, ref in ((y, yt.detach()), (gi, xt.grad), (gw, wt.grad), (gb, bt.grad)):
        ref = ref.numpy()
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1, np.abs(ref).max()))
