/* nk_conv_ukr_f32_shift_avx2.c -- float32 AVX2+FMA micro-kernels for conv's
 * shifted-rows path (nk_conv_shift.c) at the AVX2 level: 6 pixels x 16
 * output channels, depth step p broadcasting a[aoff[p] + r*sw], r = 0..5,
 * from a zero-padded input row (sw = 1, or 2: the _s2 kernel) against packed
 * weight panels of 16 channels.  Same arithmetic as the 6 x 16 GEMM kernel
 * (nk_gemm_ukr_avx2_impl.h), so the bits equal the im2col path's. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include "nk_ukr_avx2_f32.h"
#define NK_UKR_SHIFT
#define NK_UKR_NAME nk_conv_ukr_f32_6x16_shift_avx2
#include "nk_gemm_ukr_avx2_impl.h"
#define NK_UKR_NAME nk_conv_ukr_f32_6x16_shift_s2_avx2
#define NK_UKR_SW 2
#include "nk_gemm_ukr_avx2_impl.h"
#endif
