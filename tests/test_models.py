"""nnkern.models: mlp, lenet5, small_cnn, Autoencoder (+ builders)."""
import numpy as np
import pytest

from nnkern import nn, optim
from nnkern.data import load_digits, train_val_test_split
from nnkern.models import Autoencoder, lenet5, make_activation, mlp, reset_parameters, small_cnn
from nnkern.train import EarlyStopping, evaluate, fit

from _util import num_threads, numerical_grad


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return train_val_test_split(X, y, val=0.15, test=0.15, seed=0)


# -------------------------------------------------------------------- mlp

def test_mlp_structure_and_keys():
    m = mlp([5, 7, 3], "tanh")
    assert [type(l).__name__ for l in m] == ["Linear", "Tanh", "Linear"]
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert m.state_dict()["0.weight"].shape == (7, 5)
    assert m(np.zeros((4, 5), np.float32)).shape == (4, 3)
    m2 = mlp([5, 7, 3], output_activation="sigmoid", bias=False)
    assert type(list(m2)[-1]).__name__ == "Sigmoid"
    assert all(k.endswith("weight") for k in m2.state_dict())


def test_mlp_residual_wraps_non_narrowing_hidden_layers():
    m = mlp([6, 4, 4, 8, 3], residual=True)
    kinds = [type(l).__name__ for l in m]
    # 6->4 narrows: plain; 4->4 and 4->8 (zero-embedding): residual; last layer plain.
    assert kinds == ["Linear", "ReLU", "Residual", "Residual", "Linear"]
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    assert m(x).shape == (3, 3)


def test_mlp_seeded_init_is_reproducible_and_torch_like():
    a, b, c = mlp([64, 32, 10], rng=1), mlp([64, 32, 10], rng=1), mlp([64, 32, 10], rng=2)
    np.testing.assert_array_equal(a.state_dict()["0.weight"], b.state_dict()["0.weight"])
    assert not np.array_equal(a.state_dict()["0.weight"], c.state_dict()["0.weight"])
    w = a.state_dict()["0.weight"]
    assert np.abs(w).max() <= 1 / np.sqrt(64) + 1e-7 and np.abs(w).max() > 0.9 / np.sqrt(64)


@pytest.mark.parametrize("sizes, match", [([3], "at least"), ([3, 0, 2], "positive")])
def test_mlp_errors(sizes, match):
    with pytest.raises(ValueError, match=match):
        mlp(sizes)


def test_make_activation():
    assert type(make_activation("relu")).__name__ == "ReLU"
    assert type(make_activation(nn.Tanh)).__name__ == "Tanh"
    assert make_activation(None) is None
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("swish9")
    with pytest.raises(TypeError, match="instance"):
        make_activation(nn.ReLU())
    with pytest.raises(TypeError):
        make_activation(3)


# -------------------------------------------------------------------- CNNs

def test_lenet5_shapes_and_torch_equivalence():
    m = lenet5(rng=0)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert m(x).shape == (2, 10)
    assert m.num_parameters() == 61706
    torch = pytest.importorskip("torch")
    tn = torch.nn
    ref = tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
                        tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(),
                        tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(), tn.Linear(84, 10))
    m.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(m(x), expected, rtol=1e-4, atol=1e-5)


def test_small_cnn_shapes():
    m = small_cnn(rng=0)
    assert m(np.zeros((3, 1, 8, 8), np.float32)).shape == (3, 10)
    m16 = small_cnn(num_classes=4, in_channels=3, input_size=16, channels=(4, 8))
    assert m16(np.zeros((2, 3, 16, 16), np.float32)).shape == (2, 4)
    with pytest.raises(ValueError, match="too small"):
        small_cnn(input_size=3)


def test_small_cnn_reaches_95_percent_on_digits_quickly(digits):
    train, val, test = digits
    model = small_cnn(rng=0)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    # One thread: results are identical for any thread count, and a single
    # thread keeps this test fast on a busy shared machine.
    with num_threads(1):
        hist = fit(model, nn.CrossEntropyLoss(), opt, train, val=val, epochs=10, batch_size=32,
                   early_stopping=EarlyStopping(patience=3), progress=False, seed=0)
    acc = evaluate(model, test)["accuracy"]
    assert acc >= 0.95, (acc, hist)


# ------------------------------------------------------------- autoencoders

