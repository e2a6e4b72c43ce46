/* nk_conv_ukr_f32_dw_avx2.c -- float32 AVX2/FMA micro-kernels for conv's
 * weight gradient (nk_conv_shift.c) at the AVX2 level: 6 taps x 16 output
 * channels of dW^T (12 ymm accumulators), over a band of output rows;
 * columns one (_dw) or two (_dw_s2) values apart.  The body is the
 * template nk_conv_ukr_dw_impl.h, as for the AVX-512 kernels: the same FMA
 * chains at half the width, so the two levels give the same bits. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include "nk_ukr_avx2_f32.h"
#define NK_DW_TARGET NK_TARGET_AVX2

#define NK_DW_NAME nk_conv_ukr_f32_6x16_dw_avx2
#define NK_DW_NV 2
#define NK_DW_SW 1
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x16_dw_s2_avx2
#define NK_DW_NV 2
#define NK_DW_SW 2
#include "nk_conv_ukr_dw_impl.h"
#endif
