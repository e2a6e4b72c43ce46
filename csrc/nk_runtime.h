/* nk_runtime.h -- run-time CPU dispatch, thread control and aligned
 * workspace allocation.  The only process-wide state of the C core. */
#ifndef NK_RUNTIME_H
#define NK_RUNTIME_H

#include "nk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set paths.  Every kernel family has an NK_ISA_GENERIC
 * implementation; NK_ISA_AVX2 means AVX2 + FMA. */
typedef enum nk_isa { NK_ISA_GENERIC = 0, NK_ISA_AVX2 = 1 } nk_isa;

/* Best ISA this CPU supports (ignores NNKERN_ARCH). */
nk_isa nk_isa_detect(void);
/* ISA currently used by the dispatchers.  Chosen on first use from
 * nk_isa_detect() and the NNKERN_ARCH environment variable
 * ("generic" forces the portable path, "avx2" asks for AVX2 if present). */
nk_isa nk_isa_active(void);
/* Force an ISA (tests run both paths).  NK_ERR_ARG if the CPU lacks it. */
nk_status nk_isa_set(nk_isa isa);
const char *nk_isa_name(nk_isa isa);

/* 1 when the extension was compiled with OpenMP. */
int nk_openmp_enabled(void);
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
