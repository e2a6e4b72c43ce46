"""nnkern.nn layers: forward values, finite-difference backward checks,
shapes, reprs and error paths."""
import numpy as np
import pytest

from nnkern import nn
from _nn_check import check_module_grad



def rng(seed=0):
    return np.random.default_rng(seed)


# -- finite-difference checks of every module ---------------------------------
@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(5, 3, rng=1), (4, 5)),
    (lambda: nn.Linear(5, 3, bias=False, rng=1), (4, 5)),
    (lambda: nn.Linear(5, 3, rng=1), (2, 3, 5)),          # (*, in) inputs
    (lambda: nn.Linear(5, 3, rng=1), (5,)),
    (lambda: nn.Conv2d(2, 3, 3, rng=1), (2, 2, 5, 5)),
    (lambda: nn.Conv2d(4, 4, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2, rng=1),
     (1, 4, 6, 7)),
    (lambda: nn.Conv2d(2, 3, 3, padding="same", bias=False, rng=1), (1, 2, 4, 4)),
    (lambda: nn.Conv2d(2, 3, 3, rng=1), (2, 5, 5)),        # unbatched
    (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, rng=1),
     (2, 3, 3, 3)),
    (lambda: nn.ConvTranspose2d(4, 2, 2, stride=2, groups=2, rng=1), (1, 4, 3, 2)),
    (lambda: nn.MaxPool2d(2), (2, 3, 4, 4)),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
    (lambda: nn.AvgPool2d(2), (2, 3, 4, 6)),
    (lambda: nn.AvgPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
    (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 4, 5)),
    (lambda: nn.AdaptiveAvgPool2d((3, None)), (1, 2, 5, 4)),
    (lambda: nn.Upsample(scale_factor=2), (2, 3, 3, 2)),
    (lambda: nn.Upsample(scale_factor=(1, 3)), (1, 2, 2, 3)),
    (lambda: nn.Upsample(size=(5, 4)), (1, 2, 3, 3)),
    (lambda: nn.Upsample(scale_factor=1.5), (1, 1, 4, 3)),
    (lambda: nn.Flatten(), (2, 3, 2, 2)),
    (lambda: nn.Flatten(0, 2), (2, 3, 2, 2)),
    (lambda: nn.Unflatten(1, (2, 3)), (4, 6)),
    (lambda: nn.ReLU(), (3, 7)),
    (lambda: nn.LeakyReLU(0.2), (3, 7)),
    (lambda: nn.Sigmoid(), (3, 7)),
    (lambda: nn.Tanh(), (3, 7)),
    (lambda: nn.Identity(), (3, 7)),
])
def test_module_gradcheck(make, shape):
    x = rng(1).standard_normal(shape)
    if isinstance(make(), (nn.ReLU, nn.LeakyReLU)):
        x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kink
    check_module_grad(make(), x)


def test_sequential_mlp_and_inplace_relu_gradcheck():
    m = nn.Sequential(nn.Linear(4, 6, rng=0), nn.ReLU(), nn.Linear(6, 5, rng=1), nn.Tanh(),
                      nn.Linear(5, 3, rng=2), nn.LeakyReLU(0.1), nn.Linear(3, 2, rng=3),
                      nn.Sigmoid())
    check_module_grad(m, rng(2).standard_normal((5, 4)))


def test_deep_mlp_gradcheck():
    layers = []
    for i in range(10):
        layers += [nn.Linear(6, 6, rng=i), nn.Tanh() if i % 2 else nn.ReLU()]
    m = nn.Sequential(*layers, nn.Linear(6, 2, rng=99))
    check_module_grad(m, rng(3).standard_normal((3, 6)))


def test_small_cnn_gradcheck():
    m = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3, rng=1), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(4, 3, rng=2))
    check_module_grad(m, rng(4).standard_normal((2, 1, 8, 8)))


def test_conv_autoencoder_gradcheck():
    m = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1, rng=0), nn.ReLU(),
        nn.Flatten(), nn.Linear(8, 3, rng=1), nn.Linear(3, 8, rng=2), nn.Unflatten(1, (2, 2, 2)),
        nn.Upsample(scale_factor=2), nn.ConvTranspose2d(2, 1, 3, padding=1, rng=3),
        nn.Sigmoid())
    check_module_grad(m, rng(5).standard_normal((2, 1, 4, 4)))


# -- skip connections ---------------------------------------------------------
def test_residual_identity_gradcheck():
    m = nn.Residual(nn.Sequential(nn.Linear(4, 4, rng=0), nn.Tanh(), nn.Linear(4, 4, rng=1)))
    check_module_grad(m, rng(6).standard_normal((3, 4)))


