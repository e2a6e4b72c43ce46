/* nk_conv_ukr_f32_dw_avx512.c -- float32 AVX-512F micro-kernels for conv's
 * weight gradient (nk_conv_shift.c): 6 taps x NV*16 output channels of dW^T
 * (NV = 1..4; 24 accumulators for NV = 4, the GEMM kernel's budget), over
 * a band of output rows; columns one (_dw) or two (_dw_s2) values apart.
 * The kernel body is the template nk_conv_ukr_dw_impl.h. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include "nk_ukr_avx512_f32.h"
#define NK_DW_TARGET NK_TARGET_AVX512

#define NK_DW_NAME nk_conv_ukr_f32_6x1v_dw_avx512
#define NK_DW_NV 1
#define NK_DW_SW 1
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x2v_dw_avx512
#define NK_DW_NV 2
#define NK_DW_SW 1
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x3v_dw_avx512
#define NK_DW_NV 3
#define NK_DW_SW 1
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x4v_dw_avx512
#define NK_DW_NV 4
#define NK_DW_SW 1
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x1v_dw_s2_avx512
#define NK_DW_NV 1
#define NK_DW_SW 2
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x2v_dw_s2_avx512
#define NK_DW_NV 2
#define NK_DW_SW 2
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x3v_dw_s2_avx512
#define NK_DW_NV 3
#define NK_DW_SW 2
#include "nk_conv_ukr_dw_impl.h"
#define NK_DW_NAME nk_conv_ukr_f32_6x4v_dw_s2_avx512
#define NK_DW_NV 4
#define NK_DW_SW 2
#include "nk_conv_ukr_dw_impl.h"
#endif
