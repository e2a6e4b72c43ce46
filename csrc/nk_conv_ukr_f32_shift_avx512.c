/* nk_conv_ukr_f32_shift_avx512.c -- float32 AVX-512F micro-kernels for
 * conv's stride-1 path (nk_conv_shift.c): 12 pixels x 32 (or 16) output
 * channels.  The 12 pixels are read in place, depth step p broadcasting
 * a[aoff[p] + r*sw], r = 0..11 (12 values of a zero-padded input row,
 * sw = 1, or every second one, sw = 2: the *_s2 kernels)
 * instead of a packed im2col panel; the weights are packed GEMM panels of
 * 16 channels.  The per-element arithmetic is the GEMM kernels' (see
 * nk_gemm_ukr_avx512_impl.h), so the results match the im2col path bit for
 * bit. */
#include <assert.h>
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

/* ROWS = 7..14 pixels x 32 channels (2*ROWS accumulators), for
 * row-aligned tiles: a tile is a stretch of real pixels of one row, so no
 * padded-grid column is computed (nk_conv_ukr_f32_rx32_shift_avx512 picks
 * the kernel by tile length).  Row r broadcasts a[aoff[p] + r*SW] (_s2: every
 * second value).  The per-element arithmetic of the template's kernels
 * (zero start, one FMA chain over the depth, then finish), so the bits are
 * theirs. */
#define NK_SHIFT_ROWSX32(NAME, ROWS, SW)                                                     \
    NK_TARGET_AVX512 static void NAME(int64_t kc, const float *NK_RESTRICT a,                       \
                               const int64_t *NK_RESTRICT aoff, const float *NK_RESTRICT b,  \
                               float *NK_RESTRICT c, int64_t rs_c,                           \
                               const nk_ukr_args_f32 *args) {                                \
        __m512 acc[ROWS][2];                                                                 \
        _Pragma("GCC unroll 14") for (int r = 0; r < (ROWS); r++) {                          \
            acc[r][0] = _mm512_setzero_ps();                                                 \
            acc[r][1] = _mm512_setzero_ps();                                                 \
        }                                                                                    \
        const float *bq0 = b, *bq1 = b + kc * NK_GEMM_NR_F32;                                \
        for (int64_t p = 0; p < kc; p++) {                                                   \
            const float *ap = a + aoff[p];                                                   \
            const __m512 b0 = _mm512_load_ps(bq0), b1 = _mm512_load_ps(bq1);                 \
            bq0 += NK_GEMM_NR_F32;                                                           \
            bq1 += NK_GEMM_NR_F32;                                                           \
            _Pragma("GCC unroll 14") for (int r = 0; r < (ROWS); r++) {                      \
                const __m512 av = _mm512_set1_ps(ap[r * (SW)]);                              \
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);                              \
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);                              \
            }                                                                                \
        }                                                                                    \
        _Pragma("GCC unroll 14") for (int r = 0; r < (ROWS); r++) {                          \
            float *cr = c + r * rs_c;                                                        \
            _mm512_storeu_ps(cr, finish_f32_shift(acc[r][0], cr, 0, r, args));               \
            _mm512_storeu_ps(cr + 16, finish_f32_shift(acc[r][1], cr + 16, 16, r, args));    \
        }                                                                                    \
    }

#define NK_SHIFT_ROWS_BOTH(R)                                                                \
    NK_SHIFT_ROWSX32(nk_shift_##R##x32, R, 1)                                                \
    NK_SHIFT_ROWSX32(nk_shift_##R##x32_s2, R, 2)
NK_SHIFT_ROWS_BOTH(7)
NK_SHIFT_ROWS_BOTH(8)
NK_SHIFT_ROWS_BOTH(9)
NK_SHIFT_ROWS_BOTH(10)
NK_SHIFT_ROWS_BOTH(11)
NK_SHIFT_ROWS_BOTH(12)
NK_SHIFT_ROWS_BOTH(13)
NK_SHIFT_ROWS_BOTH(14)

/* Two rows of 7 pixels x 32 channels (rows of 7: a ResNet's last stage,
 * 28 accumulators instead of 14): pixel r < 7 broadcasts a[aoff[p] + r*SW]
 * and is stored at row r of c, pixel 7 + r broadcasts a[da + aoff[p] +
 * r*SW] and is stored at c + dc + r*rs_c.  The per-element arithmetic of
 * the kernels above, so the same bits. */
#define NK_SHIFT_7X2X32(NAME, SW)                                                            \
    NK_TARGET_AVX512 static void NAME(int64_t kc, const float *NK_RESTRICT a,                \
                                      const int64_t *NK_RESTRICT aoff,                       \
                                      const float *NK_RESTRICT b, float *NK_RESTRICT c,      \
                                      int64_t rs_c, int64_t da, int64_t dc,                  \
                                      const nk_ukr_args_f32 *args) {                         \
        __m512 acc[14][2];                                                                   \
        _Pragma("GCC unroll 14") for (int r = 0; r < 14; r++) {                              \
            acc[r][0] = _mm512_setzero_ps();                                                 \
            acc[r][1] = _mm512_setzero_ps();                                                 \
        }                                                                                    \
        const float *bq0 = b, *bq1 = b + kc * NK_GEMM_NR_F32, *a2 = a + da;                  \
        for (int64_t p = 0; p < kc; p++) {                                                   \
            const float *ap = a + aoff[p], *ap2 = a2 + aoff[p];                              \
            const __m512 b0 = _mm512_load_ps(bq0), b1 = _mm512_load_ps(bq1);                 \
            bq0 += NK_GEMM_NR_F32;                                                           \
            bq1 += NK_GEMM_NR_F32;                                                           \
            _Pragma("GCC unroll 14") for (int r = 0; r < 14; r++) {                          \
                const __m512 av = _mm512_set1_ps(r < 7 ? ap[r * (SW)] : ap2[(r - 7) * (SW)]); \
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);                              \
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);                              \
            }                                                                                \
        }                                                                                    \
        _Pragma("GCC unroll 14") for (int r = 0; r < 14; r++) {                              \
            float *cr = r < 7 ? c + r * rs_c : c + dc + (r - 7) * rs_c;                      \
            _mm512_storeu_ps(cr, finish_f32_shift(acc[r][0], cr, 0, r, args));               \
            _mm512_storeu_ps(cr + 16, finish_f32_shift(acc[r][1], cr + 16, 16, r, args));    \
        }                                                                                    \
    }
