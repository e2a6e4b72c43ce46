/* nk_gemm_ukr_f64_avx512.c -- float64 AVX-512F micro-kernels: 12 x 16 tile
 * (2 x 2 standard 6 x 8 tiles), and the 6 x 16 / 12 x 8 tiles for a trailing
 * single panel row / column (see nk_gemm_ukr_avx512_impl.h). */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_T double
#define NK_FN(x) x##_f64
#define NK_V __m512d
#define NK_VN 8
#define NK_NR NK_GEMM_NR_F64
#define NK_ARGS nk_ukr_args_f64
#define NK_SET1 _mm512_set1_pd
#define NK_ZERO _mm512_setzero_pd
#define NK_LOAD _mm512_load_pd
#define NK_LOADU _mm512_loadu_pd
#define NK_STOREU _mm512_storeu_pd
#define NK_FMADD _mm512_fmadd_pd
#define NK_MUL _mm512_mul_pd
#define NK_ADD _mm512_add_pd
#define NK_MAX _mm512_max_pd
#define NK_UKR_NAME nk_gemm_ukr_f64_12x16_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 2
#include "nk_gemm_ukr_avx512_impl.h"
#define NK_UKR_NAME nk_gemm_ukr_f64_6x16_avx512
#define NK_UKR_ROWS 6
#define NK_UKR_COLS 2
#include "nk_gemm_ukr_avx512_impl.h"
#define NK_UKR_NAME nk_gemm_ukr_f64_12x8_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 1
#include "nk_gemm_ukr_avx512_impl.h"
#endif