def test_residual_zero_embedding_gradcheck_and_value():
    block = nn.Sequential(nn.Linear(3, 5, rng=0), nn.Tanh())
    m = nn.Residual(block).double()
    x = rng(7).standard_normal((4, 3))
    y = m(x)
    expect = block(x).copy()
    expect[:, :3] += x
    np.testing.assert_allclose(y, expect)
    check_module_grad(m, x)


def test_residual_zero_embedding_conv_channels():
    m = nn.Residual(nn.Conv2d(2, 4, 3, padding=1, rng=0))
    check_module_grad(m, rng(8).standard_normal((1, 2, 4, 4)))


def test_residual_shortcut_gradcheck():
    m = nn.Residual(nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, rng=0), nn.ReLU(),
                                  nn.Conv2d(3, 3, 3, padding=1, rng=1)),
                    shortcut=nn.Conv2d(2, 3, 1, stride=2, rng=2))
    check_module_grad(m, rng(9).standard_normal((2, 2, 5, 5)))


def test_residual_pre_and_post_activation_patterns():
    post = nn.Sequential(nn.Residual(nn.Sequential(nn.Linear(4, 4, rng=0), nn.ReLU(),
                                                   nn.Linear(4, 4, rng=1))), nn.ReLU())
    pre = nn.Residual(nn.Sequential(nn.ReLU(), nn.Linear(4, 4, rng=0), nn.ReLU(),
                                    nn.Linear(4, 4, rng=1)))
    x = rng(10).standard_normal((3, 4))
    post.double()
    pre.double()
    W1, b1 = post[0].block[0].weight.data, post[0].block[0].bias.data
    W2, b2 = post[0].block[2].weight.data, post[0].block[2].bias.data
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    np.testing.assert_allclose(post(x), relu(x + relu(x @ W1.T + b1) @ W2.T + b2), rtol=1e-12)
    np.testing.assert_allclose(pre(x), x + relu(relu(x) @ W1.T + b1) @ W2.T + b2, rtol=1e-12)
    check_module_grad(post, x)
    check_module_grad(pre, x)


def test_residual_errors():
    m = nn.Residual(nn.Linear(4, 3))
    with pytest.raises(ValueError,
                       match=r"block output of shape \(2, 3\).*input of shape \(2, 4\)"):
        m(np.zeros((2, 4), np.float32))
    s = nn.Residual(nn.Linear(4, 3), shortcut=nn.Linear(4, 2))
    with pytest.raises(ValueError, match="shortcut output shape"):
        s(np.zeros((2, 4), np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Residual(nn.Linear(2, 2)).backward(np.zeros((1, 2)))
    with pytest.raises(TypeError):
        nn.Residual(lambda x: x)


def test_concat_gradcheck_and_value():
    block = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=0), nn.ReLU())
    m = nn.Concat(block).double()
    x = rng(11).standard_normal((2, 2, 4, 4))
    y = m(x)
    assert y.shape == (2, 5, 4, 4)
    np.testing.assert_array_equal(y[:, :2], x)
    check_module_grad(m, x)
    check_module_grad(nn.Concat(nn.Linear(3, 2, rng=1), dim=-1), rng(12).standard_normal((4, 3)))


