/* nk_ukr_avx512_f32.h -- the float32 / zmm parameters of the AVX-512
 * micro-kernel template nk_gemm_ukr_avx512_impl.h, shared by the GEMM
 * kernels (nk_gemm_ukr_f32_avx512.c) and conv's shifted-rows kernels
 * (nk_conv_ukr_f32_shift_avx512.c).  The including file defines NK_FN (its
 * own suffix) and, per kernel, NK_UKR_NAME / NK_UKR_ROWS / NK_UKR_COLS. */
#ifndef NK_UKR_AVX512_F32_H
#define NK_UKR_AVX512_F32_H
#include <immintrin.h>
#include "nk_gemm_internal.h"

#define NK_T float
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
#endif
