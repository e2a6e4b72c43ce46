"""Quick pooling benchmark: nnkern vs torch (NCHW and channels_last) vs a
NumPy slice loop, float32, the four ANCHORS.md cases, 1 and 2 threads.

GB/s = (input + output bytes) / time for forward, (grad_output + grad_input
[+ indices]) / time for backward.  Medians over interleaved repetitions; on a
shared machine, quote ratios.   python benchmarks/pool_quick.py [--reps N]
"""
import argparse
import time

import numpy as np

import nnkern
import nnkern.functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover
    torch = None

CASES = [
    ("resnet-maxpool", (8, 64, 112, 112), 3, 2, 1),
    ("lenet-pool", (64, 6, 28, 28), 2, 2, 0),
    ("k2s2-56", (8, 256, 56, 56), 2, 2, 0),
    ("k3s1p1-56", (8, 64, 56, 56), 3, 1, 1),
]


def np_pool(x, k, s, p, op):
    """NumPy slice loop (the ANCHORS baseline): k*k strided slices."""
    N, C, H, W = x.shape
    fill = -np.inf if op == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill) if p else x
    OH = (H + 2 * p - k) // s + 1
    OW = (W + 2 * p - k) // s + 1
    out = None
    for i in range(k):
        for j in range(k):
            v = xp[:, :, i:i + s * (OH - 1) + 1:s, j:j + s * (OW - 1) + 1:s]
            if out is None:
                out = v.copy()
            elif op == "max":
                np.maximum(out, v, out=out)
            else:
                out += v
    return out if op == "max" else out / (k * k)


CLOCK = time.perf_counter
STAT = np.median


def bench(fns, reps):
    """Interleaved timing of several callables; returns median seconds each."""
    times = {name: [] for name in fns}
    for name, f in fns.items():
        f()  # warm-up
    for _ in range(reps):
        for name, f in fns.items():
            t0 = CLOCK()
            f()
            times[name].append(CLOCK() - t0)
    return {name: float(STAT(v)) for name, v in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--clock", choices=["wall", "thread"], default="wall",
                    help="thread: CPU time of the calling thread (1-thread runs on a busy "
                         "machine: excludes time spent descheduled)")
    ap.add_argument("--stat", choices=["median", "min"], default="median",
                    help="min: best repetition (a busy machine's estimate of an idle one)")
    args = ap.parse_args()
    ap_stat = args.stat
    global CLOCK, STAT
    if args.clock == "thread":
        CLOCK = time.thread_time
    if ap_stat == "min":
        STAT = np.min
    rng = np.random.default_rng(0)
    rows = []
    for nt in [int(t) for t in args.threads.split(",")]:
        nnkern.set_num_threads(nt)
        if torch is not None:
            torch.set_num_threads(nt)
        for name, shape, k, s, p in CASES:
            x = rng.standard_normal(shape).astype(np.float32)
            for op in ("max", "avg"):
                if op == "max":
                    y, ind = F.max_pool2d(x, k, s, p, return_indices=True)
                else:
                    y = F.avg_pool2d(x, k, s, p)
                g = rng.standard_normal(y.shape).astype(np.float32)
                fwd = {"nk": (lambda: F.max_pool2d(x, k, s, p)) if op == "max"
                       else (lambda: F.avg_pool2d(x, k, s, p)),
                       "np": lambda: np_pool(x, k, s, p, op)}
                if op == "max":
                    fwd["nk_idx"] = lambda: F.max_pool2d(x, k, s, p, return_indices=True)
                bwd = {"nk": (lambda: F.max_pool2d_backward(g, ind, x.shape)) if op == "max"
                       else (lambda: F.avg_pool2d_backward(g, x.shape, k, s, p))}
                if torch is not None:
                    xt = torch.from_numpy(x)
                    xcl = xt.contiguous(memory_format=torch.channels_last)
                    gt = torch.from_numpy(g)
                    if op == "max":
                        fwd["torch"] = lambda: TF.max_pool2d(xt, k, s, p)
                        fwd["torch_cl"] = lambda: TF.max_pool2d(xcl, k, s, p)
                        it = torch.from_numpy(ind)
                        bwd["torch"] = lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                            gt, xt, [k, k], [s, s], [p, p], [1, 1], False, it)
                    else:
                        fwd["torch"] = lambda: TF.avg_pool2d(xt, k, s, p)
                        fwd["torch_cl"] = lambda: TF.avg_pool2d(xcl, k, s, p)
                        bwd["torch"] = lambda: torch.ops.aten.avg_pool2d_backward(
                            gt, xt, [k, k], [s, s], [p, p], False, True, None)
                tf = bench(fwd, args.reps)
                tb = bench(bwd, args.reps)
                fbytes = x.nbytes + y.nbytes
                bbytes = x.nbytes + y.nbytes + (ind.nbytes if op == "max" else 0)
                rows.append((name, op, nt, tf, tb, fbytes, bbytes))
                r = rows[-1]
                print(fmt(r), flush=True)
    print()
    print(HEADER)
    for r in rows:
        print(fmt(r))


HEADER = ("| case | op | t | nk fwd ms | GB/s | nk fwd+idx ms | torch fwd ms | np loop ms | "
          "torch CL ms | torch/nk | CL/nk | np/nk | nk bwd ms | GB/s | torch bwd ms | "
          "torch/nk bwd |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def fmt(r):
    name, op, nt, tf, tb, fb, bb = r
    ms = lambda v: f"{v * 1e3:.3f}"
    tt, tcl, ttb = tf.get("torch", np.nan), tf.get("torch_cl", np.nan), tb.get("torch", np.nan)
    idx = ms(tf["nk_idx"]) if "nk_idx" in tf else "-"
    return (f"| {name} | {op} | {nt} | {ms(tf['nk'])} | {fb / tf['nk'] / 1e9:.1f} | {idx} | "
            f"{ms(tt)} | {ms(tf['np'])} | {ms(tcl)} | {tt / tf['nk']:.1f}x | "
            f"{tcl / tf['nk']:.2f}x | {tf['np'] / tf['nk']:.1f}x | {ms(tb['nk'])} | "
            f"{bb / tb['nk'] / 1e9:.1f} | {ms(ttb)} | {ttb / tb['nk']:.1f}x |")


if __name__ == "__main__":
    main()
