"""Timing, thread control and verification shared by run.py and the
pytest-benchmark suites.

Timing (``measure_interleaved``): every implementation of a case is warmed
up, then a batch size ``number`` is calibrated per implementation so that one
sample lasts at least ``batch_target`` seconds (per-call time = sample /
number).  Samples are then taken in rounds that interleave the
implementations (A B C A B C ...), so that drift on a noisy machine hits them
alike.  Each implementation's turn in a round is a block: a ``settle`` sleep
(the previous implementation's OpenMP/BLAS worker threads busy-wait for
milliseconds after their last parallel region; on 2 cores they would steal
the next implementation's second core), one untimed re-warming call for
fast calls, and as many timed samples as fill ``block_time``.  Rounds go on until every implementation has ``min_time``
seconds and ``min_reps`` samples (or ``max_time`` has passed).  Reported:
median, p10, p90 and min of the per-call times.
"""
import contextlib
import gc
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

CONFIGS = {
    # min_time per impl, min_reps, warmup s, batch_target s, block_time s, settle s, max_time per case
    "full": dict(min_time=0.5, min_reps=7, warmup=0.1, batch_target=1e-3, block_time=0.1, settle=0.03,
                 max_time=30.0),
    "quick": dict(min_time=0.05, min_reps=4, warmup=0.02, batch_target=5e-4, block_time=0.03, settle=0.01,
                  max_time=1.5),
    "tiny": dict(min_time=0.002, min_reps=3, warmup=0.0, batch_target=1e-4, block_time=0.001, settle=0.0,
                 max_time=0.05),
}


class VerificationError(AssertionError):
    """Implementations of a benchmark case disagree numerically."""


class Unavailable(Exception):
    """An implementation cannot run here (library or nnkern feature missing)."""


# ------------------------------------------------------------------ threads

def _torch():
    """torch if some implementation has imported it (no import just to set threads)."""
    return sys.modules.get("torch")


@contextlib.contextmanager
def thread_limits(t):
    """nnkern.set_num_threads(t), torch.set_num_threads(t) and OpenBLAS (via
    threadpoolctl) limited to t threads, restored on exit."""
    import nnkern
    torch = _torch()
    old_nk = nnkern.get_num_threads()
    old_torch = torch.get_num_threads() if torch else None
    lim = None
    try:
        import threadpoolctl
        lim = threadpoolctl.threadpool_limits(limits=t, user_api="blas")
    except ImportError:
        pass
    nnkern.set_num_threads(t)
    if torch:
        torch.set_num_threads(t)
    try:
        yield
    finally:
        nnkern.set_num_threads(old_nk)
        if torch:
            torch.set_num_threads(old_torch)
        if lim is not None:
            lim.restore_original_limits()


# ------------------------------------------------------------------ timing

@dataclass
class Stats:
    median: float
    p10: float
    p90: float
    min: float
    samples: int
    number: int

    def as_ms(self):
        return dict(median_ms=self.median * 1e3, p10_ms=self.p10 * 1e3, p90_ms=self.p90 * 1e3,
                    min_ms=self.min * 1e3, samples=self.samples, number=self.number)


def _stats(samples, number):
    s = np.asarray(samples)
    return Stats(float(np.median(s)), float(np.percentile(s, 10)), float(np.percentile(s, 90)),
                 float(s.min()), len(s), number)


def measure_interleaved(fns, cfg, clock=time.perf_counter):
    """fns: {name: zero-arg callable}.  Returns {name: Stats} (seconds per call).
    The cyclic garbage collector is off while timing (as in timeit)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _measure(fns, cfg, clock)
    finally:
        if was_enabled:
            gc.enable()


def _measure(fns, cfg, clock):
    names = list(fns)
    per_call = {}
    # warm-up: >= 2 calls and >= cfg['warmup'] seconds each (one call if a call is slow)
    for n in names:
        fn = fns[n]
        t_start = clock()
        best = math.inf
        calls = 0
        while calls < 2 or clock() - t_start < cfg["warmup"]:
            t0 = clock()
            fn()
            dt = clock() - t0
            best = min(best, dt)
            calls += 1
            if dt > 0.25:
                break
        per_call[n] = max(best, 1e-9)
    number = {n: max(1, int(math.ceil(cfg["batch_target"] / per_call[n]))) for n in names}
    block = {n: max(1, int(cfg["block_time"] / (number[n] * per_call[n]))) for n in names}
    samples = {n: [] for n in names}
    spent = {n: 0.0 for n in names}
    t_begin = clock()
    settle = cfg.get("settle", 0.0) if len(names) > 1 else 0.0
    while True:
        for n in names:
            fn, k = fns[n], number[n]
            if settle:
                time.sleep(settle)  # let the previous implementation's worker threads stop spinning
            if per_call[n] < 0.005:
                fn()  # untimed re-warm after the previous implementation
            for _ in range(block[n]):
                t0 = clock()
                for _ in range(k):
                    fn()
                dt = clock() - t0
                samples[n].append(dt / k)
                spent[n] += dt
        done = all(spent[n] >= cfg["min_time"] and len(samples[n]) >= cfg["min_reps"] for n in names)
        over = clock() - t_begin > cfg["max_time"] and all(len(samples[n]) >= 3 for n in names)
        if done or over:
            break
    return {n: _stats(samples[n], number[n]) for n in names}


# ------------------------------------------------------------------ verification

def to_numpy_list(out):
    """Flatten an implementation's result (array, tensor, float or a nested
    tuple/list of those; None entries dropped) to a list of float64 arrays."""
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(to_numpy_list(o))
        return res
    if hasattr(out, "detach"):  # torch tensor
        out = out.detach().cpu().numpy()
    return [np.asarray(out, dtype=np.float64)]


def max_rel_err(a, b):
    """max|a - b| / max(1, max|b|), NaN-aware (NaN at the same place is equal);
    inf on a shape mismatch or a NaN in one only."""
    if a.shape != b.shape:
        return math.inf
    na, nb = np.isnan(a), np.isnan(b)
    if (na != nb).any():
        return math.inf
    fin = ~na
    if not fin.any():
        return 0.0
    a, b = a[fin], b[fin]
    same_inf = np.isinf(a) & (a == b)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(np.where(same_inf, 0.0, a - b))
    scale = max(1.0, float(np.max(np.abs(np.where(np.isinf(b), 0.0, b)), initial=0.0)))
    return float(np.max(d, initial=0.0)) / scale


def verify_outputs(case_id, outputs, tol):
    """outputs: {impl: list of float64 arrays}.  Compares every pair of
    implementations; raises VerificationError naming the disagreeing ones.
    Returns {"a~b": max relative error}."""
    names = list(outputs)
    errs = {}
    bad = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            oa, ob = outputs[a], outputs[b]
            if len(oa) != len(ob):
                e = math.inf
            else:
                e = max((max_rel_err(x, y) for x, y in zip(oa, ob)), default=0.0)
            errs[f"{a}~{b}"] = e
            if not e <= tol:
                bad.append((a, b, e))
    if bad:
        counts = {}
        for a, b, _ in bad:
            counts[a] = counts.get(a, 0) + 1
            counts[b] = counts.get(b, 0) + 1
        suspect = [n for n, c in counts.items() if c == max(counts.values())]
        detail = "; ".join(f"{a} vs {b}: max rel err {e:.3g}" for a, b, e in bad)
        raise VerificationError(
            f"VERIFICATION FAILED for {case_id} (tolerance {tol:g}): {detail}. "
            f"Suspect implementation(s): {', '.join(suspect)}. Nothing was timed.")
    return errs
