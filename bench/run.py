#!/usr/bin/env python3
"""Side-by-side benchmark runner: nnkern vs NumPy vs PyTorch.

    python bench/run.py [--quick] [--threads 1,2] [--only gemm,conv,pool,layers,gil]
                        [--json out.json] [--plot out.png] [--md out.md] [--memory]
    python bench/run.py --merge a.json b.json ... [--json all.json] [--md all.md] [--plot all.png]

For every case of bench/cases.py (the shapes of ANCHORS.md, float32 NCHW):

1. every available implementation (nnkern, the NumPy baseline of
   bench/baselines.py, PyTorch, and for pooling forward PyTorch on a
   channels_last copy) is run once and compared with every other one; any
   disagreement aborts the run before anything is timed (VerificationError);
2. at each thread count (nnkern.set_num_threads, torch.set_num_threads and
   OpenBLAS through threadpoolctl) the implementations are timed interleaved
   (A B C A B C ...) after a warm-up (see harness.py); the median per-call
   time, its p10-p90 spread, GFLOP/s or GB/s, the fraction of the machine's
   peak (FMA peak or copy bandwidth, measured by bench/peak.py) and the
   speed ratios nnkern vs NumPy and nnkern vs PyTorch (their time / nnkern's
   time: > 1 means nnkern is faster) are reported.

``--only gil`` (included by default) measures GIL release: a convolution run
serially 2n times in one Python thread vs n times in each of two Python
threads, every library at 1 thread; speed-up 2.0 is ideal on 2 cores.
``--memory`` adds the peak resident memory of one call per case and
implementation, each measured in a fresh subprocess (bench/memprobe.py).

Fair NumPy numbers: some machines set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
in the environment (older OpenBLAS builds need them there); they make a
current NumPy pick a slower kernel.  Unset both for the benchmark command
only:  ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py``
and check the kernel the JSON reports (meta.threadpool_info[].architecture).
"""
import argparse
import datetime
import gc
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time

from _paths import HERE, ROOT  # noqa: E402,F401  (sets sys.path: this folder, the checkout)

import numpy as np  # noqa: E402

import cases as C  # noqa: E402
import harness as H  # noqa: E402
import peak as PK  # noqa: E402

RATIO_VS = ("numpy", "torch", "torch-cl")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class _Progress:
    """tqdm when installed (and wanted), else a line every few steps."""

    def __init__(self, total, enabled):
        self.bar = None
        self.n, self.total, self.enabled = 0, total, enabled
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, file=sys.stderr, unit="step", dynamic_ncols=True)
            except ImportError:
                pass

    def update(self, desc):
        self.n += 1
        if self.bar is not None:
            self.bar.set_description(desc[:40])
            self.bar.update(1)
        elif self.enabled and (self.n % 10 == 0 or self.n == self.total):
            log(f"[{self.n}/{self.total}] {desc}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ------------------------------------------------------------------ machine info

def machine_info(args, threads):
    import nnkern
    info = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        argv=sys.argv if args.argv is None else ["bench/run.py"] + list(args.argv),
        python=platform.python_version(), platform=platform.platform(), nproc=os.cpu_count(),
        cpu=next((ln.split(":", 1)[1].strip() for ln in _read_lines("/proc/cpuinfo")
                  if ln.startswith("model name")), platform.processor() or "?"),
        threads=threads, numpy=np.__version__, nnkern=nnkern.__version__,
        nnkern_config=nnkern.show_config(print_out=False),
        env={k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                            "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS",
                                            "NNKERN_ARCH", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY",
                                            "MKL_ENABLE_INSTRUCTIONS")},
        git_commit=_git_commit(),
    )
    info["isa"] = info["nnkern_config"].get("isa")
    info["compiler_flags"] = info["nnkern_config"].get("cflags")
    try:
        import threadpoolctl
        info["threadpoolctl"] = threadpoolctl.__version__
        info["threadpool_info"] = threadpoolctl.threadpool_info()
    except ImportError:
        info["threadpoolctl"] = None
    info["torch"] = None
    if args.impls is None or "torch" in args.impls:
        try:
            import torch
            info["torch"] = torch.__version__
            info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        except ImportError:
            pass
    return info


