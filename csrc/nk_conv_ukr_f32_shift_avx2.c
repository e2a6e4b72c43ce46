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

/* 5 and 4 pixels x 16 channels (10 and 8 accumulators), stride 1, for
 * row-aligned tiles: a row of OW real pixels is cut into tiles of 4-6
 * pixels (14 = 5 + 5 + 4), so no padded-grid column is computed.  The
 * per-element arithmetic of the 6 x 16 kernel (zero start, one FMA chain
 * over the depth, then store_row), so the bits are its. */
#define NK_SHIFT_AVX2_ROWS(NAME, MR)                                                         \
    NK_TARGET_AVX2 void NAME(int64_t kc, const float *NK_RESTRICT a,                         \
                             const int64_t *NK_RESTRICT aoff, const float *NK_RESTRICT b,    \
                             float *NK_RESTRICT c, int64_t rs_c, const nk_ukr_args_f32 *args) { \
        __m256 acc[MR][2];                                                                   \
        _Pragma("GCC unroll 6") for (int r = 0; r < (MR); r++) {                             \
            acc[r][0] = _mm256_setzero_ps();                                                 \
            acc[r][1] = _mm256_setzero_ps();                                                 \
        }                                                                                    \
        for (int64_t p = 0; p < kc; p++) {                                                   \
            const float *ap = a + aoff[p];                                                   \
            const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);                 \
            b += 16;                                                                         \
            _Pragma("GCC unroll 6") for (int r = 0; r < (MR); r++) {                         \
                const __m256 av = _mm256_broadcast_ss(ap + r);                               \
                acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);                              \
                acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);                              \
            }                                                                                \
        }                                                                                    \
        _Pragma("GCC unroll 6") for (int r = 0; r < (MR); r++)                               \
            store_row(c + r * rs_c, acc[r][0], acc[r][1], r, args);                          \
    }

NK_SHIFT_AVX2_ROWS(nk_conv_ukr_f32_5x16_shift_avx2, 5)
NK_SHIFT_AVX2_ROWS(nk_conv_ukr_f32_4x16_shift_avx2, 4)
#endif
