/* nk_act_avx2.c -- AVX2/FMA block kernels for the activations.
 *
 * relu / leaky_relu: compare and blend (relu keeps NaN: max(0, x) returns
 * its second operand when either is NaN).  sigmoid / tanh use a vectorized
 * exp of a non-positive argument: n = round(x log2 e), r = x - n ln2 (two-
 * part ln2), exp(r) by a polynomial (Cephes' degree-6 for float, the Taylor
 * series to degree 13 for double, |r| <= ln2/2), times 2^n built in the
 * exponent bits; arguments below ln(smallest normal) give 0.  Then
 *   sigmoid(x) = 1/(1+e) for x >= 0, e/(1+e) for x < 0, with e = exp(-|x|);
 *   tanh(x)    = sign(x) (1-e)/(1+e) with e = exp(-2|x|), and for small |x|
 *                (float < 0.625, double < 0.25) x + x z P(z), z = x^2
 *                (Cephes' tanhf polynomial; tanh's Taylor series to x^21).
 * NaN inputs give NaN.  Tails (< 1 vector) use masked loads/stores, so each
 * element gets the same arithmetic wherever it sits in the array.
 * Backward passes use the same operation order as the portable kernels
 * (no FMA), so both paths agree bitwise there.
 */
#include "nk_act.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

/* ---------------------------------------------------------------- float */
NK_TARGET_AVX2 static inline __m256 exp_nonpos_ps(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33654475f); /* ln(FLT_MIN) */
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 y = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, y);
}

NK_TARGET_AVX2 static inline __m256 keep_nan_ps(__m256 y, __m256 x) {
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

NK_TARGET_AVX2 static inline __m256 fwd8_ps(nk_act_op op, __m256 x, __m256 slope) {
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    switch (op) {
    case NK_ACT_RELU:
        return _mm256_max_ps(zero, x);
    case NK_ACT_LEAKY_RELU:
        return _mm256_blendv_ps(_mm256_mul_ps(x, slope), x, _mm256_cmp_ps(x, zero, _CMP_GT_OQ));
    case NK_ACT_SIGMOID: {
        __m256 a = _mm256_andnot_ps(sign, x);
        __m256 e = exp_nonpos_ps(_mm256_xor_ps(a, sign));
        __m256 num = _mm256_blendv_ps(one, e, _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
        return keep_nan_ps(_mm256_div_ps(num, _mm256_add_ps(one, e)), x);
    }
    default: {
        __m256 a = _mm256_andnot_ps(sign, x);
        __m256 e = exp_nonpos_ps(_mm256_mul_ps(a, _mm256_set1_ps(-2.0f)));
        __m256 big = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
        big = _mm256_or_ps(big, _mm256_and_ps(x, sign));
        __m256 z = _mm256_mul_ps(x, x);
        __m256 p = _mm256_set1_ps(-5.70498872745E-3f);
        p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954E-2f));
        p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531E-2f));
        p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036E-1f));
        p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422E-1f));
        __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
        __m256 y = _mm256_blendv_ps(big, small,
                                    _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
        return keep_nan_ps(y, x);
    }
    }
}

NK_TARGET_AVX2 static inline __m256 bwd8_ps(nk_act_op op, __m256 g, __m256 t, __m256 slope) {
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (op) {
    case NK_ACT_RELU: /* t <= 0 ? 0 : g  (NaN t keeps g) */
        return _mm256_and_ps(g, _mm256_cmp_ps(t, zero, _CMP_NLE_UQ));
    case NK_ACT_LEAKY_RELU:
        return _mm256_blendv_ps(_mm256_mul_ps(g, slope), g, _mm256_cmp_ps(t, zero, _CMP_GT_OQ));
    case NK_ACT_SIGMOID:
        return _mm256_mul_ps(_mm256_mul_ps(g, _mm256_sub_ps(one, t)), t);
    default:
        return _mm256_mul_ps(g, _mm256_sub_ps(one, _mm256_mul_ps(t, t)));
    }
}

