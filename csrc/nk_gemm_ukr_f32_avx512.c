/* nk_gemm_ukr_f32_avx512.c -- float32 AVX-512F micro-kernels: 12 x 32 tile
 * (2 x 2 standard 6 x 16 tiles), and the 6 x 32 / 12 x 16 tiles for a trailing
 * single panel row / column (see nk_gemm_ukr_avx512_impl.h). */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_T float
#define NK_FN(x) x##_f32
#define NK_V __m512
#define NK_VN 16
#define NK_NR NK_GEMM_NR_F32
#define NK_ARGS nk_ukr_args_f32
#define NK_SET1 _mm512_set1_ps
#define NK_ZERO _mm512_setzero_ps
#define NK_LOAD _mm512_load_ps
#define NK_LOADU _mm512_loadu_ps
#define NK_STOREU _mm512_storeu_ps
#define NK_FMADD _mm512_fmadd_ps
#define NK_MUL _mm512_mul_ps
#define NK_ADD _mm512_add_ps
#define NK_MAX _mm512_max_ps
#define NK_UKR_NAME nk_gemm_ukr_f32_12x32_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 2
#include "nk_gemm_ukr_avx512_impl.h"
#define NK_UKR_NAME nk_gemm_ukr_f32_6x32_avx512
#define NK_UKR_ROWS 6
#define NK_UKR_COLS 2
#include "nk_gemm_ukr_avx512_impl.h"
#define NK_UKR_NAME nk_gemm_ukr_f32_12x16_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 1
#include "nk_gemm_ukr_avx512_impl.h"
#endif