NK_SHIFT_7X2X32(nk_shift_7x2x32, 1)
NK_SHIFT_7X2X32(nk_shift_7x2x32_s2, 2)

/* One row of 7 pixels x 64 channels (four 16-channel panels, 28
 * accumulators): a lone row of 7 (an odd row count) at the rate of the
 * pairs; the same per-element arithmetic. */
#define NK_SHIFT_7X64(NAME, SW)                                                              \
    NK_TARGET_AVX512 static void NAME(int64_t kc, const float *NK_RESTRICT a,                \
                                      const int64_t *NK_RESTRICT aoff,                       \
                                      const float *NK_RESTRICT b, float *NK_RESTRICT c,      \
                                      int64_t rs_c, const nk_ukr_args_f32 *args) {           \
        __m512 acc[7][4];                                                                    \
        _Pragma("GCC unroll 7") for (int r = 0; r < 7; r++)                                  \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_ps(); \
        const float *bq = b;                                                                 \
        const int64_t pstep = kc * NK_GEMM_NR_F32;                                           \
        for (int64_t p = 0; p < kc; p++) {                                                   \
            const float *ap = a + aoff[p];                                                   \
            const __m512 b0 = _mm512_load_ps(bq), b1 = _mm512_load_ps(bq + pstep);           \
            const __m512 b2 = _mm512_load_ps(bq + 2 * pstep), b3 = _mm512_load_ps(bq + 3 * pstep); \
            bq += NK_GEMM_NR_F32;                                                            \
            _Pragma("GCC unroll 7") for (int r = 0; r < 7; r++) {                            \
                const __m512 av = _mm512_set1_ps(ap[r * (SW)]);                              \
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);                              \
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);                              \
                acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);                              \
                acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);                              \
            }                                                                                \
        }                                                                                    \
        _Pragma("GCC unroll 7") for (int r = 0; r < 7; r++) {                                \
            float *cr = c + r * rs_c;                                                        \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++)                              \
                _mm512_storeu_ps(cr + 16 * j,                                                \
                                 finish_f32_shift(acc[r][j], cr + 16 * j, 16 * j, r, args)); \
        }                                                                                    \
    }
NK_SHIFT_7X64(nk_shift_7x64, 1)
NK_SHIFT_7X64(nk_shift_7x64_s2, 2)

NK_TARGET_AVX512 void nk_conv_ukr_f32_7x64_shift_avx512(int sw, int64_t kc, const float *a,
                                                        const int64_t *aoff, const float *b,
                                                        float *c, int64_t rs_c,
                                                        const nk_ukr_args_f32 *args) {
    if (sw == 1) nk_shift_7x64(kc, a, aoff, b, c, rs_c, args);
    else nk_shift_7x64_s2(kc, a, aoff, b, c, rs_c, args);
}

NK_TARGET_AVX512 void nk_conv_ukr_f32_7x2x32_shift_avx512(int sw, int64_t kc, const float *a,
                                                          const int64_t *aoff, const float *b,
                                                          float *c, int64_t rs_c, int64_t da,
                                                          int64_t dc,
                                                          const nk_ukr_args_f32 *args) {
    if (sw == 1) nk_shift_7x2x32(kc, a, aoff, b, c, rs_c, da, dc, args);
    else nk_shift_7x2x32_s2(kc, a, aoff, b, c, rs_c, da, dc, args);
}

NK_TARGET_AVX512 void nk_conv_ukr_f32_rx32_shift_avx512(int rows, int sw, int64_t kc,
                                                        const float *a, const int64_t *aoff,
                                                        const float *b, float *c, int64_t rs_c,
                                                        const nk_ukr_args_f32 *args) {
#define NK_SHIFT_CASE(R)                                                                     \
    case R:                                                                                  \
        if (sw == 1) nk_shift_##R##x32(kc, a, aoff, b, c, rs_c, args);                       \
        else nk_shift_##R##x32_s2(kc, a, aoff, b, c, rs_c, args);                            \
        break;
    switch (rows) {
        NK_SHIFT_CASE(7)
        NK_SHIFT_CASE(8)
        NK_SHIFT_CASE(9)
        NK_SHIFT_CASE(10)
        NK_SHIFT_CASE(11)
        NK_SHIFT_CASE(12)
        NK_SHIFT_CASE(13)
    default:
        assert(rows == 14);
        if (sw == 1) nk_shift_14x32(kc, a, aoff, b, c, rs_c, args);
        else nk_shift_14x32_s2(kc, a, aoff, b, c, rs_c, args);
    }
#undef NK_SHIFT_CASE
}
#endif
