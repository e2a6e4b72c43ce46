#!/usr/bin/env python3
"""Peak resident memory of one call of one benchmark case, in this process.

    python bench/memprobe.py --case conv/res3x3-56/bwd --impl nnkern --threads 2 [--size full]

run.py --memory starts this once per case and implementation, so that no
allocator cache or library state of another implementation is counted.  The
case's inputs are built and the call is made twice (warm-up: one-time
allocations such as thread pools or primitive caches are not charged to the
call); then the resident set high-water mark is reset (Linux: writing 5 to
/proc/self/clear_refs; elsewhere the ru_maxrss high-water mark is used,
which can only over-state the baseline) and the call is made once more.

run.py starts it with GLIBC_TUNABLES setting a fixed 64 KiB mmap threshold
and a zero trim threshold, so that glibc's heap does not keep the warm-up
calls' blocks resident (which would hide the measured call's peak).

Printed (one JSON line): peak_extra_mib = high-water mark during the call
minus the resident size just before it (the outputs are included),
outputs_mib, and for the NumPy baseline the tracemalloc peak of the call
(NumPy reports its allocations to tracemalloc).
"""
import argparse
import gc
import json
import os
import resource
import sys
import tracemalloc

from _paths import HERE, ROOT  # noqa: E402,F401  (sets sys.path: this folder, the checkout)

MIB = 1024.0 * 1024.0


def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss():
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss(reset_ok):
    kib = _status_kib("VmHWM") if reset_ok else None
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib * 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", required=True, help="case id, e.g. conv/res3x3-56/bwd")
    ap.add_argument("--impl", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", default="full", choices=("full", "quick", "tiny"))
    args = ap.parse_args(argv)

    import numpy as np
    import nnkern
    import cases as C
    import harness as H

    case = C.find_case(args.case, args.size)
    inp = case.inputs()
    fn = case.impls[args.impl](inp)
    nnkern.set_num_threads(args.threads)
    if args.impl.startswith("torch"):
        import torch
        torch.set_num_threads(args.threads)
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(args.threads, user_api="blas")
    except ImportError:
        pass
    fn()
    fn()
    gc.collect()
    before = current_rss()
    ok = reset_peak()
    if before is None or not ok:
        before = peak_rss(False)
    out = fn()
    peak = peak_rss(ok)
    outs = H.to_numpy_list(out)
    out_bytes = sum(a.size for a in outs) * 4  # float32 results
    del out, outs
    traced = None
    if args.impl == "numpy":
        gc.collect()
        tracemalloc.start()
        fn()
        traced = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()
    res = dict(peak_extra_mib=max(0.0, (peak - before) / MIB), outputs_mib=out_bytes / MIB,
               tracemalloc_peak_mib=traced, rss_before_mib=before / MIB, hwm_reset=ok,
               inputs_mib=sum(a.nbytes for a in vars(inp).values() if isinstance(a, np.ndarray)) / MIB)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