NK_TARGET_AVX2 static inline __m256i tail_mask_ps(int64_t rem) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* --------------------------------------------------------------- double */
NK_TARGET_AVX2 static inline __m256d exp_nonpos_pd(__m256d x) {
    const __m256d lo = _mm256_set1_pd(-708.3964185322641); /* ln(DBL_MIN) */
    __m256d under = _mm256_cmp_pd(x, lo, _CMP_LT_OQ);
    x = _mm256_max_pd(x, lo);
    __m256d fx = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(fx, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(fx, _mm256_set1_pd(1.90821492927058770002e-10), r);
    /* Taylor series of exp to degree 13: coefficients 1/k! */
    static const double c[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720,
                                 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800,
                                 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};
    __m256d p = _mm256_set1_pd(c[13]);
    for (int k = 12; k >= 0; k--) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c[k]));
    /* 2^fx, fx in [-1022, 0]: integer via the 1.5 * 2^52 trick */
    const __m256d magic = _mm256_set1_pd(6755399441055744.0);
    __m256i n = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(fx, magic)),
                                 _mm256_castpd_si256(magic));
    __m256i e = _mm256_slli_epi64(_mm256_add_epi64(n, _mm256_set1_epi64x(1023)), 52);
    __m256d y = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
    return _mm256_andnot_pd(under, y);
}

NK_TARGET_AVX2 static inline __m256d keep_nan_pd(__m256d y, __m256d x) {
    return _mm256_blendv_pd(y, x, _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
}

NK_TARGET_AVX2 static inline __m256d fwd4_pd(nk_act_op op, __m256d x, __m256d slope) {
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
    const __m256d sign = _mm256_set1_pd(-0.0);
    switch (op) {
    case NK_ACT_RELU:
        return _mm256_max_pd(zero, x);
    case NK_ACT_LEAKY_RELU:
        return _mm256_blendv_pd(_mm256_mul_pd(x, slope), x, _mm256_cmp_pd(x, zero, _CMP_GT_OQ));
    case NK_ACT_SIGMOID: {
        __m256d a = _mm256_andnot_pd(sign, x);
        __m256d e = exp_nonpos_pd(_mm256_xor_pd(a, sign));
        __m256d num = _mm256_blendv_pd(one, e, _mm256_cmp_pd(x, zero, _CMP_LT_OQ));
        return keep_nan_pd(_mm256_div_pd(num, _mm256_add_pd(one, e)), x);
    }
    default: {
        static const double c[10] = {
            -0.3333333333333333, 0.13333333333333333, -0.05396825396825397,
            0.021869488536155203, -0.008863235529902197, 0.003592128036572481,
            -0.0014558343870513183, 0.000590027440945586, -0.00023912911424355248,
            9.691537956929451e-05};
        __m256d a = _mm256_andnot_pd(sign, x);
        __m256d e = exp_nonpos_pd(_mm256_mul_pd(a, _mm256_set1_pd(-2.0)));
        __m256d big = _mm256_div_pd(_mm256_sub_pd(one, e), _mm256_add_pd(one, e));
        big = _mm256_or_pd(big, _mm256_and_pd(x, sign));
        __m256d z = _mm256_mul_pd(x, x);
        __m256d p = _mm256_set1_pd(c[9]);
        for (int k = 8; k >= 0; k--) p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(c[k]));
        __m256d small = _mm256_fmadd_pd(_mm256_mul_pd(p, z), x, x);
        __m256d y = _mm256_blendv_pd(big, small,
                                     _mm256_cmp_pd(a, _mm256_set1_pd(0.25), _CMP_LT_OQ));
        return keep_nan_pd(y, x);
    }
    }
}

NK_TARGET_AVX2 static inline __m256d bwd4_pd(nk_act_op op, __m256d g, __m256d t, __m256d slope) {
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
    switch (op) {
    case NK_ACT_RELU:
        return _mm256_and_pd(g, _mm256_cmp_pd(t, zero, _CMP_NLE_UQ));
    case NK_ACT_LEAKY_RELU:
        return _mm256_blendv_pd(_mm256_mul_pd(g, slope), g, _mm256_cmp_pd(t, zero, _CMP_GT_OQ));
    case NK_ACT_SIGMOID:
        return _mm256_mul_pd(_mm256_mul_pd(g, _mm256_sub_pd(one, t)), t);
    default:
        return _mm256_mul_pd(g, _mm256_sub_pd(one, _mm256_mul_pd(t, t)));
    }
}

NK_TARGET_AVX2 static inline __m256i tail_mask_pd(int64_t rem) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(rem), _mm256_setr_epi64x(0, 1, 2, 3));
}

/* ------------------------------------------------- block drivers (both) */
/* One loop per op (the switch stays outside the loop), then one masked
 * vector for the tail. */
