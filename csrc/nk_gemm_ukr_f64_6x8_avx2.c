/* nk_gemm_ukr_f64_6x8_avx2.c -- float64 AVX2+FMA micro-kernel, 6 x 8 tile
 * (an 8-wide row of B is two ymm registers of 4 doubles; see
 * nk_gemm_ukr_avx2_impl.h). */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_T double
#define NK_V __m256d
#define NK_VN 4
#define NK_ARGS nk_ukr_args_f64
#define NK_BCAST _mm256_broadcast_sd
#define NK_SET1 _mm256_set1_pd
#define NK_ZERO _mm256_setzero_pd
#define NK_LOAD _mm256_load_pd
#define NK_LOADU _mm256_loadu_pd
#define NK_STOREU _mm256_storeu_pd
#define NK_FMADD _mm256_fmadd_pd
#define NK_MUL _mm256_mul_pd
#define NK_ADD _mm256_add_pd
#define NK_MAX _mm256_max_pd
#define NK_UKR_NAME nk_gemm_ukr_f64_6x8_avx2
#include "nk_gemm_ukr_avx2_impl.h"
#endif
