"""Training loop: ``fit`` with early stopping and a convergence test,
``History``, ``evaluate`` and ``predict``.

>>> import nnkern.nn as nn, nnkern.optim as optim
>>> from nnkern.train import fit, EarlyStopping, evaluate
>>> model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
>>> hist = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
...            (X_train, y_train), val=(X_val, y_val), epochs=100, batch_size=64,
...            early_stopping=EarlyStopping(patience=5))
>>> hist.stop_reason, hist.best_epoch
>>> evaluate(model, (X_test, y_test), loss=nn.CrossEntropyLoss())   # {'loss': .., 'accuracy': ..}

The loop is the seed's gradient descent on mini-batches: for every batch,
``optimizer.zero_grad()``, ``out = model(x)``, ``loss.forward(out, y)``,
``model.backward(loss.backward())``, ``optimizer.step()``.
"""
import math
import sys
import time

import numpy as np

from .data import _as_rng, batches

__all__ = ["fit", "History", "EarlyStopping", "evaluate", "predict", "copy_state", "restore_state"]


# ---------------------------------------------------------------------------
# Weight snapshots
# ---------------------------------------------------------------------------

def copy_state(model):
    """A deep copy of ``model.state_dict()`` (arrays copied)."""
    return {k: np.array(v, copy=True) for k, v in model.state_dict().items()}


def restore_state(model, state):
    """Load a snapshot from :func:`copy_state` back into ``model`` (its
    values are copied into the model's arrays; the snapshot stays intact)."""
    model.load_state_dict(state)


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------

class History:
    """What happened during :func:`fit`.

    Attributes (lists have one entry per completed epoch):

    - ``epochs``: 1-based epoch numbers;
    - ``train_loss``: mean training objective over the epoch's batches;
    - ``val_loss``: validation loss after the epoch (empty without val data);
    - ``metrics``: dict of further per-epoch lists, e.g. ``train_accuracy``
      and ``val_accuracy`` for classification;
    - ``epoch_time`` (seconds) and ``samples_per_sec`` (training throughput);
    - ``stop_epoch``: the last epoch that ran; ``stop_reason``: one of
      ``'epochs'`` (ran them all), ``'early_stopping'``, ``'tol'``
      (converged), ``'interrupted'`` (Ctrl-C), ``'callback'``,
      ``'non-finite'`` (the loss became NaN/inf); ``stop_message`` explains;
    - ``best_epoch`` / ``best_loss``: the best monitored loss (validation loss
      when there is validation data, else training loss) and its epoch;
      ``restored``: True when the weights were reset to that epoch.

    ``h['val_loss']`` indexes by name; ``h.to_dict()`` is JSON-ready;
    ``h.plot('curves.png')`` draws the learning curves.
    """

    def __init__(self):
        self.epochs = []
        self.train_loss = []
        self.val_loss = []
        self.metrics = {}
        self.epoch_time = []
        self.samples_per_sec = []
        self.stop_epoch = 0
        self.stop_reason = None
        self.stop_message = ""
        self.best_epoch = None
        self.best_loss = None
        self.monitor = None
        self.restored = False

    def _log(self, name, value):
        self.metrics.setdefault(name, []).append(float(value))

    def __getitem__(self, key):
        if key in ("train_loss", "val_loss", "epochs", "epoch_time", "samples_per_sec"):
            return getattr(self, key)
        return self.metrics[key]

    def __len__(self):
        return len(self.epochs)

    def last(self):
        """The last epoch's values as a dict."""
        if not self.epochs:
            return {}
        out = {"epoch": self.epochs[-1], "train_loss": self.train_loss[-1]}
        if self.val_loss:
            out["val_loss"] = self.val_loss[-1]
        out.update({k: v[-1] for k, v in self.metrics.items() if v})
        return out

    def to_dict(self):
        return {
            "epochs": list(self.epochs), "train_loss": list(self.train_loss),
            "val_loss": list(self.val_loss), "metrics": {k: list(v) for k, v in self.metrics.items()},
            "epoch_time": list(self.epoch_time), "samples_per_sec": list(self.samples_per_sec),
            "stop_epoch": self.stop_epoch, "stop_reason": self.stop_reason,
            "stop_message": self.stop_message, "best_epoch": self.best_epoch,
            "best_loss": self.best_loss, "monitor": self.monitor, "restored": self.restored,
        }

    def __repr__(self):
        best = f", best_epoch={self.best_epoch}" if self.best_epoch is not None else ""
        return (f"History(epochs={len(self.epochs)}, stop_reason={self.stop_reason!r}"
                f"{best}, last={self.last()})")

    def plot(self, path, title="Learning curves"):
        """Save the learning curves (loss, and accuracy when recorded) to a
        PNG at ``path``; marks the best epoch.  Returns the path."""
        from . import _plot
        acc = [k for k in ("train_accuracy", "val_accuracy") if self.metrics.get(k)]
        ncols = 2 if acc else 1
        fig, axes = _plot.figure(1, ncols, figsize=(5.2 * ncols, 4.0), what="History.plot")
        ax = axes[0][0]
        ax.plot(self.epochs, self.train_loss, "o-", ms=3, label="train")
        if self.val_loss:
            ax.plot(self.epochs, self.val_loss, "s-", ms=3, label="validation")
        positive = all(v > 0 for v in self.train_loss + self.val_loss if np.isfinite(v))
        if positive and self.train_loss:
            ax.set_yscale("log")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="grey", ls="--", lw=1,
                       label=f"best epoch {self.best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" + (" (log scale)" if positive and self.train_loss else ""))
        ax.set_title("Loss")
        ax.grid(True, alpha=0.3)
        ax.legend()
        if acc:
            ax2 = axes[0][1]
            for k, style in zip(acc, ("o-", "s-")):
                ax2.plot(self.epochs, [100 * v for v in self.metrics[k]], style, ms=3,
                         label="train" if k.startswith("train") else "validation")
            if self.best_epoch is not None:
                ax2.axvline(self.best_epoch, color="grey", ls="--", lw=1)
            ax2.set_xlabel("epoch")
            ax2.set_ylabel("accuracy (%)")
            ax2.set_title("Accuracy")
            ax2.grid(True, alpha=0.3)
            ax2.legend()
        reason = f" (stopped: {self.stop_reason}, epoch {self.stop_epoch})" if self.stop_reason else ""
        fig.suptitle(title + reason)
        return _plot.save(fig, path)


