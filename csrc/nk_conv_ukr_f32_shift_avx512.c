/* nk_conv_ukr_f32_shift_avx512.c -- float32 AVX-512F micro-kernels for
 * conv's stride-1 path (nk_conv_shift.c): 12 pixels x 32 (or 16) output
 * channels.  The 12 pixels are read in place, depth step p broadcasting
 * a[aoff[p] + r*sw], r = 0..11 (12 values of a zero-padded input row,
 * sw = 1, or every second one, sw = 2: the *_s2 kernels)
 * instead of a packed im2col panel; the weights are packed GEMM panels of
 * 16 channels.  The per-element arithmetic is the GEMM kernels' (see
 * nk_gemm_ukr_avx512_impl.h), so the results match the im2col path bit for
 * bit. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include "nk_ukr_avx512_f32.h"

#define NK_FN(x) x##_f32_shift
#define NK_UKR_SHIFT
#define NK_UKR_NAME nk_conv_ukr_f32_12x32_shift_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 2
#include "nk_gemm_ukr_avx512_impl.h"
#define NK_UKR_NAME nk_conv_ukr_f32_12x16_shift_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 1
#include "nk_gemm_ukr_avx512_impl.h"
#define NK_UKR_NAME nk_conv_ukr_f32_12x32_shift_s2_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 2
#define NK_UKR_SW 2
#include "nk_gemm_ukr_avx512_impl.h"
#define NK_UKR_NAME nk_conv_ukr_f32_12x16_shift_s2_avx512
#define NK_UKR_ROWS 12
#define NK_UKR_COLS 1
#define NK_UKR_SW 2
#include "nk_gemm_ukr_avx512_impl.h"
#endif
