"""Quick conv2d benchmark: nnkern vs PyTorch vs the NumPy im2col baseline
(peers.py), float32 NCHW, the eleven ANCHORS.md cases, forward and backward
(dx + dw + db), 1 and 2 threads, interleaved runs, medians.

    python bench/bench_conv.py [--threads 1 2] [--cases res3x3-56 ...] [--reps 7]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nnkern
import nnkern.functional as F

CASES = [  # name, N, C, H, W, K, R, S, stride, pad, dil
    ("lenet-c1", 64, 1, 28, 28, 6, 5, 5, 1, 2, 1),
    ("lenet-c2", 64, 6, 14, 14, 16, 5, 5, 1, 0, 1),
    ("res3x3-56", 8, 64, 56, 56, 64, 3, 3, 1, 1, 1),
    ("res3x3-28", 8, 128, 28, 28, 128, 3, 3, 1, 1, 1),
    ("res3x3-14", 8, 256, 14, 14, 256, 3, 3, 1, 1, 1),
    ("stem7x7s2", 8, 3, 224, 224, 64, 7, 7, 2, 3, 1),
    ("down3x3s2", 8, 64, 56, 56, 128, 3, 3, 2, 1, 1),
    ("1x1-14", 8, 256, 14, 14, 1024, 1, 1, 1, 0, 1),
    ("dil2-56", 8, 64, 56, 56, 64, 3, 3, 1, 2, 2),
    ("dil4-64", 4, 32, 64, 64, 32, 3, 3, 1, 4, 4),
    ("bs1-3x3-56", 1, 64, 56, 56, 64, 3, 3, 1, 1, 1),
]


def _cdiv(a, b):
    return -(-a // b)


def _gemm_ws(M, N, K, e=4):
    """Approximate nk_gemm_workspace (packed A block MC x kc + B block NB x kc)."""
    if min(M, N, K) <= 0:
        return 64
    kc = _cdiv(K, _cdiv(K, 256))
    one = lambda m, n: e * (min(_cdiv(m, 6) * 6, 144) * kc + min(_cdiv(n, 16) * 16, 4080) * kc) + 192
    return max(one(M, N), one(N, M))


def extra_memory(N, C, H, W, K, R, S, st, pd, dl, threads, e=4):
    """Estimated peak extra bytes (workspace) of nnkern's forward and
    backward (dx + dw + db) for one conv, mirroring csrc/nk_conv_igemm.c's
    sizing (GEMM workspace approximated).  Independent of N by design."""
    OH = (H + 2 * pd - dl * (R - 1) - 1) // st + 1
    OW = (W + 2 * pd - dl * (S - 1) - 1) // st + 1
    P, Kc = OH * OW, C * R * S

    def fwd(N, Ci, Hh, Ww, Co, OH, OW, s, Kd):
        P = OH * OW
        if Co <= 16 and Kd <= (512 if (s == 1 and Co <= 6) else 256) and OW >= 6:   # direct
            ocb, npix = (6, 16) if (s == 1 and Co <= 6) else ((8, 12) if Co <= 8 else (16, 6))
            Hp, Wp = (OH - 1) * s + (R - 1) * dl + 1, (OW - 1) * s + (S - 1) * dl + 1
            return e * (ocb * Kd + threads * (Ci * Hp * Wp + npix * ocb + npix * s + 48))
        J = N * P
        if P >= 512 or (R == S == 1 and st == 1 and pd == 0):
            PB, tile = _cdiv(P, _cdiv(P, 1024)), 0
        else:
            PB = min(J, max(256, min(1024, (1 << 19) // Co)))
            tile = Co * PB if N > 1 else 0
        return threads * (_gemm_ws(Co, PB, Kd) + e * tile)

    f = fwd(N, C, H, W, K, OH, OW, st, Kc)
    # bwd data
    if st == 1 and (K <= 2 * C or (C >= 4 and C <= 16 and K * R * S <= 512)):
        dx = e * K * Kc + fwd(N, K, OH, OW, C, H, W, 1, K * R * S)
    else:
        ncb = 1 if N >= 4 else min(C, _cdiv(4, N))
        M = _cdiv(C, ncb) * R * S
        PBc = min(P, max(64, (1 << 16) // M))
        dx = threads * (_gemm_ws(M, PBc, K) + e * M * PBc)
    nw = K * Kc
    nbc = min(N, 4)
    while nbc > 1 and nbc * nw > (1 << 18):
        nbc -= 1
    ipc = _cdiv(N, nbc)
    nbc = _cdiv(N, ipc)
    ncol = 1 if nbc >= 4 else max(1, min(_cdiv(4, nbc), _cdiv(Kc, 16)))
    CB = _cdiv(_cdiv(Kc, ncol), 16) * 16
    dw = threads * _gemm_ws(K, min(Kc, CB), ipc * P) + (e * nbc * nw if nbc > 1 else 0)
    return f, max(dx, dw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cases", nargs="*")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--no-numpy", action="store_true")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with process CPU time (robust on a loaded machine; 1 thread only)")
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as TF
    except ImportError:
        torch = None
    from threadpoolctl import threadpool_limits
    sys.path.insert(0, "/work/shared")
    try:
        import peers
    except ImportError:
        peers = None

    rows = []
    for name, N, C, H, W, K, R, S, st, pd, dl in CASES:
        if args.cases and name not in args.cases:
            continue
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, C, H, W), dtype=np.float32)
        w = (rng.standard_normal((K, C, R, S), dtype=np.float32) / np.sqrt(C * R * S)).astype(np.float32)
        b = rng.standard_normal(K, dtype=np.float32)
        y = F.conv2d(x, w, b, st, pd, dl)
        dy = rng.standard_normal(y.shape, dtype=np.float32)
        flops = 2.0 * N * K * y.shape[2] * y.shape[3] * C * R * S
        impls = {
            "nk_fwd": lambda: F.conv2d(x, w, b, st, pd, dl),
            "nk_bwd": lambda: F.conv2d_backward(dy, x, w, st, pd, dl),
        }
        if torch is not None:
            xt, wt, bt, dyt = (torch.from_numpy(a) for a in (x, w, b, dy))
            xg, wg, bg = (a.clone().requires_grad_() for a in (xt, wt, bt))

            def t_fwd():
                with torch.no_grad():
                    TF.conv2d(xt, wt, bt, st, pd, dl)

            def t_bwd():
                yy = TF.conv2d(xg, wg, bg, st, pd, dl)
                torch.autograd.grad(yy, (xg, wg, bg), dyt)
            impls["torch_fwd"] = t_fwd
            impls["torch_bwd"] = t_bwd
            # check against torch once
            with torch.no_grad():
                ref = TF.conv2d(xt, wt, bt, st, pd, dl).numpy()
            err = np.abs(y - ref).max()
            assert err < 1e-3, (name, err)
        if peers is not None and not args.no_numpy:
            impls["np_fwd"] = lambda: peers.np_conv2d_fwd(x, w, b, st, pd, dl)
            impls["np_bwd"] = lambda: peers.np_conv2d_bwd(x, w, dy, st, pd, dl)
        for t in args.threads:
            nnkern.set_num_threads(t)
            if torch is not None:
                torch.set_num_threads(t)
            times = {k: [] for k in impls}
            with threadpool_limits(t):
                for f in impls.values():
                    f()
                for _ in range(args.reps):
                    for k, f in impls.items():
                        clock = time.process_time if args.cpu_time else time.perf_counter
                        t0 = clock()
                        f()
                        times[k].append(clock() - t0)
            med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
            rows.append((name, t, flops, med))
            line = f"{name:11s} t={t} "
            for ph, fl in (("fwd", flops), ("bwd", 2 * flops)):
                nk = med[f"nk_{ph}"]
                line += f"| {ph} nk {nk:8.3f} ms {fl / nk / 1e6:6.1f} GF/s"
                if f"torch_{ph}" in med:
                    line += f" torch {med[f'torch_{ph}']:8.3f} ({med[f'torch_{ph}'] / nk:4.2f}x)"
                if f"np_{ph}" in med:
                    line += f" np {med[f'np_{ph}']:8.3f} ({med[f'np_{ph}'] / nk:4.2f}x) "
            mf, mb = extra_memory(N, C, H, W, K, R, S, st, pd, dl, t)
            line += f"| extra mem fwd {mf / 2**20:.2f} MiB bwd {mb / 2**20:.2f} MiB"
            print(line, flush=True)


if __name__ == "__main__":
    main()