# ---------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------

class EarlyStopping:
    """Stop when the validation loss stops improving, and go back to the
    best weights.

    An epoch *improves* when its loss is below ``best - min_delta``.  After
    ``patience`` consecutive epochs without improvement, training stops.
    With ``restore_best=True`` (default) the weights of the best epoch are
    loaded back at the end of :func:`fit` (also when the epochs run out, or
    on Ctrl-C).  ``patience=None`` never stops (it only tracks the best).

    :func:`fit` calls :meth:`reset` at its start, so an instance can be reused.
    """

    def __init__(self, patience=5, min_delta=0.0, restore_best=True):
        if patience is not None:
            if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)):
                raise TypeError(f"EarlyStopping: patience must be an int or None, got {patience!r}")
            if patience < 1:
                raise ValueError(f"EarlyStopping: patience must be >= 1, got {patience}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best = bool(restore_best)
        self.reset()

    def reset(self):
        self.best = math.inf
        self.best_epoch = None
        self.best_state = None
        self.wait = 0
        self.stopped_epoch = None

    def update(self, loss, model, epoch):
        """Record epoch ``epoch``'s monitored loss; snapshot the weights when
        it improves.  Returns True when training should stop."""
        loss = float(loss)
        if loss < self.best - self.min_delta:
            self.best = loss
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best:
                self.best_state = copy_state(model)
            return False
        self.wait += 1
        if self.patience is not None and self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def restore(self, model):
        """Load the best snapshot into ``model``; returns True if it did."""
        if self.restore_best and self.best_state is not None:
            restore_state(model, self.best_state)
            return True
        return False

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"restore_best={self.restore_best})")


# ---------------------------------------------------------------------------
# Evaluation helpers
# ---------------------------------------------------------------------------

def _split_data(data, name):
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = np.asarray(data[0]), np.asarray(data[1])
        if len(X) != len(y):
            raise ValueError(f"{name}: X has {len(X)} samples but y has {len(y)}")
        return X, y
    raise TypeError(f"{name} must be a pair (X, y) of arrays, got {type(data).__name__}")


def _is_classification(out, y):
    return (y.ndim == 1 and y.dtype.kind in "iu" and out.ndim == 2 and out.shape[1] > 1)


def _loss_weight(loss, n_batch):
    """Batch losses are averaged per sample ('mean') or summed ('sum')."""
    return 1.0 if getattr(loss, "reduction", "mean") == "sum" else float(n_batch)


def _finish_loss(loss, total, n):
    return total if getattr(loss, "reduction", "mean") == "sum" else total / max(n, 1)


class _Mode:
    """Switch a model to eval mode and back."""

    def __init__(self, model, training):
        self.model, self.training = model, training

    def __enter__(self):
        self.before = getattr(self.model, "training", True)
        self.model.train(self.training)
        return self.model

    def __exit__(self, *exc):
        self.model.train(self.before)


