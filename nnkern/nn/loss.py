"""Losses: ``forward(pred, target)`` returns the loss (a Python float, or an
array with ``reduction='none'``); ``backward(grad_output=1.0)`` returns the
gradient with respect to ``pred``."""
import numbers

import numpy as np

from .. import functional as F
from .module import Module, _size_arg

__all__ = ["MSELoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss"]

_REDUCTIONS = ("mean", "sum", "none")


def _pred(loss, pred):
    if not isinstance(pred, np.ndarray):
        raise TypeError(f"{type(loss).__name__}: pred must be a numpy.ndarray, "
                        f"got {type(pred).__name__}")
    if pred.dtype not in (np.float32, np.float64):
        raise TypeError(f"{type(loss).__name__}: pred has dtype {pred.dtype}; nnkern supports "
                        f"float32 and float64 only")
    return pred


def _float_target(loss, pred, target):
    t = np.asarray(target)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{type(loss).__name__}: target has dtype {t.dtype}")
    if t.shape != pred.shape:
        raise ValueError(f"{type(loss).__name__}: target shape {t.shape} does not match pred "
                         f"shape {pred.shape}")
    return t.astype(pred.dtype, copy=False)


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: {reduction!r} is not a valid value for "
                             f"reduction (expected one of {_REDUCTIONS})")
        self.reduction = reduction
        self._cache = None

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def _reduce(self, per, count=None):
        if self.reduction == "none":
            return per
        s = per.sum()
        if self.reduction == "sum":
            return float(s)
        n = per.size if count is None else count
        return float(s / n) if n else float("nan")

    def _scale(self, grad_output, shape, count):
        """Factor applied to the per-element gradient (a scalar or an array)."""
        if self.reduction == "none":
            g = np.asarray(grad_output)
            if g.shape != shape and g.shape != ():
                raise ValueError(f"{type(self).__name__}: grad_output shape {g.shape} does not "
                                 f"match the unreduced loss shape {shape}")
            return g
        if not isinstance(grad_output, numbers.Real) and np.ndim(grad_output) != 0:
            raise ValueError(f"{type(self).__name__}: grad_output must be a scalar for "
                             f"reduction={self.reduction!r}")
        g = float(grad_output)
        if self.reduction == "mean":
            g = g / count if count else float("nan")
        return g

    def _weighted_scaled(self, g, w, grad_output, dtype):
        """Element-wise gradient g times the weights and the reduction's
        scale (1/n for 'mean', grad_output's values for 'none')."""
        s = self._scale(grad_output, g.shape, g.size)
        if w is not None:
            g *= w
        g *= s if np.ndim(s) == 0 else np.asarray(s, dtype=dtype)
        return g.astype(dtype, copy=False)

    def _weights(self, per, pred):
        """Apply the per-element ``weight`` (broadcast to pred) to the losses."""
        if self.weight is None:
            return per, None
        w = np.broadcast_to(self.weight.astype(pred.dtype), pred.shape)
        return per * w, w

    def _cached(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: backward() called before forward()")
        return self._cache


class MSELoss(_Loss):
    """Mean squared error: ``mean((pred - target)**2)``; ``reduction='sum'`` is
    the sum of squared errors.  Gradient ``2 (pred - target) / n``."""

    def forward(self, pred, target):
        _pred(self, pred)
        d = pred - _float_target(self, pred, target)
        self._cache = d
        return self._reduce(d * d)

    def backward(self, grad_output=1.0):
        d = self._cached()
        s = self._scale(grad_output, d.shape, d.size)
        return (2 * s) * d if np.ndim(s) == 0 else (2 * d) * s.astype(d.dtype, copy=False)


class CrossEntropyLoss(_Loss):
    """Cross entropy of logits, as torch.nn.CrossEntropyLoss.

    ``pred``: logits ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``.  ``target``:
    integer class indices ``(N,)`` / ``()`` / ``(N, d1, ...)``, or class
    probabilities of pred's shape.  ``weight`` (C,) rescales classes;
    entries whose target equals ``ignore_index`` do not count; with
    ``reduction='mean'`` the sum is divided by the total weight of the
    counted targets.  ``label_smoothing`` mixes the targets with the uniform
    distribution.  Log-sum-exp keeps it finite for any logits.
    Gradient: ``softmax(pred) - target distribution`` (weighted, scaled).
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        self.ignore_index = _size_arg("CrossEntropyLoss", "ignore_index", ignore_index)
        self.label_smoothing = float(label_smoothing)
        if not 0.0 <= self.label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, "
                             f"got {label_smoothing}")

    def forward(self, pred, target):
        _pred(self, pred)
        if (pred.ndim == 2 and self.weight is None and self.label_smoothing == 0
                and self.reduction != "none" and isinstance(target, np.ndarray)
                and target.dtype.kind in "iu" and target.shape == pred.shape[:1]):
            return self._forward_fast(pred, target)
        if pred.ndim == 0:
            raise ValueError("CrossEntropyLoss: pred must have a class dimension, got a scalar")
        unbatched = pred.ndim == 1
        z = pred[None] if unbatched else pred
        C = z.shape[1]
        if self.weight is not None and self.weight.shape != (C,):
            raise ValueError(f"CrossEntropyLoss: weight has shape {self.weight.shape}, expected "
                             f"({C},) for pred of shape {pred.shape}")
        z2 = np.moveaxis(z, 1, -1).reshape(-1, C)  # (M, C)
        m = z2.max(axis=1, keepdims=True) if C else np.zeros((z2.shape[0], 1), z.dtype)
        m = np.where(np.isfinite(m), m, 0)
        e = np.exp(z2 - m)
        s = e.sum(axis=1, keepdims=True)
        logp = z2 - m - np.log(s)
        p = e / s
        t = np.asarray(target)
        eps = self.label_smoothing
        w = None if self.weight is None else self.weight.astype(pred.dtype)
        if t.dtype.kind in "iu":
            tshape = pred.shape[:1] + pred.shape[2:] if not unbatched else ()
            if t.shape != tshape:
                raise ValueError(f"CrossEntropyLoss: class-index target shape {t.shape} does "
                                 f"not match pred shape {pred.shape} (expected {tshape})")
            t = t.reshape(-1).astype(np.int64)
            valid = t != self.ignore_index
            tv = np.where(valid, t, 0)
            bad = valid & ((t < 0) | (t >= C))
            if bad.any():
                raise ValueError(f"CrossEntropyLoss: Target {int(t[bad][0])} is out of bounds "
                                 f"(expected 0 <= target < {C}, or ignore_index)")
            rows = np.arange(t.size)
            wt = np.ones(t.size, pred.dtype) if w is None else w[tv]
            wt = np.where(valid, wt, 0).astype(pred.dtype)
            nll = -logp[rows, tv]
            if eps > 0:
                smooth = -(logp * (1 if w is None else w)).sum(axis=1) / C
                per = (1 - eps) * nll * wt + eps * smooth * valid
            else:
                per = nll * wt
            q = None
            count = float(wt.sum())
            self._cache = (p, (rows, tv, wt, valid), None, pred.shape, unbatched, count)
        else:
            qf = _float_target(self, pred, target)
            qz = (qf[None] if unbatched else qf)
            q = np.moveaxis(qz, 1, -1).reshape(-1, C)
            if eps > 0:
                q = q * (1 - eps) + eps / C
            wq = q if w is None else q * w
            per = -(wq * logp).sum(axis=1)
            count = float(q.shape[0])
            self._cache = (p, None, wq, pred.shape, unbatched, count)
        if self.reduction == "none":
            out_shape = () if unbatched else pred.shape[:1] + pred.shape[2:]
            return per.reshape(out_shape)
        return self._reduce(per, count)

    def _forward_fast(self, z, t):
        """(N, C) logits, (N,) class indices, no weights or smoothing."""
        N, C = z.shape
        valid = None
        ii = self.ignore_index
        if t.size and (t.min() < 0 or t.max() >= C or (0 <= ii < C and (t == ii).any())):
            valid = t != self.ignore_index
            bad = valid & ((t < 0) | (t >= C))
            if bad.any():
                raise ValueError(f"CrossEntropyLoss: Target {int(t[bad][0])} is out of bounds "
                                 f"(expected 0 <= target < {C}, or ignore_index)")
            t = np.where(valid, t, 0)
        m = z.max(axis=1, keepdims=True) if C else np.zeros((N, 1), z.dtype)
        if not np.isfinite(m).all():
            m = np.where(np.isfinite(m), m, 0)
        e = z - m
        rows = np.arange(N)
        picked = e[rows, t]
        np.exp(e, out=e)
        s = e.sum(axis=1, keepdims=True)
        nll = np.log(s[:, 0]) - picked
        if valid is not None:
            nll *= valid
            count = float(valid.sum())
        else:
            count = float(N)
        self._cache = ("fast", e, s, rows, t, valid, count)
        return self._reduce(nll, count)

    def _backward_fast(self, grad_output):
        _, e, s, rows, t, valid, count = self._cache
        g = e / s
        g[rows, t] -= 1
        if valid is not None:
            g *= valid[:, None]
        g *= self._scale(grad_output, None, count)
        return g

    def backward(self, grad_output=1.0):
        if self._cache is not None and isinstance(self._cache[0], str):
            return self._backward_fast(grad_output)
        p, idx, wq, shape, unbatched, count = self._cached()
        M, C = p.shape
        if idx is not None:
            rows, tv, wt, valid = idx
            eps = self.label_smoothing
            if eps > 0:
                wc = 1 if self.weight is None else self.weight.astype(p.dtype)
                # d/dz of (1-eps) w_t nll + eps/C sum_c w_c (-logp_c), masked
                g = p * ((1 - eps) * wt + eps * valid * (np.sum(wc * np.ones(C)) / C))[:, None]
                g[rows, tv] -= (1 - eps) * wt
                g -= (eps / C) * (valid[:, None] * wc)
            else:
                g = p * wt[:, None]
                g[rows, tv] -= wt
        else:
            g = p * wq.sum(axis=1, keepdims=True) - wq
        out_shape = () if unbatched else shape[:1] + shape[2:]
        s = self._scale(grad_output, out_shape, count)
        if np.ndim(s):
            g *= np.asarray(s, dtype=p.dtype).reshape(-1, 1)
        else:
            g *= s
        # back to pred's layout: (M, C) -> (N, d1.., C) -> (N, C, d1..)
        full = shape if not unbatched else (1,) + shape
        g = np.moveaxis(g.reshape(full[:1] + full[2:] + (C,)), -1, 1)
        g = np.ascontiguousarray(g, dtype=p.dtype)
        return g[0] if unbatched else g


class BCELoss(_Loss):
    """Binary cross entropy of probabilities ``pred`` in [0, 1], as
    torch.nn.BCELoss: ``-w (t log p + (1-t) log(1-p))`` with each log clamped
    at -100.  Gradient ``w (p - t) / max(p (1-p), 1e-12)``."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64)

    def forward(self, pred, target):
        _pred(self, pred)
        t = _float_target(self, pred, target)
        if pred.size and (np.nanmin(pred) < 0 or np.nanmax(pred) > 1):
            raise ValueError("BCELoss: all elements of input should be between 0 and 1")
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(pred), -100)
            l1p = np.maximum(np.log1p(-pred), -100)
        per, w = self._weights(-(t * lp + (1 - t) * l1p), pred)
        self._cache = (pred, t, w)
        return self._reduce(per)

    def backward(self, grad_output=1.0):
        p, t, w = self._cached()
        g = (p - t) / np.maximum((1 - p) * p, 1e-12)
        return self._weighted_scaled(g, w, grad_output, p.dtype)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy in one numerically stable step, as
    torch.nn.BCEWithLogitsLoss: ``max(x,0) - x t + log(1 + exp(-|x|))``.
    Gradient ``sigmoid(x) - t`` (times ``weight``)."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        if pos_weight is not None:
            raise ValueError("BCEWithLogitsLoss: pos_weight is not supported by nnkern")
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64)

    def forward(self, pred, target):
        _pred(self, pred)
        t = _float_target(self, pred, target)
        per, w = self._weights(
            np.maximum(pred, 0) - pred * t + np.log1p(np.exp(-np.abs(pred))), pred)
        self._cache = (pred, t, w)
        return self._reduce(per)

    def backward(self, grad_output=1.0):
        x, t, w = self._cached()
        return self._weighted_scaled(F.sigmoid(x) - t, w, grad_output, x.dtype)