def _read_lines(path):
    try:
        with open(path) as f:
            return f.readlines()
    except OSError:
        return []


def _git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# ------------------------------------------------------------------ verification and timing

def verify_case(case, only_impls=None):
    """Run each implementation once and compare them all; returns (errs, impls, skipped)."""
    inp, fns, skipped = C.instantiate(case, only_impls)
    outputs = {}
    for name, fn in fns.items():
        try:
            out = fn()
            if hasattr(fn, "outputs"):
                out = (out, fn.outputs())
        except Exception as e:
            raise H.VerificationError(f"VERIFICATION FAILED for {case.id}: {name} raised "
                                      f"{type(e).__name__}: {e}. Nothing was timed.") from e
        outputs[name] = H.to_numpy_list(out)
    errs = H.verify_outputs(case.id, outputs, case.tol) if len(outputs) > 1 else {}
    return errs, list(fns), skipped


def rate_of(case, sec):
    if not case.work or sec <= 0:
        return None
    return case.work / sec * 1e-9


def time_case(case, threads, cfg, only_impls, progress):
    inp, fns, _ = C.instantiate(case, only_impls)
    recs = []
    for t in threads:
        with H.thread_limits(t):
            stats = H.measure_interleaved(fns, cfg)
        for impl, st in stats.items():
            recs.append(dict(family=case.family, group=case.group, case=case.name, op=case.op, impl=impl,
                             threads=t, unit=case.unit, work=case.work, params=case.params,
                             rate=rate_of(case, st.median), **st.as_ms()))
        progress.update(f"{case.id} t={t}")
    return recs


# ------------------------------------------------------------------ GIL release

def _gil_impls(size, only_impls):
    """The conv forward of GIL_CASE for each available library."""
    name, (N, Cin, Hh, W, K, R, S, st, pd, dl) = C.GIL_CASE[size]
    rng = np.random.default_rng(1)
    x, w = C._randn(rng, (N, Cin, Hh, W)), C._randn(rng, (K, Cin, R, S), (Cin * R * S) ** -0.5)
    b = C._randn(rng, (K,), 0.1)
    impls = {}
    for impl in ("nnkern", "torch", "numpy"):
        if only_impls and impl not in only_impls:
            continue
        try:
            if impl == "nnkern":
                F = C.nk_functional("conv2d")
                impls[impl] = lambda F=F: F.conv2d(x, w, b, st, pd, dl)
            elif impl == "torch":
                torch = C.torch_mod()
                tx, tw, tb = (torch.from_numpy(a.copy()) for a in (x, w, b))
                impls[impl] = C._no_grad(lambda: torch.nn.functional.conv2d(tx, tw, tb, st, pd, dl))
            else:
                impls[impl] = lambda: C.B.conv2d_fwd(x, w, b, st, pd, dl)
        except H.Unavailable:
            pass
    params = dict(zip("N C H W K R S stride pad dil".split(), C.GIL_CASE[size][1]))
    return name, params, impls


def _two_threads(fn, n):
    """Wall time of two Python threads each calling fn n times; their last results."""
    results = [None, None]
    barrier = threading.Barrier(3)

    def worker(slot):
        barrier.wait()
        r = None
        for _ in range(n):
            r = fn()
        results[slot] = r

    ths = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for th in ths:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in ths:
        th.join()
    return time.perf_counter() - t0, results


def gil_stall(fn, calls):
    """Longest time another Python thread could not run (it spins on
    perf_counter) while this thread makes `calls` calls of fn, and the median
    call time.  A call that holds the GIL stalls the other thread for the
    whole call; one that releases it, for about the switch interval (set to
    0.5 ms here) or a scheduler time slice.  Robust to a busy machine, unlike
    the two-thread speed-up."""
    stop = threading.Event()
    gaps = []

    def ticker():
        last = time.perf_counter()
        worst = 0.0
        while not stop.is_set():
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now
        gaps.append(worst)

    old = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    th = threading.Thread(target=ticker)
    try:
        th.start()
        time.sleep(0.005)
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        stop.set()
        th.join()
        sys.setswitchinterval(old)
    return gaps[0] * 1e3, float(np.median(times)) * 1e3


