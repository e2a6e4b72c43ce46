/* nk_gemm_ukr_f64_6x8_avx2.c -- float64 AVX2+FMA micro-kernel, 6 x 8 tile.
 *
 * Same register budget as the float32 6 x 16 kernel: an 8-wide row of B is
 * two ymm registers of 4 doubles, 6 rows of A give 12 accumulators, plus 2 B
 * vectors and 1 broadcast = 15 of 16 ymm registers; 12 independent FMAs per
 * depth step cover the FMA latency on both pipes.  Contract in
 * nk_gemm_internal.h. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_ROW_FMA(r)                                      \
    do {                                                   \
        __m256d av = _mm256_broadcast_sd(a + (r));         \
        c##r##0 = _mm256_fmadd_pd(av, b0, c##r##0);        \
        c##r##1 = _mm256_fmadd_pd(av, b1, c##r##1);        \
    } while (0)

#define NK_STEP()                                          \
    do {                                                   \
        __m256d b0 = _mm256_load_pd(b);                    \
        __m256d b1 = _mm256_load_pd(b + 4);                \
        NK_ROW_FMA(0); NK_ROW_FMA(1); NK_ROW_FMA(2);       \
        NK_ROW_FMA(3); NK_ROW_FMA(4); NK_ROW_FMA(5);       \
        a += 6;                                            \
        b += 8;                                            \
    } while (0)

NK_TARGET_AVX2 NK_INLINE void store_row(double *c, __m256d t0, __m256d t1, int r,
                                        const nk_ukr_args_f64 *args) {
    if (args->alpha != 1.0) {
        __m256d va = _mm256_set1_pd(args->alpha);
        t0 = _mm256_mul_pd(t0, va);
        t1 = _mm256_mul_pd(t1, va);
    }
    if (args->beta == 1.0) {
        t0 = _mm256_add_pd(_mm256_loadu_pd(c), t0);
        t1 = _mm256_add_pd(_mm256_loadu_pd(c + 4), t1);
    } else if (args->beta != 0.0) {
        __m256d vb = _mm256_set1_pd(args->beta);
        t0 = _mm256_fmadd_pd(_mm256_loadu_pd(c), vb, t0);
        t1 = _mm256_fmadd_pd(_mm256_loadu_pd(c + 4), vb, t1);
    }
    if (args->bias) {
        if (args->bias_per_row) {
            __m256d vb = _mm256_set1_pd(args->bias[r]);
            t0 = _mm256_add_pd(t0, vb);
            t1 = _mm256_add_pd(t1, vb);
        } else {
            t0 = _mm256_add_pd(t0, _mm256_loadu_pd(args->bias));
            t1 = _mm256_add_pd(t1, _mm256_loadu_pd(args->bias + 4));
        }
    }
    if (args->relu) { /* maxpd returns its 2nd operand when one is NaN */
        __m256d z = _mm256_setzero_pd();
        t0 = _mm256_max_pd(z, t0);
        t1 = _mm256_max_pd(z, t1);
    }
    _mm256_storeu_pd(c, t0);
    _mm256_storeu_pd(c + 4, t1);
}

NK_TARGET_AVX2 void nk_gemm_ukr_f64_6x8_avx2(int64_t kc, const double *NK_RESTRICT a,
                                             const double *NK_RESTRICT b, double *NK_RESTRICT c,
                                             int64_t rs_c, const nk_ukr_args_f64 *args) {
    __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
    __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
    __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
    __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
    __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
    __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
    if (args->beta != 0.0)
        for (int r = 0; r < 6; r++) { /* a row may straddle two lines */
            _mm_prefetch((const char *)(c + r * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + r * rs_c + 7), _MM_HINT_T0);
        }
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(a + 96), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 128), _MM_HINT_T0);
        NK_STEP(); NK_STEP(); NK_STEP(); NK_STEP();
    }
    for (; p < kc; p++) NK_STEP();
    store_row(c + 0 * rs_c, c00, c01, 0, args);
    store_row(c + 1 * rs_c, c10, c11, 1, args);
    store_row(c + 2 * rs_c, c20, c21, 2, args);
    store_row(c + 3 * rs_c, c30, c31, 3, args);
    store_row(c + 4 * rs_c, c40, c41, 4, args);
    store_row(c + 5 * rs_c, c50, c51, 5, args);
}
#endif
