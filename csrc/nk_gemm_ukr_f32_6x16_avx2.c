/* nk_gemm_ukr_f32_6x16_avx2.c -- float32 AVX2+FMA micro-kernel, 6 x 16 tile
 * (a 16-wide row of B is two ymm registers; see nk_gemm_ukr_avx2_impl.h). */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_T float
#define NK_V __m256
#define NK_VN 8
#define NK_ARGS nk_ukr_args_f32
#define NK_BCAST _mm256_broadcast_ss
#define NK_SET1 _mm256_set1_ps
#define NK_ZERO _mm256_setzero_ps
#define NK_LOAD _mm256_load_ps
#define NK_LOADU _mm256_loadu_ps
#define NK_STOREU _mm256_storeu_ps
#define NK_FMADD _mm256_fmadd_ps
#define NK_MUL _mm256_mul_ps
#define NK_ADD _mm256_add_ps
#define NK_MAX _mm256_max_ps
#define NK_UKR_NAME nk_gemm_ukr_f32_6x16_avx2
#include "nk_gemm_ukr_avx2_impl.h"
#endif
