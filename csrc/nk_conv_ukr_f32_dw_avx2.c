/* nk_conv_ukr_f32_dw_avx2.c -- float32 AVX2/FMA micro-kernels for conv's
 * weight gradient (nk_conv_shift.c) at the AVX2 level: a tile of 6 taps x
 * 16 output channels of dW^T, summed over a band of output pixel rows of
 * one image.
 *
 *   c[t][o] (+)= sum over rows r < rows, columns i < ncol of
 *                a_t[r*rs + i*SW] * b[(r*ncol + i)*ldb + o]
 *
 * Same contract as the AVX-512 kernels (nk_conv_ukr_f32_dw_avx512.c), at
 * half their width: per pixel 2 aligned loads of dy^T, 6 broadcasts, 12
 * FMAs on 12 ymm accumulators.  Every c element is one FMA chain over the
 * pixels in order -- the same chain as the AVX-512 kernel's, so the two
 * levels give the same bits. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_DW_ROW(t)                                                        \
    do {                                                                    \
        const __m256 s = _mm256_broadcast_ss(a##t + i * SW);                \
        acc[t][0] = _mm256_fmadd_ps(s, b0, acc[t][0]);                      \
        acc[t][1] = _mm256_fmadd_ps(s, b1, acc[t][1]);                      \
    } while (0)

#define NK_DW_UKR(SFX)                                                                     \
    NK_TARGET_AVX2 void nk_conv_ukr_f32_6x16_dw##SFX##_avx2(                              \
        int64_t rows, int64_t ncol, int64_t rs, const float *const *arow, const float *b, \
        int64_t ldb, float *c, int64_t ldc, int first) {                                  \
        __m256 acc[6][2];                                                                  \
        _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)                               \
            _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++)                           \
                acc[t][v] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(c + t * ldc + 8 * v); \
        const float *a0 = arow[0], *a1 = arow[1], *a2 = arow[2];                          \
        const float *a3 = arow[3], *a4 = arow[4], *a5 = arow[5];                          \
        for (int64_t r = 0; r < rows; r++) {                                               \
            for (int64_t i = 0; i < ncol; i++) {                                           \
                const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);           \
                b += ldb;                                                                  \
                NK_DW_ROW(0); NK_DW_ROW(1); NK_DW_ROW(2);                                  \
                NK_DW_ROW(3); NK_DW_ROW(4); NK_DW_ROW(5);                                  \
            }                                                                              \
            a0 += rs; a1 += rs; a2 += rs; a3 += rs; a4 += rs; a5 += rs;                    \
        }                                                                                  \
        _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)                               \
            _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++)                           \
                _mm256_storeu_ps(c + t * ldc + 8 * v, acc[t][v]);                          \
    }

#define SW 1
NK_DW_UKR()
#undef SW
#define SW 2
NK_DW_UKR(_s2)
#undef SW
#endif
