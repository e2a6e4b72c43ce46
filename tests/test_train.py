"""nnkern.train: fit, EarlyStopping, tol convergence, History, evaluate, predict."""
import json

import numpy as np
import pytest

from nnkern import nn, optim
from nnkern.train import EarlyStopping, History, evaluate, fit, predict


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    return X, y


def classification_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2, 0], [-2, 0], [0, 2.5]], np.float32)
    X = (centres[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return X, y


class ScriptedLoss(nn.MSELoss):
    """MSE in training; in eval mode (the validation pass) it returns the next
    scripted value and records the weights the model had at that moment."""

    def __init__(self, model, script):
        super().__init__()
        self.model, self.script, self.calls, self.seen = model, list(script), 0, []

    def forward(self, pred, target):
        value = super().forward(pred, target)
        if self.model.training:
            return value
        self.seen.append({k: v.copy() for k, v in self.model.state_dict().items()})
        value = self.script[self.calls]
        self.calls += 1
        return value


def scripted_fit(script, patience, min_delta=0.0, restore_best=True, epochs=None):
    X, y = regression_data()
    model = nn.Linear(3, 1)
    loss = ScriptedLoss(model, script)
    es = EarlyStopping(patience=patience, min_delta=min_delta, restore_best=restore_best)
    hist = fit(model, loss, optim.SGD(model.parameters(), lr=0.05), (X, y), val=(X[:8], y[:8]),
               epochs=epochs or len(script), batch_size=16, early_stopping=es, progress=False, seed=0)
    return model, loss, hist


def assert_state_equal(model, state):
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])


# ------------------------------------------------------------ early stopping

def test_early_stopping_stops_at_right_epoch_and_restores_best():
    script = [1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.71, 0.5, 0.4]
    model, loss, hist = scripted_fit(script, patience=3)
    assert hist.stop_reason == "early_stopping"
    assert hist.stop_epoch == 7            # epochs 5, 6, 7 do not beat 0.7 (epoch 4)
    assert hist.best_epoch == 4 and hist.best_loss == 0.7
    assert hist.val_loss == script[:7]
    assert len(hist.train_loss) == 7 and hist.epochs == list(range(1, 8))
    assert hist.restored
    assert_state_equal(model, loss.seen[3])  # weights after epoch 4
    # ...and they differ from the last epoch's weights, so the restore did something.
    assert not np.array_equal(model.state_dict()["weight"], loss.seen[6]["weight"])


def test_early_stopping_min_delta():
    script = [1.0, 0.97, 0.96, 0.95, 0.5]
    model, loss, hist = scripted_fit(script, patience=2, min_delta=0.1)
    assert (hist.stop_epoch, hist.best_epoch, hist.stop_reason) == (3, 1, "early_stopping")
    assert_state_equal(model, loss.seen[0])


def test_early_stopping_without_restore_keeps_last_weights():
    model, loss, hist = scripted_fit([1.0, 2.0, 3.0, 0.1], patience=2, restore_best=False)
    assert hist.stop_epoch == 3 and not hist.restored
    assert_state_equal(model, loss.seen[2])


def test_epochs_run_out_restores_best_when_it_was_earlier():
    model, loss, hist = scripted_fit([1.0, 0.5, 0.6], patience=5)
    assert hist.stop_reason == "epochs" and hist.stop_epoch == 3 and hist.best_epoch == 2
    assert hist.restored
    assert_state_equal(model, loss.seen[1])


def test_early_stopping_unit_and_validation():
    es = EarlyStopping(patience=2, restore_best=False)
    model = nn.Linear(2, 1)
    assert [es.update(v, model, i + 1) for i, v in enumerate([3, 2, 2, 2])] == [False, False, False, True]
    assert es.best_epoch == 2 and es.stopped_epoch == 4 and es.best_state is None
    es.reset()
    assert es.best_epoch is None and es.wait == 0
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(TypeError, match="patience"):
        EarlyStopping(patience=1.5)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-1)
    X, y = regression_data()
    with pytest.raises(ValueError, match="val"):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (X[:, :2], y),
            early_stopping=EarlyStopping(2), progress=False)


# ------------------------------------------------------------------- tol

def test_tol_convergence_on_training_objective():
    X, y = regression_data(128)
    model = nn.Linear(3, 1)
    tol = 1e-3
    hist = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=200,
               batch_size=32, tol=tol, progress=False, seed=1)
    assert hist.stop_reason == "tol"
    L = hist.train_loss
    assert 2 <= len(L) < 200
    assert abs(L[-1] - L[-2]) < tol
    assert all(abs(a - b) >= tol for a, b in zip(L[:-2], L[1:-1]))
    assert "tol" in hist.stop_message
    assert L[-1] < 0.1 * L[0]


def test_fit_argument_errors():
    X, y = regression_data()
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.MSELoss(), opt, (X, y), epochs=0, progress=False)
    with pytest.raises(ValueError, match="tol"):
        fit(model, nn.MSELoss(), opt, (X, y), tol=-1, progress=False)
    with pytest.raises(TypeError, match=r"\(X, y\)"):
        fit(model, nn.MSELoss(), opt, X, progress=False)
    with pytest.raises(ValueError, match="samples"):
        fit(model, nn.MSELoss(), opt, (X, y[:5]), progress=False)
    with pytest.raises(TypeError, match="EarlyStopping"):
        fit(model, nn.MSELoss(), opt, (X, y), val=(X, y), early_stopping=3, progress=False)


# --------------------------------------------------------------- History

