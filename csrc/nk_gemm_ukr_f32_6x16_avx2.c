/* nk_gemm_ukr_f32_6x16_avx2.c -- float32 AVX2+FMA micro-kernel, 6 x 16 tile.
 *
 * Why 6 x 16: a 16-wide row of B is two ymm registers, and 6 rows of A give
 * 6 x 2 = 12 accumulators; with the 2 B vectors and 1 broadcast that is 15
 * of the 16 ymm registers.  Each depth step issues 12 FMAs for 2 loads and
 * 6 broadcasts, enough independent FMAs (12 >= 2 ports x 4-5 cycles latency)
 * to keep both FMA pipes busy, and the loads stay under the 2-3/cycle the
 * load ports sustain.  See nk_gemm_internal.h for the contract. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_ROW_FMA(r)                                      \
    do {                                                   \
        __m256 av = _mm256_broadcast_ss(a + (r));          \
        c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);        \
        c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);        \
    } while (0)

#define NK_STEP()                                          \
    do {                                                   \
        __m256 b0 = _mm256_load_ps(b);                     \
        __m256 b1 = _mm256_load_ps(b + 8);                 \
        NK_ROW_FMA(0); NK_ROW_FMA(1); NK_ROW_FMA(2);       \
        NK_ROW_FMA(3); NK_ROW_FMA(4); NK_ROW_FMA(5);       \
        a += 6;                                            \
        b += 16;                                           \
    } while (0)

NK_TARGET_AVX2 NK_INLINE void store_row(float *c, __m256 t0, __m256 t1, int r,
                                        const nk_ukr_args_f32 *args) {
    if (args->alpha != 1.0f) {
        __m256 va = _mm256_set1_ps(args->alpha);
        t0 = _mm256_mul_ps(t0, va);
        t1 = _mm256_mul_ps(t1, va);
    }
    if (args->beta == 1.0f) {
        t0 = _mm256_add_ps(_mm256_loadu_ps(c), t0);
        t1 = _mm256_add_ps(_mm256_loadu_ps(c + 8), t1);
    } else if (args->beta != 0.0f) {
        __m256 vb = _mm256_set1_ps(args->beta);
        t0 = _mm256_fmadd_ps(_mm256_loadu_ps(c), vb, t0);
        t1 = _mm256_fmadd_ps(_mm256_loadu_ps(c + 8), vb, t1);
    }
    if (args->bias) {
        if (args->bias_per_row) {
            __m256 vb = _mm256_set1_ps(args->bias[r]);
            t0 = _mm256_add_ps(t0, vb);
            t1 = _mm256_add_ps(t1, vb);
        } else {
            t0 = _mm256_add_ps(t0, _mm256_loadu_ps(args->bias));
            t1 = _mm256_add_ps(t1, _mm256_loadu_ps(args->bias + 8));
        }
    }
    if (args->relu) { /* maxps returns its 2nd operand when one is NaN */
        __m256 z = _mm256_setzero_ps();
        t0 = _mm256_max_ps(z, t0);
        t1 = _mm256_max_ps(z, t1);
    }
    _mm256_storeu_ps(c, t0);
    _mm256_storeu_ps(c + 8, t1);
}

NK_TARGET_AVX2 void nk_gemm_ukr_f32_6x16_avx2(int64_t kc, const float *NK_RESTRICT a,
                                              const float *NK_RESTRICT b, float *NK_RESTRICT c,
                                              int64_t rs_c, const nk_ukr_args_f32 *args) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    if (args->beta != 0.0f)
        for (int r = 0; r < 6; r++) { /* a row may straddle two lines */
            _mm_prefetch((const char *)(c + r * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + r * rs_c + 15), _MM_HINT_T0);
        }
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(a + 96), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 256), _MM_HINT_T0);
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