def test_concat_errors():
    m = nn.Concat(nn.Conv2d(2, 3, 3))  # no padding: spatial size shrinks
    with pytest.raises(ValueError, match=r"cannot concatenate input of shape \(1, 2, 5, 5\)"):
        m(np.zeros((1, 2, 5, 5), np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Concat(nn.Identity()).backward(np.zeros((1, 2)))


# -- the seed's facts ---------------------------------------------------------
@pytest.mark.parametrize("loss", [nn.MSELoss(), nn.MSELoss(reduction="sum"),
                                  nn.CrossEntropyLoss()])
@pytest.mark.parametrize("bias", [True, False])
def test_all_zero_mlp_has_exactly_zero_gradients(loss, bias):
    """The seed's non-convexity fact: at all-zero weights and biases every
    hidden activation is 0 (relu(0) = tanh(0) = 0), so every weight gradient
    (delta times a zero activation, or a delta sent back through zero weights)
    and every hidden bias gradient is exactly zero, for any data and loss.
    Only the output bias, when there is one, sees the loss gradient."""
    m = nn.Sequential(nn.Linear(5, 7, bias=bias), nn.ReLU(), nn.Linear(7, 6, bias=bias),
                      nn.Tanh(), nn.Linear(6, 3, bias=bias))
    for p in m.parameters():
        p.data[...] = 0
    x = rng(13).standard_normal((8, 5)).astype(np.float32)
    t = rng(14).standard_normal((8, 3)).astype(np.float32) if isinstance(loss, nn.MSELoss) \
        else rng(14).integers(0, 3, 8)
    loss(m(x), t)
    g = loss.backward()
    m.backward(g)
    for name, p in m.named_parameters():
        if name == "4.bias":
            np.testing.assert_allclose(p.grad, g.sum(0), rtol=1e-6)
        else:
            assert p.grad is not None and np.all(p.grad == 0), name


def test_residual_mlp_with_zero_branch_equals_embedded_two_layer_mlp():
    two = nn.Sequential(nn.Linear(3, 5, rng=0), nn.Tanh(), nn.Linear(5, 2, rng=1)).double()
    branch = nn.Sequential(nn.Linear(5, 5, rng=2), nn.Tanh())
    for p in branch.parameters():
        p.data[...] = 0
    three = nn.Sequential(two[0], two[1], nn.Residual(branch), two[2]).double()
    x = rng(15).standard_normal((6, 3))
    np.testing.assert_array_equal(three(x), two(x))


# -- errors name the layer and the shapes ----------------------------------------
def test_shape_errors_name_layer_and_shapes():
    with pytest.raises(ValueError,
                       match=r"Linear\(in_features=4, out_features=2.*\(\*, 4\).*\(3, 5\)"):
        nn.Linear(4, 2)(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*3 channels.*\(1, 2, 8, 8\)"):
        nn.Conv2d(3, 8, 3)(np.zeros((1, 2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d.*\(5, 5\)"):
        nn.Conv2d(1, 1, 3)(np.zeros((5, 5), np.float32))
    with pytest.raises(TypeError, match=r"Linear.*float64.*float32"):
        nn.Linear(2, 2)(np.zeros((1, 2)))
    with pytest.raises(TypeError, match=r"int64"):
        nn.Linear(2, 2)(np.zeros((1, 2), np.int64))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        nn.Linear(2, 2)([[1.0, 2.0]])
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ValueError) as ei:
        m(np.zeros((2, 4), np.float32))
    assert "Linear(in_features=4, out_features=2" in str(ei.value)
    assert "(2, 3)" in str(ei.value)
    assert any("child '2'" in n for n in ei.value.__notes__)


def test_backward_before_forward_raises():
    for m in [nn.Linear(2, 2), nn.Conv2d(1, 1, 1), nn.ConvTranspose2d(1, 1, 1), nn.MaxPool2d(2),
              nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.ReLU(), nn.LeakyReLU(), nn.Sigmoid(),
              nn.Tanh(), nn.Identity(),
              nn.Flatten(), nn.Unflatten(1, (1, 1)), nn.Upsample(scale_factor=2),
              nn.Sequential(nn.Linear(2, 2))]:
        with pytest.raises(RuntimeError, match="before forward"):
            m.backward(np.zeros((1, 2), np.float32))


def test_grad_output_shape_checked():
    m = nn.Linear(3, 2)
    m(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"grad_output has shape \(4, 3\)"):
        m.backward(np.zeros((4, 3), np.float32))
    r = nn.ReLU()
    r(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="ReLU.*grad_output"):
        r.backward(np.zeros((3, 2), np.float32))


def test_maxpool_eval_mode_and_return_indices():
    x = rng(16).standard_normal((1, 2, 4, 4)).astype(np.float32)
    m = nn.MaxPool2d(2)
    m.eval()
    y = m(x)
    with pytest.raises(RuntimeError, match="training mode"):
        m.backward(np.ones_like(y))
    m.train()
    np.testing.assert_array_equal(m(x), y)
    mi = nn.MaxPool2d(2, return_indices=True)
    y2, idx = mi(x)
    np.testing.assert_array_equal(y2, y)
    assert idx.shape == y.shape


def test_constructor_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="either size or scale_factor"):
        nn.Upsample()
    with pytest.raises(ValueError, match="mode"):
        nn.Upsample(scale_factor=2, mode="bilinear")
    with pytest.raises(TypeError, match="dtype"):
        nn.Linear(2, 2, dtype=np.int32)
    with pytest.raises(TypeError):
        nn.Sequential(nn.Linear(1, 1), "relu")
    with pytest.raises(ValueError, match="out of range"):
        nn.Flatten(start_dim=3)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="must multiply to"):
        nn.Unflatten(1, (2, 2))(np.zeros((2, 6), np.float32))


def test_conv_transpose_output_size():
    m = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    x = np.zeros((1, 1, 4, 4), np.float32)
    assert m(x).shape == (1, 1, 7, 7)
    assert m(x, output_size=(8, 8)).shape == (1, 1, 8, 8)
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        m(x, output_size=(9, 9))


def test_upsample_matches_nearest_indexing():
    x = rng(17).standard_normal((1, 1, 3, 4)).astype(np.float32)
    y = nn.Upsample(scale_factor=2)(x)
    np.testing.assert_array_equal(y, x.repeat(2, axis=2).repeat(2, axis=3))
    y = nn.Upsample(size=(2, 2))(x)       # downsampling picks floor(i * in/out)
    np.testing.assert_array_equal(y, x[:, :, [0, 1]][:, :, :, [0, 2]])


def test_inplace_relu_in_sequential_keeps_results():
    m = nn.Sequential(nn.Linear(4, 5, rng=0), nn.ReLU(), nn.Linear(5, 2, rng=1))
    x = rng(18).standard_normal((3, 4)).astype(np.float32)
    x_copy = x.copy()
    W, b = m[0].weight.data, m[0].bias.data
    h = np.maximum(x @ W.T + b, 0)
    np.testing.assert_allclose(m(x), h @ m[2].weight.data.T + m[2].bias.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x, x_copy)  # the input is never overwritten
    r = nn.ReLU()
    r(x)
    np.testing.assert_array_equal(x, x_copy)


def test_backward_without_input_grad_gives_same_parameter_grads():
    def build():
        return nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
            nn.Residual(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=1), nn.Tanh())),
            nn.Concat(nn.Conv2d(3, 1, 1, rng=2)), nn.Upsample(scale_factor=2),
            nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64, 3, rng=3), nn.Sigmoid()).double()
    x = rng(19).standard_normal((2, 1, 8, 8))
    a, b = build(), build()
    g = rng(20).standard_normal((2, 3))
    a(x)
    b(x)
    assert a.backward(g) is not None
    assert b.backward(g, input_grad=False) is None
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, err_msg=n)
    for first in [nn.Linear(4, 2), nn.ReLU(), nn.Flatten(), nn.Identity(),
                  nn.Residual(nn.Linear(4, 4)), nn.Concat(nn.Linear(4, 2))]:
        m = nn.Sequential(first).double()
        y = m(rng(21).standard_normal((3, 4)))
        assert m.backward(np.ones_like(y), input_grad=False) is None


