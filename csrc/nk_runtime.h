/* nk_runtime.h -- run-time CPU dispatch, thread control and aligned
 * workspace allocation.  The only process-wide state of the C core. */
#ifndef NK_RUNTIME_H
#define NK_RUNTIME_H

#include "nk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set levels, ordered.  Every kernel family has an
 * NK_ISA_GENERIC implementation; NK_ISA_AVX2 means AVX2 + FMA;
 * NK_ISA_AVX512 means AVX2 + FMA + AVX-512F (only the GEMM micro-kernels
 * have AVX-512 code; every other family runs its AVX2 code at that level). */
typedef enum nk_isa { NK_ISA_GENERIC = 0, NK_ISA_AVX2 = 1, NK_ISA_AVX512 = 2 } nk_isa;

/* Best level this CPU (and OS) supports (ignores NNKERN_ARCH). */
nk_isa nk_isa_detect(void);
/* Level currently selected: chosen on first use from nk_isa_detect() and
 * the NNKERN_ARCH environment variable ("generic" forces the portable path,
 * "avx2" caps the level at AVX2, unset or anything else: the best level).
 * Used by the GEMM micro-kernel dispatch. */
nk_isa nk_isa_level(void);
/* The selected level capped at NK_ISA_AVX2: NK_ISA_AVX2 or NK_ISA_GENERIC.
 * Kernel families that only have AVX2 code dispatch on this
 * (nk_isa_active() == NK_ISA_AVX2), so they keep running their AVX2 code
 * when the level is NK_ISA_AVX512. */
nk_isa nk_isa_active(void);
/* Select a level (tests run every path).  NK_ERR_ARG if the CPU lacks it. */
nk_status nk_isa_set(nk_isa isa);
const char *nk_isa_name(nk_isa isa);

/* 1 when the extension was compiled with OpenMP. */
int nk_openmp_enabled(void);
/* omp_get_thread_num() inside a parallel region (0 without OpenMP): the
 * index of a thread's slice of a per-call workspace. */
int nk_thread_num(void);
/* omp_get_max_threads() of the calling thread, capped by
 * nk_set_max_threads (1 without OpenMP, and 1 in a fork() child). */
int nk_get_max_threads(void);
/* 1 in a process created by fork() from a process that had loaded nnkern:
 * a pthread_atfork child handler sets it, and kernels then run serially,
 * because GNU libgomp's thread pool does not survive fork(). */
int nk_in_forked_child(void);
/* omp_set_num_threads(n) for the calling thread; NK_ERR_ARG if n <= 0. */
nk_status nk_set_max_threads(int n);
/* Threads to use for `work` units when one thread should get at least
 * `min_work` units: clamp(work / min_work, 1, nthreads). */
int nk_threads_for(int nthreads, int64_t work, int64_t min_work);

/* 64-byte aligned allocation for packing buffers and workspaces.  Returns
 * NULL on failure or when bytes == 0 would be unrepresentable. */
void *nk_aligned_alloc(size_t bytes);
void nk_aligned_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* NK_RUNTIME_H */
