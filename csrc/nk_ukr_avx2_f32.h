/* nk_ukr_avx2_f32.h -- the float32 / ymm parameters of the AVX2 micro-kernel
 * template nk_gemm_ukr_avx2_impl.h, shared by the GEMM kernel
 * (nk_gemm_ukr_f32_6x16_avx2.c) and conv's shifted-rows kernels
 * (nk_conv_ukr_f32_shift_avx2.c).  The including file defines, per kernel,
 * NK_UKR_NAME (and NK_UKR_SHIFT / NK_UKR_SW for conv). */
#ifndef NK_UKR_AVX2_F32_H
#define NK_UKR_AVX2_F32_H
#include <immintrin.h>
#include "nk_gemm_internal.h"

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
#endif