def measure_gil(size, only_impls=None):
    """GIL release: one Python thread calling a convolution 2n times vs two
    Python threads calling it n times each, every library at 1 thread.
    speedup = serial time / two-thread time (2.0 is ideal on 2 cores).
    Rounds alternate serial and two-thread runs; medians are reported.
    Results from the threads must equal the serial result (bitwise for nnkern)."""
    name, params, impls = _gil_impls(size, only_impls)
    target, rounds = {"full": (0.3, 5), "quick": (0.1, 3), "tiny": (0.003, 1)}[size]
    out = []
    with H.thread_limits(1):
        for impl, fn in impls.items():
            ref = H.to_numpy_list(fn())
            t0 = time.perf_counter()
            fn()
            n = max(2, int(math.ceil(target / max(time.perf_counter() - t0, 1e-6))))
            ratios, ts_all, tp_all = [], [], []
            for _ in range(rounds):
                t0 = time.perf_counter()
                for _ in range(2 * n):
                    fn()
                ts = time.perf_counter() - t0
                tp, results = _two_threads(fn, n)
                ratios.append(ts / tp)
                ts_all.append(ts)
                tp_all.append(tp)
                for r in results:
                    err = max(H.max_rel_err(a, b) for a, b in zip(H.to_numpy_list(r), ref))
                    if (impl == "nnkern" and err != 0.0) or err > 1e-3:
                        raise H.VerificationError(f"GIL test: {impl} gave a different result in two Python "
                                                  f"threads (max rel err {err:.3g})")
            stall_ms, call_ms = gil_stall(fn, {"full": 7, "quick": 3, "tiny": 2}[size])
            out.append(dict(family="gil", case=name, op="fwd", impl=impl, params=params, calls_per_thread=n,
                            rounds=rounds, serial_ms_per_call=float(np.median(ts_all)) / (2 * n) * 1e3,
                            two_threads_ms_per_call=float(np.median(tp_all)) / (2 * n) * 1e3,
                            speedup=float(np.median(ratios)), stall_ms=stall_ms, call_ms_with_ticker=call_ms))
    return out


# ------------------------------------------------------------------ memory