def predict(model, X, batch_size=256):
    """Run ``model`` over ``X`` in eval mode in batches and return the
    concatenated outputs (the model's mode is restored afterwards)."""
    X = np.asarray(X)
    outs = []
    with _Mode(model, training=False):
        for xb in batches(X, None, batch_size=batch_size):
            outs.append(np.array(model(xb), copy=True))
    if not outs:
        raise ValueError("predict: X is empty")
    return np.concatenate(outs, axis=0)


def evaluate(model, data, loss=None, batch_size=256):
    """Evaluate ``model`` on ``data = (X, y)`` in eval mode.

    Returns a dict with ``'loss'`` (the sample-mean of ``loss``, or the sum
    for ``reduction='sum'``) when a loss is given, ``'accuracy'`` when the
    targets are integer class labels and the outputs are (N, classes)
    scores, and ``'n'``, the number of samples.
    """
    X, y = _split_data(data, "evaluate: data")
    total, correct, n, classification = 0.0, 0, 0, None
    with _Mode(model, training=False):
        for xb, yb in batches(X, y, batch_size=batch_size):
            out = model(xb)
            if loss is not None:
                total += float(loss.forward(out, yb)) * _loss_weight(loss, len(xb))
            if classification is None:
                classification = _is_classification(out, yb)
            if classification:
                correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
            n += len(xb)
    res = {"n": n}
    if loss is not None:
        res["loss"] = _finish_loss(loss, total, n)
    if classification:
        res["accuracy"] = correct / max(n, 1)
    return res


# ---------------------------------------------------------------------------
# Progress display
# ---------------------------------------------------------------------------

