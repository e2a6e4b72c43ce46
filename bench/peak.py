"""Machine peak probe: floating-point FMA throughput and memory copy bandwidth.

A small C program (below) is compiled at run time with the system C compiler
and OpenMP, cached in the temp directory by the hash of its source, and run
once per thread count:

* ``fma``: each thread runs 12 independent chains of 8-lane float32 fused
  multiply-adds (AVX2+FMA, and 16-lane AVX-512 when the CPU has it) -- enough
  independent chains to cover the FMA latency on two FMA pipes.  GFLOP/s = 2
  flop per lane per FMA.  The figure of nnkern's active ISA path (AVX-512 or
  AVX2, from nnkern.show_config()) is the denominator of "% of peak" in the
  tables.
* ``copy``: ``b[i] = a[i]`` over two large float arrays, static OpenMP split,
  first-touch initialisation by the same threads.  GB/s counts the bytes read
  plus the bytes written (STREAM's convention, no write-allocate traffic).

Best and median over the trials are reported.  Without a working compiler
(or OpenMP) the probe returns None and the tables show no fraction of peak.

    python bench/peak.py [--threads 1,2] [--quick]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

PROBE_C = r"""
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float g_sink;

#define CHAINS(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

__attribute__((target("avx2,fma")))
static double chains_avx2(long reps, int seed) {
    const __m256 mul = _mm256_set1_ps(0.99999988f), add = _mm256_set1_ps(1.0e-7f);
#define DECL(i) __m256 v##i = _mm256_set1_ps(1.0f + (float)(i + seed) * 1e-3f);
#define STEP(i) v##i = _mm256_fmadd_ps(v##i, mul, add);
#define FOLD(i) acc = _mm256_add_ps(acc, v##i);
    CHAINS(DECL)
    for (long r = 0; r < reps; r++) { CHAINS(STEP) }
    __m256 acc = _mm256_setzero_ps();
    CHAINS(FOLD)
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    g_sink += lanes[0] + lanes[5];
    return (double)reps * 12 * 8 * 2;
#undef DECL
#undef STEP
#undef FOLD
}