def measure_memory(case, impl, threads, size):
    """Peak resident memory of one call, in a fresh subprocess."""
    cmd = [sys.executable, os.path.join(HERE, "memprobe.py"), "--case", case.id, "--impl", impl,
           "--threads", str(threads), "--size", size]
    env = dict(os.environ)
    # glibc: large blocks straight from mmap and freed memory returned at once, so that the
    # heap does not keep the previous (warm-up) call's memory resident and hide this call's peak
    env["GLIBC_TUNABLES"] = "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=0"
    if ROOT in sys.path:
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != 0:
        return dict(error=(p.stderr.strip().splitlines() or ["?"])[-1])
    return json.loads(p.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ ratios and reports

def compute_ratios(results):
    by = {}
    for r in results:
        by[(r["family"], r["case"], r["op"], r["threads"], r["impl"])] = r
    ratios = []
    for (fam, case, op, t, impl), r in by.items():
        if impl != "nnkern":
            continue
        for other in RATIO_VS:
            o = by.get((fam, case, op, t, other))
            if o:
                ratios.append(dict(family=fam, case=case, op=op, threads=t, vs=other,
                                   ratio=o["median_ms"] / r["median_ms"]))
    return ratios


NOISY_SPREAD = 1.5


def _noisy(r):
    return bool(r) and r["p10_ms"] > 0 and r["p90_ms"] / r["p10_ms"] > NOISY_SPREAD


def _fma_key(isa):
    """The FMA peak that matches nnkern's active ISA path."""
    return "fma512_gflops" if str(isa or "").startswith("avx512") else "fma_gflops"


def _peak_for(peak, unit, t, isa=None):
    if not peak:
        return None
    key = _fma_key(isa) if unit == "GFLOP/s" else "copy_gbs" if unit == "GB/s" else None
    return peak.get(key, {}).get(str(t)) if key else None


def _fmt_ms(r, unit):
    if unit == "us":
        return f"{r['median_ms'] * 1e3:.2f} µs ({r['p10_ms'] * 1e3:.2f}–{r['p90_ms'] * 1e3:.2f})"
    d = 3 if r["median_ms"] < 10 else 2 if r["median_ms"] < 100 else 1
    return f"{r['median_ms']:.{d}f} ({r['p10_ms']:.{d}f}–{r['p90_ms']:.{d}f})"


FAMILY_TITLES = {
    "gemm": "GEMM: C = A[M,K] @ B[K,N] (float32)",
    "linear": "Linear: y = x[M,K] @ W[N,K]^T + b; fwd+bwd also computes dx, dW, db",
    "conv": "Conv2d (NCHW float32): case N,C,H,W,K,R,S,stride,pad,dil (,gG: G groups; G = C: depthwise); bwd = dx + dw + db",
    "pool": "Pooling (NCHW float32): case N,C,H,W k/s/p; GB/s = (input + output) bytes once",
    "layers": "LeNet-5 training step (forward, backward, SGD update)",
    "overhead": "Per-call overhead of a tiny op",
}


def _case_label(fam, case, params):
    if fam == "conv" and params:
        p = params
        w = f" (W: {p['winograd']})" if p.get("winograd") else ""
        g = f",g{p['groups']}" if p.get("groups", 1) > 1 else ""
        return f"{case} {p['N']},{p['C']},{p['H']},{p['W']},{p['K']},{p['R']},{p['S']},{p['stride']},{p['pad']},{p['dil']}{g}{w}"
    if fam == "pool" and params:
        p = params
        return f"{case} {p['N']},{p['C']},{p['H']},{p['W']} {p['k']}/{p['s']}/{p['p']}"
    return case


def markdown(data):
    res, peak, ratios = data["results"], data.get("peak"), data["ratios"]
    meta = data["meta"]
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} kernel)"
                     for i in meta.get("threadpool_info") or [] if i.get("user_api") == "blas")
    L = [f"Machine: {meta['cpu']}, {meta['nproc']} cores; nnkern {meta['nnkern']} (ISA {meta.get('isa')}, "
         f"`{meta.get('compiler_flags')}`); numpy {meta['numpy']}" + (f" with {blas}" if blas else "")
         + (f"; torch {meta['torch']} (CPU capability {meta.get('torch_cpu_capability')})" if meta.get("torch")
            else "; torch absent") + f"; {meta['date']}; command `{' '.join(meta['argv'])}`.", ""]
    if peak:
        L.append("Peak (bench/peak.py): FMA AVX2 " + ", ".join(
            f"{v:.0f} GFLOP/s at {t}t" for t, v in peak["fma_gflops"].items()) + "; copy " + ", ".join(
            f"{v:.1f} GB/s at {t}t" for t, v in peak["copy_gbs"].items()) + (
            "; AVX-512 FMA " + ", ".join(f"{v:.0f} at {t}t" for t, v in peak["fma512_gflops"].items())
            if peak.get("fma512_gflops") else "") + ".")
        L.append("")
    L.append("Times are medians in ms (p10–p90). Ratios = other's median time / nnkern's: "
             "> 1 means nnkern is faster. % peak = nnkern's rate / the FMA peak of nnkern's active ISA path "
             f"({'AVX-512' if _fma_key(meta.get('isa')) == 'fma512_gflops' else 'AVX2'}) for GFLOP/s, or / copy bandwidth "
             "(GB/s; above 100% when the data fits in cache). † = p90/p10 above "
             f"{NOISY_SPREAD} for one of the two: a noisy measurement.")
    if any(r.get("params", {}).get("winograd") for r in res):
        L.append("")
        L.append("(W: ...) = the passes nnkern ran by Winograd F(4x4, 3x3) (fwd; dx, dw of bwd): its "
                 "GFLOP/s and % peak count the direct algorithm's flops, as for the others, while "
                 "Winograd multiplies 4x fewer values, so % peak can pass 100%.")
    rat = {(r["family"], r["case"], r["op"], r["threads"], r["vs"]): r["ratio"] for r in ratios}
    by = {(r["family"], r["case"], r["op"], r["threads"], r["impl"]): r for r in res}
    families = []
    for r in res:
        if r["family"] not in families:
            families.append(r["family"])
    for fam in families:
        rows = [r for r in res if r["family"] == fam]
        impls = [i for i in C.IMPL_ORDER if any(r["impl"] == i for r in rows)]
        vs = [i for i in RATIO_VS if i in impls and "nnkern" in impls]
        unit = rows[0]["unit"]
        hdr = "| case | op | t |"
        for i in impls:
            hdr += f" {i} {'µs' if unit == 'us' else 'ms'} |" + ("" if unit == "us" else f" {unit.split('/')[0]}/s |")
            if i == "nnkern" and unit != "us":
                hdr += " % peak |"
        hdr += "".join(f" vs {v} |" for v in vs)
        ncol = hdr.count("|") - 1
        L += ["", f"### {FAMILY_TITLES.get(fam, fam)}", "", hdr, "|---|---|" + "---:|" * (ncol - 2)]
        keys = []
        for r in rows:
            k = (r["case"], r["op"], r["threads"])
            if k not in keys:
                keys.append(k)
        for (case, op, t) in keys:
            params = next((by[(fam, case, op, t, i)]["params"] for i in impls if (fam, case, op, t, i) in by), {})
            line = f"| {_case_label(fam, case, params)} | {op} | {t} |"
            for i in impls:
                r = by.get((fam, case, op, t, i))
                line += f" {_fmt_ms(r, unit) if r else '—'} |"
                if unit != "us":
                    line += f" {r['rate']:.1f} |" if r and r["rate"] else " — |"
                    if i == "nnkern":
                        pk = _peak_for(peak, unit, t, meta.get("isa"))
                        line += f" {100 * r['rate'] / pk:.0f}% |" if (r and r["rate"] and pk) else " — |"
            for v in vs:
                x = rat.get((fam, case, op, t, v))
                noisy = any(_noisy(by.get((fam, case, op, t, i))) for i in ("nnkern", v))
                line += (f" {x:.2f}×{' †' if noisy else ''} |") if x else " — |"
            L.append(line)
    if data.get("gil"):
        L += ["", "### GIL release: a convolution from two Python threads, every library at 1 thread", "",
              "Speed-up = one Python thread making 2n calls vs two making n each (2.0 ideal on 2 free cores). "
              "Longest stall = the longest time a spinning Python thread could not run during the calls "
              "(≈ the call time if the GIL is held, ≈ 1 ms if it is released).", "",
              "| case | impl | 1 Python thread ms/call | 2 Python threads ms/call (aggregate) | speed-up | "
              "call ms | longest stall ms | stall / call |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
        for g in data["gil"]:
            if "stall_ms" in g:
                extra = (f"{g['call_ms_with_ticker']:.2f} | {g['stall_ms']:.2f} | "
                         f"{100 * g['stall_ms'] / max(g['call_ms_with_ticker'], 1e-9):.0f}% |")
            else:
                extra = "— | — | — |"
            L.append(f"| {g['case']} {g['op']} | {g['impl']} | {g['serial_ms_per_call']:.3f} | "
                     f"{g['two_threads_ms_per_call']:.3f} | {g['speedup']:.2f}× | " + extra)
    if data.get("memory"):
        L += ["", "### Peak memory of one call above the inputs (MiB; fresh process per measurement, "
              "outputs included)", "", "| case | op | t | outputs | nnkern | numpy | torch | nnkern / torch |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
        mem = {}
        for m in data["memory"]:
            mem.setdefault((m["family"], m["case"], m["op"], m["threads"]), {})[m["impl"]] = m
        for (fam, case, op, t), d in mem.items():
            def cell(i):
                m = d.get(i)
                if not m:
                    return "—"
                if "error" in m:
                    return "error"
                s = f"{m['peak_extra_mib']:.1f}"
                if m.get("tracemalloc_peak_mib") is not None:
                    s += f" (traced {m['tracemalloc_peak_mib']:.1f})"
                return s
            a, b = d.get("nnkern"), d.get("torch")
            ratio = (f"{a['peak_extra_mib'] / b['peak_extra_mib']:.2f}" if a and b and "error" not in a
                     and "error" not in b and b["peak_extra_mib"] > 0 else "—")
            outs = next((m["outputs_mib"] for m in d.values() if "outputs_mib" in m), None)
            outs = "—" if outs is None else f"{outs:.1f}"
            L.append(f"| {fam} {case} | {op} | {t} | {outs} | {cell('nnkern')} | {cell('numpy')} | {cell('torch')} "
                     f"| {ratio} |")
    if data.get("failures"):
        L += ["", "**Verification failures (not timed):**", ""] + [f"- {v}" for v in data["failures"].values()]
    skipped = data.get("skipped") or {}
    if skipped:
        L += ["", "Skipped implementations: " + "; ".join(
            f"{impl} ({reason})" for impl, reason in sorted(set((i, r) for d in skipped.values() for i, r in d.items())))]
    return "\n".join(L)


def plot(data, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401
    ratios = data["ratios"]
    fams = []
    for r in ratios:
        if r["family"] not in fams:
            fams.append(r["family"])
    if not fams:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, "no nnkern results (no ratios)", ha="center", va="center")
        ax.axis("off")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return
    rows_per = {}
    for r in ratios:  # rows in run order
        rows = rows_per.setdefault(r["family"], [])
        k = (r["case"], r["op"], r["threads"])
        if k not in rows:
            rows.append(k)
    heights = [max(1.2, 0.28 * len(rows_per[f]) + 0.6) for f in fams]
    fig, axes = plt.subplots(len(fams), 1, figsize=(9, sum(heights) + 0.8), sharex=True,
                             gridspec_kw=dict(height_ratios=heights), squeeze=False)
    colors = {"numpy": "#4c72b0", "torch": "#dd8452", "torch-cl": "#55a868"}
    allv = [r["ratio"] for r in ratios if r["ratio"] > 0 and math.isfinite(r["ratio"])]
    lo, hi = min(0.5, min(allv) / 1.5), max(2.0, max(allv) * 1.5)
    for ax, f in zip(axes[:, 0], fams):
        rows = rows_per[f]
        vs_list = [v for v in RATIO_VS if any(r["vs"] == v and r["family"] == f for r in ratios)]
        bw = 0.8 / max(1, len(vs_list))
        for j, v in enumerate(vs_list):
            vals = np.array([next((r["ratio"] for r in ratios if r["family"] == f and r["vs"] == v
                                   and (r["case"], r["op"], r["threads"]) == k), np.nan) for k in rows])
            ypos = np.arange(len(rows)) + (j - (len(vs_list) - 1) / 2) * bw
            ax.barh(ypos, vals - 1.0, left=1.0, height=bw, color=colors.get(v), label=f"vs {v}")
            for y, x in zip(ypos, vals):
                if np.isfinite(x):
                    ax.text(x * (1.03 if x >= 1 else 0.97), y, f"{x:.2f}", va="center",
                            ha="left" if x >= 1 else "right", fontsize=6)
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_yticks(np.arange(len(rows)))
        ax.set_yticklabels([f"{c} {o} {t}t" for c, o, t in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(FAMILY_TITLES.get(f, f), fontsize=9, loc="left")
        ax.grid(axis="x", which="major", alpha=0.3)
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if lo <= t <= hi]
    ax = axes[-1, 0]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}×"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[-1, 0].set_xlabel("speed ratio: other's time / nnkern's time (> 1: nnkern faster), log scale")
    meta = data["meta"]
    fig.suptitle(f"nnkern {meta['nnkern']} vs NumPy {meta['numpy']} / PyTorch {meta.get('torch') or '-'} "
                 f"on {meta['cpu']}", fontsize=9, x=0.01, ha="left")
    handles = {}
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="upper right", ncol=len(handles), fontsize=7,
               bbox_to_anchor=(0.99, 0.985))
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ merging runs

def merge_runs(paths):
    """Several JSON runs -> one: per measurement the median of the runs' medians
    (p10/p90 likewise; the run medians are kept in runs_median_ms), GIL and
    memory medians, the best peak of all runs.  Verification must have passed
    in each run (a run with failures is refused)."""
    runs = []
    for p in paths:
        with open(p) as f:
            runs.append(json.load(f))
    for p, r in zip(paths, runs):
        if r.get("failures"):
            raise SystemExit(f"{p} has verification failures; not merged")
    groups = {}
    for r in runs:
        for x in r["results"]:
            groups.setdefault(tuple(x[k] for k in ("family", "case", "op", "impl", "threads")), []).append(x)
    results = []
    for rs in groups.values():
        m = dict(rs[0])
        meds = [x["median_ms"] for x in rs]
        m.update(median_ms=float(np.median(meds)), p10_ms=float(np.median([x["p10_ms"] for x in rs])),
                 p90_ms=float(np.median([x["p90_ms"] for x in rs])), min_ms=min(x["min_ms"] for x in rs),
                 samples=sum(x["samples"] for x in rs), runs_median_ms=meds)
        m["rate"] = (m["work"] / (m["median_ms"] * 1e-3) * 1e-9) if m.get("work") else None
        results.append(m)
    peak = None
    for r in runs:
        pk = r.get("peak")
        if not pk:
            continue
        if peak is None:
            peak = {k: dict(pk[k]) for k in ("fma_gflops", "fma512_gflops", "copy_gbs")}
        else:
            for k in peak:
                for t, v in pk[k].items():
                    peak[k][t] = max(v, peak[k].get(t, 0.0))

    def merge_list(key, fields, ident):
        g = {}
        for r in runs:
            for x in r.get(key) or []:
                g.setdefault(tuple(x.get(k) for k in ident), []).append(x)
        out = []
        for xs in g.values():
            m = dict(xs[0])
            for f in fields:
                vals = [x[f] for x in xs if isinstance(x.get(f), (int, float))]
                if vals:
                    m[f] = float(np.median(vals))
            out.append(m)
        return out

    gil = merge_list("gil", ("serial_ms_per_call", "two_threads_ms_per_call", "speedup", "stall_ms",
                             "call_ms_with_ticker"), ("case", "impl"))
    memory = merge_list("memory", ("peak_extra_mib",), ("family", "case", "op", "impl", "threads"))
    meta = dict(runs[0]["meta"], merged_from=list(paths), run_dates=[r["meta"]["date"] for r in runs])
    verification = {}
    for r in runs:
        verification.update(r.get("verification") or {})
    skipped = {}
    for r in runs:
        skipped.update(r.get("skipped") or {})
    return dict(meta=meta, peak=peak, verification=verification, skipped=skipped, failures={},
                results=results, ratios=compute_ratios(results), gil=gil, memory=memory)


# ------------------------------------------------------------------ main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a subset of the cases, short timings (< 1 minute)")
    ap.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # tiny shapes, for the tests
    ap.add_argument("--threads", default="1,2", help="comma list of thread counts (default 1,2)")
    ap.add_argument("--only", default="gemm,conv,pool,layers,gil",
                    help="comma list from gemm (with linear), conv, pool, layers (LeNet-5, overhead), gil")
    ap.add_argument("--impls", default=None, help="comma list of implementations to run (default: all available)")
    ap.add_argument("--cases", default=None, help="comma list of substrings; run only cases whose id contains one")
    ap.add_argument("--json", default=None, help="write results and machine info as JSON")
    ap.add_argument("--plot", default=None, help="write a bar chart of the speed ratios (PNG)")
    ap.add_argument("--md", default=None, help="also write the Markdown tables to this file")
    ap.add_argument("--memory", action="store_true", help="peak memory per case (a subprocess per measurement)")
    ap.add_argument("--min-time", type=float, default=None,
                    help="seconds of timed samples per implementation and case (default 0.5, --quick 0.05)")
    ap.add_argument("--keep-going", action="store_true",
                    help="on a verification failure, drop that case, go on, and exit with status 3 at the end")
    ap.add_argument("--no-peak", action="store_true", help="skip the FMA peak / bandwidth probe")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--merge", nargs="+", metavar="JSON", default=None,
                    help="measure nothing: merge earlier runs (median of the run medians) into the tables, "
                         "--json, --md and --plot")
    args = ap.parse_args(argv)
    args.argv = argv
    return args


