/* nk_gemm_ukr_f32_6x16_avx2.c -- float32 AVX2+FMA micro-kernel, 6 x 16 tile
 * (a 16-wide row of B is two ymm registers; see nk_gemm_ukr_avx2_impl.h). */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include "nk_ukr_avx2_f32.h"
#define NK_UKR_NAME nk_gemm_ukr_f32_6x16_avx2
#include "nk_gemm_ukr_avx2_impl.h"
#endif