def test_autoencoder_mlp_mirrors_encoder():
    ae = Autoencoder.mlp([64, 32, 2], rng=0)
    enc = [tuple(p.shape) for p in ae.encoder.parameters()]
    dec = [tuple(p.shape) for p in ae.decoder.parameters()]
    assert enc == [(32, 64), (32,), (2, 32), (2,)]
    assert dec == [(32, 2), (32,), (64, 32), (64,)]
    assert type(list(ae.decoder)[-1]).__name__ == "Sigmoid"
    assert list(ae.state_dict())[0] == "encoder.0.weight"
    x = np.random.default_rng(0).random((5, 64)).astype(np.float32)
    z = ae.encode(x)
    assert z.shape == (5, 2)
    np.testing.assert_allclose(ae.decode(z), ae(x), rtol=1e-6)
    out = ae(x)
    assert out.shape == (5, 64) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="at least 2"):
        Autoencoder.mlp([64])


def test_autoencoder_backward_matches_finite_differences():
    ae = Autoencoder.mlp([6, 4, 2], activation="tanh", rng=0).double()
    rng = np.random.default_rng(1)
    x = rng.random((3, 6))
    target = rng.random((3, 6))
    loss = nn.MSELoss()

    def f():
        return loss.forward(ae(x), target)

    ae.zero_grad()
    f()
    gx = ae.backward(loss.backward())
    np.testing.assert_allclose(gx, numerical_grad(f, x), rtol=1e-5, atol=1e-8)
    for name, p in ae.named_parameters():
        np.testing.assert_allclose(p.grad, numerical_grad(f, p.data), rtol=1e-5, atol=1e-8, err_msg=name)


def test_autoencoder_loss_falls_on_digits(digits):
    (Xtr, _), (Xva, _), _ = digits
    Xtr, Xva = Xtr.reshape(len(Xtr), -1), Xva.reshape(len(Xva), -1)
    ae = Autoencoder.mlp([64, 32, 2], rng=0)
    hist = fit(ae, nn.MSELoss(), optim.Adam(ae.parameters(), lr=3e-3), (Xtr, Xtr), val=(Xva, Xva),
               epochs=8, batch_size=32, progress=False, seed=0)
    assert hist.train_loss[-1] < 0.75 * hist.train_loss[0]
    assert hist.val_loss[-1] < 0.75 * hist.val_loss[0]
    assert ae.encode(Xva).shape == (len(Xva), 2)


@pytest.mark.parametrize("upsample", ["transpose", "nearest"])
def test_conv_autoencoder_shapes_and_training_step(upsample):
    ae = Autoencoder.conv((1, 4, 8), upsample=upsample, rng=0)
    x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    assert ae.encode(x).shape == (2, 8, 2, 2)
    out = ae(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    kinds = [type(l).__name__ for l in ae.decoder]
    assert ("ConvTranspose2d" in kinds) == (upsample == "transpose")
    assert ("Upsample" in kinds) == (upsample == "nearest")
    loss = nn.MSELoss()
    opt = optim.Adam(ae.parameters(), lr=1e-2)
    first = None
    for _ in range(15):
        opt.zero_grad()
        l = loss.forward(ae(x), x)
        first = l if first is None else first
        assert ae.backward(loss.backward()).shape == x.shape
        opt.step()
    assert l < first


def test_conv_autoencoder_dense_code():
    ae = Autoencoder.conv((1, 4, 8), code_dim=3, input_shape=(1, 8, 8), rng=0)
    x = np.zeros((2, 1, 8, 8), np.float32)
    assert ae.encode(x).shape == (2, 3)
    assert ae(x).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="input_shape"):
        Autoencoder.conv((1, 4), code_dim=3)
    with pytest.raises(ValueError, match="divisible"):
        Autoencoder.conv((1, 4, 8), code_dim=3, input_shape=(1, 6, 6))
    with pytest.raises(ValueError, match="upsample"):
        Autoencoder.conv((1, 4), upsample="bilinear9")


def test_reset_parameters_covers_conv_transpose():
    ae = Autoencoder.conv((1, 4), rng=0)
    before = {k: v.copy() for k, v in ae.state_dict().items()}
    reset_parameters(ae, rng=5)
    after = ae.state_dict()
    assert all(not np.array_equal(before[k], after[k]) for k in before)