def test_custom_module_in_sequential():
    class Square(nn.Module):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return 2 * self.x * g

    m = nn.Sequential(Square(), nn.Linear(3, 2, rng=0)).double()
    check_module_grad(m, rng(22).standard_normal((2, 3)))
    m(np.ones((2, 3)))
    assert m.backward(np.ones((2, 2)), input_grad=False) is None


def test_residual_zero_embedding_mlp_with_zero_branch_equals_two_layer_mlp():
    """Widening version of the seed's example: the residual layer maps 4 -> 6
    features, J embeds h as [h, 0]; with the branch's weights zero, the next
    layer sees [h, 0], so whatever its extra weight columns are the network
    computes exactly the 2-layer MLP with the first 4 columns."""
    two = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1)).double()
    branch = nn.Sequential(nn.Linear(4, 6, rng=2), nn.Tanh()).double()
    for p in branch.parameters():
        p.data[...] = 0
    head = nn.Linear(6, 2, rng=3).double()
    head.weight.data[:, :4] = two[2].weight.data
    head.bias.data[...] = two[2].bias.data
    three = nn.Sequential(two[0], two[1], nn.Residual(branch), head)
    x = rng(23).standard_normal((5, 3))
    np.testing.assert_array_equal(three(x), two(x))


@pytest.mark.parametrize("act", [nn.ReLU, nn.Sigmoid, nn.Tanh, lambda: nn.LeakyReLU(0.1)])
def test_inplace_paths_in_sequential_match_standalone(act):
    """Sequential runs activations in place (forward on the fresh layer
    output, backward on the owned gradient); results equal the standalone
    composition, and the caller's arrays are never touched."""
    lin1, a, lin2 = nn.Linear(4, 5, rng=0), act(), nn.Linear(5, 3, rng=1)
    seq = nn.Sequential(lin1, a, nn.Flatten(), lin2)
    x = rng(24).standard_normal((6, 4)).astype(np.float32)
    g = rng(25).standard_normal((6, 3)).astype(np.float32)
    x0, g0 = x.copy(), g.copy()
    y = seq(x)
    gi = seq.backward(g)
    grads = [p.grad.copy() for p in seq.parameters()]
    seq.zero_grad()
    y2 = lin2(a(lin1(x)))
    gi2 = lin1.backward(a.backward(lin2.backward(g)))
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(gi, gi2)
    for p, q in zip(grads, seq.parameters()):
        np.testing.assert_array_equal(p, q.grad)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)


def test_no_inplace_on_a_view_of_the_previous_input():
    class ViewLayer(nn.Module):
        _fresh_output = True  # claims a new array, but returns a view

        def forward(self, x):
            return x[:, ::-1]

        def backward(self, g):
            return g[:, ::-1]

    seq = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), ViewLayer(), nn.ReLU())
    x = rng(26).standard_normal((2, 3)).astype(np.float32)
    h = seq[1](seq[0](x)).copy()
    seq(x)
    assert (h < 0).any()
    np.testing.assert_array_equal(seq[1]._t, h)  # Tanh's cached output intact
