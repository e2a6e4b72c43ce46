/* nk_gemm_ukr_f32_avx512.c -- float32 AVX-512F micro-kernels: 12 x 32 tile
 * (2 x 2 standard 6 x 16 tiles), and the 6 x 32 / 12 x 16 tiles for a trailing
 * single panel row / column (see nk_gemm_ukr_avx512_impl.h). */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include "nk_ukr_avx512_f32.h"

#define NK_FN(x) x##_f32
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