def _write_outputs(data, args):
    md = markdown(data)
    if data["meta"].get("merged_from"):
        md = (f"Merged {len(data['meta']['merged_from'])} runs ({', '.join(data['meta']['run_dates'])}): "
              f"each time is the median of the runs' medians.\n\n" + md)
    print(md)
    if args.md:
        with open(args.md, "w") as f:
            f.write(md + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1, default=float)
        log(f"wrote {args.json}")
    if args.plot:
        try:
            plot(data, args.plot)
            log(f"wrote {args.plot}")
        except ImportError as e:
            log(f"no plot: {e} (pip install matplotlib)")


def main(argv=None):
    args = parse_args(argv)
    if args.merge:
        data = merge_runs(args.merge)
        _write_outputs(data, args)
        return data
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    cfg = dict(H.CONFIGS[size])
    if args.min_time is not None:
        cfg["min_time"] = args.min_time
        cfg["max_time"] = max(cfg["max_time"], 20 * args.min_time)
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    only = [g.strip() for g in args.only.split(",") if g.strip()]
    bad = [g for g in only if g not in C.GROUPS + ("gil",)]
    if bad or not threads or min(threads) < 1:
        raise SystemExit(f"bad --only {bad} or --threads {args.threads}")
    impls = args.impls.split(",") if args.impls else None
    t_start = time.perf_counter()
    meta = machine_info(args, threads)
    meta.update(size=size, timing=cfg)
    log(f"nnkern {meta['nnkern']} ISA {meta['isa']}, numpy {meta['numpy']}, torch {meta.get('torch')}, "
        f"threads {threads}, size {size}")

    cases = C.build_cases(size, [g for g in C.GROUPS if g in only])
    if args.cases:
        pats = args.cases.split(",")
        cases = [c for c in cases if any(p in c.id for p in pats)]
    n_mem = len([c for c in cases if c.family != "overhead"]) * 3 if args.memory else 0
    progress = _Progress(2 * len(cases) + len(cases) * len(threads) + ("gil" in only) + n_mem,
                         not args.no_progress)

    peak = None
    if not args.no_peak:
        peak = PK.measure_peak(sorted(set(threads)), size)

    # 1. verify everything before timing anything
    verification, skipped, failures = {}, {}, {}
    with H.thread_limits(max(threads)):
        for case in list(cases):
            try:
                errs, present, skip = verify_case(case, impls)
            except H.VerificationError as e:
                if not args.keep_going:
                    raise
                log(f"\n{e}\n")
                failures[case.id] = str(e)
                cases.remove(case)
                continue
            verification[case.id] = dict(impls=present, max_rel_err=errs, tol=case.tol)
            if skip:
                skipped[case.id] = skip
            progress.update(f"verify {case.id}")
    # 2. time
    gc.collect()
    results = []
    for case in cases:
        progress.update(f"setup {case.id}")
        if len(verification[case.id]["impls"]) == 0:
            continue
        results.extend(time_case(case, threads, cfg, impls, progress))
    gil = []
    if "gil" in only:
        gil = measure_gil(size, impls)
        progress.update("gil")
    memory = []
    if args.memory:
        mt = max(threads)
        for case in cases:
            if case.family == "overhead":
                continue
            for impl in ("nnkern", "numpy", "torch"):
                progress.update(f"memory {case.id} {impl}")
                if impl not in verification[case.id]["impls"]:
                    continue
                m = measure_memory(case, impl, mt, size)
                memory.append(dict(family=case.family, case=case.name, op=case.op, impl=impl, threads=mt, **m))
    progress.close()
    if peak and size == "full":  # measure again at the end and keep the best: the machine may drift
        peak_end = PK.measure_peak(sorted(set(threads)), size)
        if peak_end:
            for key in ("fma_gflops", "fma512_gflops", "copy_gbs"):
                for t, v in peak_end[key].items():
                    peak[key][t] = max(v, peak[key].get(t, 0.0))
            peak["raw_end"] = peak_end["raw"]
    meta["wall_s"] = time.perf_counter() - t_start
    data = dict(meta=meta, peak=peak, verification=verification, skipped=skipped, failures=failures,
                results=results, ratios=compute_ratios(results), gil=gil, memory=memory)
    _write_outputs(data, args)
    log(f"done in {meta['wall_s']:.1f} s")
    if failures:
        log("=" * 78 + f"\n{len(failures)} case(s) FAILED verification and were not timed:\n"
            + "\n".join(failures.values()) + "\n" + "=" * 78)
    return data


if __name__ == "__main__":
    try:
        if main().get("failures"):
            sys.exit(3)
    except H.VerificationError as e:
        log("\n" + "=" * 78 + f"\n{e}\n" + "=" * 78)
        sys.exit(3)