#define NK_ACT_AVX2_BLOCKS(T, SFX, W, V, SET1, LOADU, STOREU, MASKLOAD, MASKSTORE, TAILMASK,   \
                           FWD, BWD)                                                          \
    NK_TARGET_AVX2 void nk_act_fwd_avx2_##SFX(nk_act_op op, int64_t n, const T *x, T *y,      \
                                              T slope) {                                      \
        const V s = SET1(slope);                                                              \
        int64_t i = 0;                                                                        \
        switch (op) {                                                                         \
        case NK_ACT_RELU:                                                                     \
            for (; i + W <= n; i += W) STOREU(y + i, FWD(NK_ACT_RELU, LOADU(x + i), s));       \
            break;                                                                            \
        case NK_ACT_LEAKY_RELU:                                                               \
            for (; i + W <= n; i += W) STOREU(y + i, FWD(NK_ACT_LEAKY_RELU, LOADU(x + i), s)); \
            break;                                                                            \
        case NK_ACT_SIGMOID:                                                                  \
            for (; i + W <= n; i += W) STOREU(y + i, FWD(NK_ACT_SIGMOID, LOADU(x + i), s));    \
            break;                                                                            \
        default:                                                                              \
            for (; i + W <= n; i += W) STOREU(y + i, FWD(NK_ACT_TANH, LOADU(x + i), s));       \
        }                                                                                     \
        if (i < n) {                                                                          \
            __m256i m = TAILMASK(n - i);                                                      \
            MASKSTORE(y + i, m, FWD(op, MASKLOAD(x + i, m), s));                              \
        }                                                                                     \
    }                                                                                         \
    NK_TARGET_AVX2 void nk_act_bwd_avx2_##SFX(nk_act_op op, int64_t n, const T *g,            \
                                              const T *t, T *gi, T slope) {                   \
        const V s = SET1(slope);                                                              \
        int64_t i = 0;                                                                        \
        switch (op) {                                                                         \
        case NK_ACT_RELU:                                                                     \
            for (; i + W <= n; i += W)                                                        \
                STOREU(gi + i, BWD(NK_ACT_RELU, LOADU(g + i), LOADU(t + i), s));              \
            break;                                                                            \
        case NK_ACT_LEAKY_RELU:                                                               \
            for (; i + W <= n; i += W)                                                        \
                STOREU(gi + i, BWD(NK_ACT_LEAKY_RELU, LOADU(g + i), LOADU(t + i), s));        \
            break;                                                                            \
        case NK_ACT_SIGMOID:                                                                  \
            for (; i + W <= n; i += W)                                                        \
                STOREU(gi + i, BWD(NK_ACT_SIGMOID, LOADU(g + i), LOADU(t + i), s));           \
            break;                                                                            \
        default:                                                                              \
            for (; i + W <= n; i += W)                                                        \
                STOREU(gi + i, BWD(NK_ACT_TANH, LOADU(g + i), LOADU(t + i), s));              \
        }                                                                                     \
        if (i < n) {                                                                          \
            __m256i m = TAILMASK(n - i);                                                      \
            MASKSTORE(gi + i, m, BWD(op, MASKLOAD(g + i, m), MASKLOAD(t + i, m), s));         \
        }                                                                                     \
    }

NK_ACT_AVX2_BLOCKS(float, f32, 8, __m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
                   _mm256_maskload_ps, _mm256_maskstore_ps, tail_mask_ps, fwd8_ps, bwd8_ps)
NK_ACT_AVX2_BLOCKS(double, f64, 4, __m256d, _mm256_set1_pd, _mm256_loadu_pd, _mm256_storeu_pd,
                   _mm256_maskload_pd, _mm256_maskstore_pd, tail_mask_pd, fwd4_pd, bwd4_pd)

#else /* no x86 dispatch: the AVX2 entry points are never selected */

void nk_act_fwd_avx2_f32(nk_act_op op, int64_t n, const float *x, float *y, float slope) {
    nk_act_fwd_generic_f32(op, n, x, y, slope);
}
void nk_act_bwd_avx2_f32(nk_act_op op, int64_t n, const float *g, const float *t, float *gi,
                         float slope) {
    nk_act_bwd_generic_f32(op, n, g, t, gi, slope);
}
void nk_act_fwd_avx2_f64(nk_act_op op, int64_t n, const double *x, double *y, double slope) {
    nk_act_fwd_generic_f64(op, n, x, y, slope);
}
void nk_act_bwd_avx2_f64(nk_act_op op, int64_t n, const double *g, const double *t,
                         double *gi, double slope) {
    nk_act_bwd_generic_f64(op, n, g, t, gi, slope);
}
#endif