__attribute__((target("avx512f")))
static double chains_avx512(long reps, int seed) {
    const __m512 mul = _mm512_set1_ps(0.99999988f), add = _mm512_set1_ps(1.0e-7f);
#define DECL(i) __m512 v##i = _mm512_set1_ps(1.0f + (float)(i + seed) * 1e-3f);
#define STEP(i) v##i = _mm512_fmadd_ps(v##i, mul, add);
#define FOLD(i) acc = _mm512_add_ps(acc, v##i);
    CHAINS(DECL)
    for (long r = 0; r < reps; r++) { CHAINS(STEP) }
    __m512 acc = _mm512_setzero_ps();
    CHAINS(FOLD)
    g_sink += _mm512_reduce_add_ps(acc);
    return (double)reps * 12 * 16 * 2;
#undef DECL
#undef STEP
#undef FOLD
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, int nt, double *v, int n, const char *unit) {
    qsort(v, (size_t)n, sizeof(double), by_value);
    printf("{\"what\": \"%s\", \"threads\": %d, \"best\": %.3f, \"median\": %.3f, \"unit\": \"%s\", \"trials\": %d}\n",
           what, nt, v[n - 1], v[n / 2], unit, n);
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: probe fma|fma512|copy THREADS SIZE TRIALS\n"); return 2; }
    const char *mode = argv[1];
    int nt = atoi(argv[2]);
    long size = atol(argv[3]);
    int trials = atoi(argv[4]);
    if (nt < 1 || size < 1 || trials < 1 || trials > 1000) return 2;
    double res[1000];
    if (!strcmp(mode, "fma") || !strcmp(mode, "fma512")) {
        int wide = !strcmp(mode, "fma512");
        __builtin_cpu_init();
        if (wide ? !__builtin_cpu_supports("avx512f")
                 : !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
            printf("{\"what\": \"%s\", \"unsupported\": true}\n", mode);
            return 0;
        }
        for (int t = -1; t < trials; t++) {   /* t = -1: untimed warm-up */
            double flop = 0.0, t0 = wall();
#pragma omp parallel num_threads(nt) reduction(+ : flop)
            flop += wide ? chains_avx512(size, omp_get_thread_num()) : chains_avx2(size, omp_get_thread_num());
            double dt = wall() - t0;
            if (t >= 0) res[t] = flop / dt * 1e-9;
        }
        report(mode, nt, res, trials, "GFLOP/s");
    } else if (!strcmp(mode, "copy")) {
        long n = size * 1024L * 1024L / (long)sizeof(float);
        float *a = malloc((size_t)n * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
        if (!a || !b) return 3;
#pragma omp parallel for schedule(static) num_threads(nt)
        for (long i = 0; i < n; i++) { a[i] = (float)(i & 1023); b[i] = 0.0f; }
        for (int t = -1; t < trials; t++) {
            double t0 = wall();
#pragma omp parallel for schedule(static) num_threads(nt)
            for (long i = 0; i < n; i++) b[i] = a[i];
            double dt = wall() - t0;
            if (t >= 0) res[t] = 2.0 * (double)n * sizeof(float) / dt * 1e-9;
        }
        g_sink += b[n / 2] + b[n - 1];
        free(a); free(b);
        report("copy", nt, res, trials, "GB/s");
    } else {
        return 2;
    }
    return 0;
}
"""

# (fma repetitions per thread per trial, trials, copy MiB per array, copy trials).  Many short
# trials (~1-3 ms each) and the best of them: on a shared machine some trials run undisturbed.
PROFILES = {
    "full": (2_000_000, 100, 256, 15),
    "quick": (1_000_000, 60, 64, 9),
    "tiny": (100_000, 5, 4, 3),
}


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def compile_probe():
    """Compile the probe (cached); returns the executable path or None."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()
    if not shutil.which(cc[0]):
        return None
    digest = hashlib.sha1((" ".join(cc) + PROBE_C).encode()).hexdigest()[:12]
    d = os.path.join(tempfile.gettempdir(), f"nnkern-bench-{os.getuid()}")
    os.makedirs(d, exist_ok=True)
    exe = os.path.join(d, f"peak-probe-{digest}")
    if os.path.exists(exe):
        return exe
    src = exe + ".c"
    with open(src, "w") as f:
        f.write(PROBE_C)
    tmp = exe + f".tmp{os.getpid()}"
    try:
        subprocess.run(cc + ["-O2", "-fopenmp", "-o", tmp, src], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        _log(f"peak probe: compilation failed ({e}); no fraction of peak")
        return None
    os.replace(tmp, exe)
    return exe


def _run(exe, mode, threads, size, trials):
    out = subprocess.run([exe, mode, str(threads), str(size), str(trials)], check=True,
                         capture_output=True, text=True, timeout=300).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure_peak(threads=(1, 2), profile="full"):
    """{'fma_gflops': {t: best}, 'fma512_gflops': {...}, 'copy_gbs': {...},
    'raw': [...]} or None when the probe cannot be built or run."""
    exe = compile_probe()
    if exe is None:
        return None
    reps, trials, mib, ctrials = PROFILES[profile]
    res = {"profile": profile, "fma_gflops": {}, "fma512_gflops": {}, "copy_gbs": {}, "raw": []}
    try:
        for t in threads:
            for mode, key, size, n in (("fma", "fma_gflops", reps, trials),
                                       ("fma512", "fma512_gflops", reps, trials),
                                       ("copy", "copy_gbs", mib, ctrials)):
                r = _run(exe, mode, t, size, n)
                res["raw"].append(r)
                if not r.get("unsupported"):
                    res[key][str(t)] = r["best"]
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        _log(f"peak probe failed ({e}); no fraction of peak")
        return None
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    res = measure_peak(threads, "quick" if args.quick else "full")
    if res is None:
        return 1
    for r in res["raw"]:
        if not r.get("unsupported"):
            print(f"{r['what']:>6} {r['threads']} thread(s): best {r['best']:.1f} {r['unit']} "
                  f"(median {r['median']:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
