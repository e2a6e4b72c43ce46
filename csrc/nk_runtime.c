/* nk_runtime.c -- see nk_runtime.h. */
#define _POSIX_C_SOURCE 200112L
#include "nk_runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int g_isa = -1;         /* -1: not chosen yet */
static int g_user_threads = 0; /* 0: nnkern.set_num_threads never called */
static int g_forked_child = 0; /* 1: this process was created by fork() */

/* GNU libgomp is not fork-safe: a child forked after the parent ran a
 * parallel region inherits the pool's bookkeeping but not its threads, and
 * its next multi-threaded region waits forever on a barrier.  The child
 * handler below makes every later kernel in the child serial: all drivers
 * take their thread count from nk_get_max_threads(), so their regions run
 * with num_threads(1), which libgomp executes on the calling thread without
 * touching the parent's pool.  (Use the 'spawn' or 'forkserver' start
 * methods for multi-threaded kernels in child processes.) */
static void nk_atfork_child(void) { __atomic_store_n(&g_forked_child, 1, __ATOMIC_RELAXED); }

__attribute__((constructor)) static void nk_runtime_init(void) {
    pthread_atfork(NULL, NULL, nk_atfork_child);
}

int nk_in_forked_child(void) { return __atomic_load_n(&g_forked_child, __ATOMIC_RELAXED); }

nk_isa nk_isa_detect(void) {
#if NK_X86_DISPATCH
    __builtin_cpu_init();
    /* libgcc's cpu model reports avx512f only when the OS saves the zmm
     * state (XCR0), so the test is sufficient. */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        if (__builtin_cpu_supports("avx512f")) return NK_ISA_AVX512;
        return NK_ISA_AVX2;
    }
#endif
    return NK_ISA_GENERIC;
}

nk_isa nk_isa_level(void) {
    int isa = __atomic_load_n(&g_isa, __ATOMIC_ACQUIRE);
    if (isa < 0) {
        nk_isa best = nk_isa_detect();
        const char *env = getenv("NNKERN_ARCH");
        if (env && strcmp(env, "generic") == 0) best = NK_ISA_GENERIC;
        if (env && strcmp(env, "avx2") == 0 && best > NK_ISA_AVX2) best = NK_ISA_AVX2;
        isa = (int)best;
        __atomic_store_n(&g_isa, isa, __ATOMIC_RELEASE);
    }
    return (nk_isa)isa;
}

nk_isa nk_isa_active(void) {
    nk_isa level = nk_isa_level();
    return level > NK_ISA_AVX2 ? NK_ISA_AVX2 : level;
}

nk_status nk_isa_set(nk_isa isa) {
    if (isa != NK_ISA_GENERIC && isa != NK_ISA_AVX2 && isa != NK_ISA_AVX512) return NK_ERR_ARG;
    if (isa > nk_isa_detect()) return NK_ERR_ARG;
    __atomic_store_n(&g_isa, (int)isa, __ATOMIC_RELEASE);
    return NK_OK;
}

const char *nk_isa_name(nk_isa isa) {
    switch (isa) {
    case NK_ISA_AVX512: return "avx512";
    case NK_ISA_AVX2: return "avx2";
    case NK_ISA_GENERIC: return "generic";
    }
    return "unknown";
}

int nk_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int nk_thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The thread count is the OpenMP ICV of the calling thread (so that
 * OMP_NUM_THREADS and threadpoolctl act on nnkern), capped by the
 * process-wide value of nnkern.set_num_threads (so that it holds in every
 * Python thread, as torch.set_num_threads does).  Always 1 in a child
 * process created by fork() (see nk_atfork_child). */
int nk_get_max_threads(void) {
#ifdef _OPENMP
    if (nk_in_forked_child()) return 1;
    int n = omp_get_max_threads();
    int user = __atomic_load_n(&g_user_threads, __ATOMIC_RELAXED);
    if (user > 0 && user < n) n = user;
    return n < 1 ? 1 : n;
#else
    return 1;
#endif
}

nk_status nk_set_max_threads(int n) {
    if (n <= 0) return NK_ERR_ARG;
    __atomic_store_n(&g_user_threads, n, __ATOMIC_RELAXED);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    return NK_OK;
}

int nk_threads_for(int nthreads, int64_t work, int64_t min_work) {
    if (nthreads < 1 || nk_in_forked_child()) nthreads = 1;
    if (min_work < 1) min_work = 1;
    int64_t t = work / min_work;
    if (t < 1) t = 1;
    if (t > nthreads) t = nthreads;
    return (int)t;
}

void *nk_aligned_alloc(size_t bytes) {
    if (bytes == 0) bytes = 64;
    if (bytes > SIZE_MAX - 64) return NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    return p;
}

void nk_aligned_free(void *p) { free(p); }
