"""nnkern.diagnostics: gradient/spectral norms, depth experiment, loss landscape."""
import numpy as np
import pytest

from nnkern import diagnostics as D
from nnkern import nn
from nnkern.models import mlp, small_cnn
from nnkern.train import evaluate


def small_problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    return X, y


# ------------------------------------------------------------ norms

def test_gradient_norms_per_layer_and_parameter():
    X, y = small_problem()
    m = mlp([5, 8, 3], rng=0)
    assert all(v == 0.0 for v in D.gradient_norms(m).values())  # no backward yet
    loss = nn.CrossEntropyLoss()
    loss.forward(m(X), y)
    m.backward(loss.backward())
    per_p = D.gradient_norms(m, by="parameter")
    per_l = D.gradient_norms(m)
    assert list(per_l) == ["0", "2"] and list(per_p) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    sd = dict(m.named_parameters())
    for k, v in per_p.items():
        assert v == pytest.approx(np.linalg.norm(sd[k].grad))
    assert per_l["0"] == pytest.approx(np.hypot(per_p["0.weight"], per_p["0.bias"]))
    with pytest.raises(ValueError, match="by"):
        D.gradient_norms(m, by="module")


def test_spectral_norms_linear_and_conv():
    m = small_cnn(rng=0)
    s = D.spectral_norms(m)
    assert list(s) == ["0.weight", "3.weight", "7.weight"]
    w = dict(m.named_parameters())
    for k, v in s.items():
        mat = w[k].data.reshape(w[k].data.shape[0], -1).astype(np.float64)
        assert v == pytest.approx(np.linalg.svd(mat, compute_uv=False)[0], rel=1e-6)


def test_spectral_norms_conv_transpose_uses_output_channels():
    m = nn.Sequential(nn.ConvTranspose2d(3, 5, 2, stride=2))
    w = m.state_dict()["0.weight"].astype(np.float64)  # (C_in, C_out, kh, kw)
    expected = np.linalg.svd(np.swapaxes(w, 0, 1).reshape(5, -1), compute_uv=False)[0]
    assert D.spectral_norms(m)["0.weight"] == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------ depth experiment

def test_depth_experiment_plain_vanishes_residual_does_not(tmp_path):
    depths = [2, 4, 8, 16]
    res = D.depth_experiment(depths, repeats=2, seed=0, plot=tmp_path / "depth.png")
    plain, resid = res["plain"], res["residual"]
    assert plain.shape == resid.shape == (4,) and res["plain_all"].shape == (4, 2)
    assert np.all(np.diff(plain) < 0), plain            # shrinks with every doubling of depth
    assert plain[-1] < 0.05 * plain[0], plain           # ... by a lot
    assert resid[-1] > 0.5 * resid[0], resid            # the residual one does not shrink
    assert resid[-1] > 100 * plain[-1]
    assert (tmp_path / "depth.png").read_bytes()[:4] == b"\x89PNG"


def test_depth_experiment_with_training_and_weight_decay_on_given_data():
    X, y = small_problem()
    res = D.depth_experiment([2, 6], residual=(False,), data=(X, y), steps=3, weight_decay=0.1,
                             repeats=1, width=8, seed=1)
    assert res["variants"] == ["plain"] and "residual" not in res
    assert res["plain"].shape == (2,) and np.all(res["plain"] > 0)
    with pytest.raises(ValueError, match="depths"):
        D.depth_experiment([1, 2])


# ------------------------------------------------------------ loss landscape

def test_filter_normalized_directions():
    m = small_cnn(rng=0)
    d = D.random_directions(m, rng=0)
    for name, p in m.named_parameters():
        if p.data.ndim == 1:
            assert np.all(d[name] == 0)
        else:
            ax = tuple(range(1, p.data.ndim))
            np.testing.assert_allclose(np.sqrt((d[name] ** 2).sum(ax)),
                                       np.sqrt((p.data.astype(np.float64) ** 2).sum(ax)), rtol=1e-6)
    d2 = D.random_directions(m, normalization="layer", ignore_bias=False, rng=0)
    for name, p in m.named_parameters():
        assert np.linalg.norm(d2[name]) == pytest.approx(np.linalg.norm(p.data), rel=1e-5)
    with pytest.raises(ValueError, match="normalization"):
        D.random_directions(m, normalization="batch")


@pytest.mark.parametrize("directions, steps", [(1, 7), (2, 5)])
def test_landscape_shape_centre_and_restore(tmp_path, directions, steps):
    X, y = small_problem()
    m = mlp([5, 8, 3], rng=0)
    loss = nn.CrossEntropyLoss()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    path = tmp_path / f"land{directions}.png"
    res = D.loss_landscape(m, loss, (X, y), directions=directions, span=0.5, steps=steps, seed=0, plot=path)
    shape = (steps,) if directions == 1 else (steps, steps)
    assert res["losses"].shape == shape and res["accuracies"].shape == shape
    assert res["alphas"].shape == (steps,) and res["alphas"][steps // 2] == 0.0
    assert res["alphas"][0] == -0.5 and res["alphas"][-1] == 0.5
    centre = evaluate(m, (X, y), loss)["loss"]
    assert res["center_loss"] == centre
    c = steps // 2
    assert (res["losses"][c] if directions == 1 else res["losses"][c, c]) == centre
    assert np.all(np.isfinite(res["losses"]))
    assert np.ptp(res["losses"]) > 0
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert path.read_bytes()[:4] == b"\x89PNG"
    again = D.loss_landscape(m, loss, (X, y), directions=directions, span=0.5, steps=steps, seed=0)
    np.testing.assert_array_equal(again["losses"], res["losses"])


def test_landscape_restores_weights_on_error():
    X, y = small_problem()
    m = mlp([5, 8, 3], rng=0)
    before = {k: v.copy() for k, v in m.state_dict().items()}

    class Boom(nn.CrossEntropyLoss):
        calls = 0

        def forward(self, pred, target):
            Boom.calls += 1
            if Boom.calls == 3:
                raise KeyboardInterrupt
            return super().forward(pred, target)

    with pytest.raises(KeyboardInterrupt):
        D.loss_landscape(m, Boom(), (X, y), directions=1, steps=5)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_landscape_errors():
    X, y = small_problem()
    m = mlp([5, 3])
    with pytest.raises(ValueError, match="directions"):
        D.loss_landscape(m, nn.CrossEntropyLoss(), (X, y), directions=3)
    with pytest.raises(ValueError, match="steps"):
        D.loss_landscape(m, nn.CrossEntropyLoss(), (X, y), steps=1)