class _Progress:
    """A tqdm bar over epochs (loss and samples/s as postfix) or nothing."""

    def __init__(self, enabled, epochs, desc):
        self.bar = None
        self.enabled = enabled
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        # Live per-batch postfix only on a terminal; logs get one line per epoch.
        self.live = bool(getattr(sys.stderr, "isatty", lambda: False)())
        if tqdm is not None:
            self.bar = tqdm(total=epochs, desc=desc, unit="epoch", dynamic_ncols=True,
                            leave=True, file=sys.stderr, mininterval=0.1 if self.live else 0)
        self.last = 0.0

    def batch(self, loss, rate):
        if self.bar is not None and self.live:
            now = time.perf_counter()
            if now - self.last > 0.25:
                self.last = now
                self.bar.set_postfix_str(f"loss={loss:.4g}, {rate:,.0f} samples/s")

    def epoch(self, hist):
        last = hist.last()
        parts = [f"loss={last['train_loss']:.4g}"]
        if "val_loss" in last:
            parts.append(f"val_loss={last['val_loss']:.4g}")
        if "val_accuracy" in last:
            parts.append(f"val_acc={100 * last['val_accuracy']:.1f}%")
        parts.append(f"{hist.samples_per_sec[-1]:,.0f} samples/s")
        text = ", ".join(parts)
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        elif self.enabled:
            print(f"epoch {last['epoch']}: {text}", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------

def _train_epoch(model, loss, optimizer, X, y, batch_size, rng, progress):
    total, correct, n, classification = 0.0, 0, 0, None
    t0 = time.perf_counter()
    for xb, yb in batches(X, y, batch_size=batch_size, shuffle=True, rng=rng):
        optimizer.zero_grad()
        out = model(xb)
        lval = float(loss.forward(out, yb))
        model.backward(loss.backward())
        optimizer.step()
        if classification is None:
            classification = _is_classification(out, yb)
        if classification:
            correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
        total += lval * _loss_weight(loss, len(xb))
        n += len(xb)
        progress.batch(lval, n / max(time.perf_counter() - t0, 1e-9))
        if not math.isfinite(lval):
            break
    dt = time.perf_counter() - t0
    acc = correct / max(n, 1) if classification else None
    return _finish_loss(loss, total, n), acc, dt, n / max(dt, 1e-9)


def fit(model, loss, optimizer, train, val=None, epochs=10, batch_size=32,
        early_stopping=None, tol=None, callbacks=(), progress=True, seed=None):
    """Train ``model`` by mini-batch gradient descent and return a
    :class:`History`.

    Parameters
    ----------
    model : nnkern.nn.Module
    loss : a loss module (``forward(pred, target) -> float``, ``backward()``)
    optimizer : an nnkern.optim optimizer over ``model.parameters()``
    train, val : ``(X, y)`` pairs of arrays (val optional)
    epochs : maximum number of passes over the training data
    batch_size : samples per step; the training data are reshuffled every
        epoch from ``seed`` (int, Generator or None)
    early_stopping : an :class:`EarlyStopping` (needs ``val``); it watches the
        validation loss, stops when it no longer improves and restores the
        best weights
    tol : convergence test on the training objective: stop when
        ``|L_epoch - L_previous_epoch| < tol``
    callbacks : callables ``cb(history, model)`` (or objects with
        ``on_epoch_end(history, model)``) run after every epoch; a truthy
        return value stops training
    progress : show a tqdm progress bar (loss, val loss, samples/s)

    Ctrl-C (KeyboardInterrupt) ends training cleanly: the returned history
    says ``stop_reason='interrupted'`` and the model keeps the best weights
    seen so far (by validation loss, or by training loss without val data).
    A NaN/inf training loss stops training with ``'non-finite'``.
    """
    X, y = _split_data(train, "fit: train")
    if len(X) == 0:
        raise ValueError("fit: the training data are empty")
    if val is not None:
        Xv, yv = _split_data(val, "fit: val")
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise TypeError("fit: early_stopping must be an EarlyStopping instance")
        if val is None:
            raise ValueError("fit: early_stopping watches the validation loss; pass val=(X_val, y_val)")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"fit: tol must be >= 0, got {tol}")
    callbacks = list(callbacks)

    rng = _as_rng(seed)
    hist = History()
    hist.monitor = "val_loss" if val is not None else "train_loss"
    # The tracker remembers the best weights (for Ctrl-C) even without early stopping.
    tracker = early_stopping if early_stopping is not None else EarlyStopping(patience=None)
    tracker.reset()
    bar = _Progress(progress, epochs, desc=f"fit {type(model).__name__}")
    model.train()
    try:
        for epoch in range(1, epochs + 1):
            tr_loss, tr_acc, dt, rate = _train_epoch(model, loss, optimizer, X, y, batch_size, rng, bar)
            hist.epochs.append(epoch)
            hist.train_loss.append(tr_loss)
            hist.epoch_time.append(dt)
            hist.samples_per_sec.append(rate)
            if tr_acc is not None:
                hist._log("train_accuracy", tr_acc)
            monitored = tr_loss
            if val is not None:
                ev = evaluate(model, (Xv, yv), loss, batch_size=max(batch_size, 256))
                hist.val_loss.append(ev["loss"])
                if "accuracy" in ev:
                    hist._log("val_accuracy", ev["accuracy"])
                monitored = ev["loss"]
            hist.stop_epoch = epoch
            bar.epoch(hist)

            if not math.isfinite(tr_loss):
                hist.stop_reason = "non-finite"
                hist.stop_message = f"the training loss became {tr_loss} in epoch {epoch}"
                break
            stop = tracker.update(monitored, model, epoch)
            if stop and early_stopping is not None:
                hist.stop_reason = "early_stopping"
                hist.stop_message = (f"validation loss did not improve by more than "
                                     f"{tracker.min_delta:g} for {tracker.patience} epochs "
                                     f"(best {tracker.best:.6g} at epoch {tracker.best_epoch})")
                break
            if tol is not None and len(hist.train_loss) >= 2:
                change = abs(hist.train_loss[-1] - hist.train_loss[-2])
                if change < tol:
                    hist.stop_reason = "tol"
                    hist.stop_message = (f"training objective changed by {change:.3g} < tol={tol:g} "
                                         f"between epochs {epoch - 1} and {epoch}")
                    break
            stop_cb = False
            for cb in callbacks:
                fn = getattr(cb, "on_epoch_end", cb)
                if fn(hist, model):
                    stop_cb = True
            if stop_cb:
                hist.stop_reason = "callback"
                hist.stop_message = f"a callback asked to stop after epoch {epoch}"
                break
        else:
            hist.stop_reason = "epochs"
            hist.stop_message = f"ran all {epochs} epochs"
    except KeyboardInterrupt:
        hist.stop_reason = "interrupted"
        hist.stop_message = f"interrupted (Ctrl-C) during epoch {hist.stop_epoch + 1}"
        # Weights may be mid-step; go back to the best complete epoch if any.
        hist.restored = tracker.best_state is not None and tracker.restore(model)
    finally:
        bar.close()

    hist.best_epoch = tracker.best_epoch
    hist.best_loss = None if tracker.best_epoch is None else tracker.best
    if (hist.stop_reason != "interrupted" and early_stopping is not None
            and tracker.best_epoch is not None and tracker.best_epoch != hist.stop_epoch):
        hist.restored = tracker.restore(model)
    return hist