def test_history_contents_classification(tmp_path):
    X, y = classification_data()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    hist = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02), (X[:90], y[:90]),
               val=(X[90:], y[90:]), epochs=6, batch_size=16, progress=False, seed=0)
    assert isinstance(hist, History) and len(hist) == 6
    assert hist.stop_reason == "epochs" and hist.stop_epoch == 6
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "epoch_time", "samples_per_sec"):
        assert len(hist[key]) == 6, key
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["val_accuracy"][-1] > 0.9
    assert all(0 <= a <= 1 for a in hist["train_accuracy"])
    assert hist.monitor == "val_loss" and hist.best_epoch is not None
    d = json.loads(json.dumps(hist.to_dict()))
    assert d["stop_reason"] == "epochs" and len(d["metrics"]["val_accuracy"]) == 6
    last = hist.last()
    assert last["epoch"] == 6 and "val_accuracy" in last
    assert "History(" in repr(hist)
    path = hist.plot(tmp_path / "curves.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # the val evaluation matches evaluate() on the final weights
    ev = evaluate(model, (X[90:], y[90:]), nn.CrossEntropyLoss())
    assert ev["loss"] == pytest.approx(hist.val_loss[-1], rel=1e-6)
    assert ev["accuracy"] == pytest.approx(hist["val_accuracy"][-1])


def test_history_regression_has_no_accuracy_and_plots(tmp_path):
    X, y = regression_data()
    model = nn.Linear(3, 1)
    hist = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=3,
               progress=False)
    assert hist.metrics == {} and hist.val_loss == [] and hist.monitor == "train_loss"
    with pytest.raises(KeyError):
        hist["val_accuracy"]
    hist.plot(tmp_path / "sub" / "r.png")
    assert (tmp_path / "sub" / "r.png").stat().st_size > 1000


def test_progress_bar_shows_loss_and_throughput(capsys):
    X, y = regression_data()
    model = nn.Linear(3, 1)
    fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), val=(X, y), epochs=2,
        progress=True)
    err = capsys.readouterr().err
    assert "samples/s" in err and "val_loss" in err
    fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=2, progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------- interrupts and callbacks

class InterruptingLoss(nn.MSELoss):
    """Raises KeyboardInterrupt at the given training-batch call."""

    def __init__(self, model, at_call):
        super().__init__()
        self.model, self.at_call, self.calls, self.val_states = model, at_call, 0, []

    def forward(self, pred, target):
        if self.model.training:
            self.calls += 1
            if self.calls == self.at_call:
                raise KeyboardInterrupt
        else:
            self.val_states.append({k: v.copy() for k, v in self.model.state_dict().items()})
        return super().forward(pred, target)


def test_ctrl_c_stops_cleanly_and_keeps_best_weights():
    X, y = regression_data(64)
    model = nn.Linear(3, 1)
    loss = InterruptingLoss(model, at_call=4 * 3 + 2)  # 4 batches/epoch: mid-epoch 4
    hist = fit(model, loss, optim.SGD(model.parameters(), lr=0.05), (X, y), val=(X, y), epochs=50,
               batch_size=16, progress=False, seed=0)
    assert hist.stop_reason == "interrupted" and hist.stop_epoch == 3
    assert "Ctrl-C" in hist.stop_message and hist.restored
    assert hist.best_epoch == int(np.argmin(hist.val_loss)) + 1
    assert_state_equal(model, loss.val_states[hist.best_epoch - 1])


def test_ctrl_c_in_first_epoch_keeps_weights():
    X, y = regression_data(64)
    model = nn.Linear(3, 1)
    loss = InterruptingLoss(model, at_call=2)
    hist = fit(model, loss, optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=5,
               batch_size=16, progress=False)
    assert hist.stop_reason == "interrupted" and hist.stop_epoch == 0 and not hist.restored
    assert len(hist) == 0


def test_callbacks_see_history_and_can_stop():
    X, y = regression_data()
    model = nn.Linear(3, 1)
    seen = []

    class Stopper:
        def on_epoch_end(self, hist, model):
            return len(hist) == 2

    hist = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=10,
               callbacks=[lambda h, m: seen.append(h.train_loss[-1]), Stopper()], progress=False)
    assert hist.stop_reason == "callback" and hist.stop_epoch == 2 and len(seen) == 2


def test_non_finite_loss_stops():
    X, y = regression_data()
    X = X.copy()
    X[5, 0] = np.nan
    model = nn.Linear(3, 1)
    hist = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=10,
               progress=False)
    assert hist.stop_reason == "non-finite" and hist.stop_epoch == 1


# ------------------------------------------------------- evaluate / predict

def test_predict_batches_and_restores_mode():
    X, y = classification_data(50)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
    model.train()
    full = model(X)
    out = predict(model, X, batch_size=7)
    assert out.shape == (50, 3)
    np.testing.assert_allclose(out, full, rtol=1e-6, atol=1e-6)
    assert model.training
    model.eval()
    predict(model, X)
    assert not model.training
    with pytest.raises(ValueError, match="empty"):
        predict(model, X[:0])


def test_evaluate_loss_and_accuracy():
    X, y = classification_data(50)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
    ce = nn.CrossEntropyLoss()
    out = model(X)
    expected_acc = float(np.mean(out.argmax(1) == y))
    ev = evaluate(model, (X, y), ce, batch_size=16)
    assert ev["n"] == 50
    assert ev["accuracy"] == pytest.approx(expected_acc)
    assert ev["loss"] == pytest.approx(ce.forward(out, y), rel=1e-5)
    assert set(evaluate(model, (X, y))) == {"n", "accuracy"}
    Xr, yr = regression_data()
    lin = nn.Linear(3, 1)
    s = nn.MSELoss(reduction="sum")
    assert evaluate(lin, (Xr, yr), s, batch_size=10)["loss"] == pytest.approx(s.forward(lin(Xr), yr), rel=1e-5)
