/* nk_pool_adaptive.c -- adaptive average pooling forward and backward.
 *
 * Output (oh, ow) averages rows [floor(oh*H/OH), ceil((oh+1)*H/OH)) and the
 * same rule for columns (PyTorch's adaptive rule).  Output size 1x1 (global
 * average pooling) sums each plane with 16 independent partial sums in a
 * fixed order (portable code, or the same order in AVX2 vectors), so the
 * result depends on neither the thread count nor the ISA path.
 * Instantiated for float and double by including this file into itself. */
#ifndef NK_POOL_ADA_T

#include <string.h>
#include "nk_pool.h"
#include "nk_runtime.h"
#if NK_X86_DISPATCH
#include <immintrin.h>

/* The portable plane_sum below, with vectors: lane k of the accumulators is
 * partial sum k; the tail is a masked load (adding +0 to a partial sum that
 * started at +0 changes nothing); the pairwise combination is the same. */
NK_TARGET_AVX2 static float plane_sum_avx2_f32(const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    }
    if (i < n) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i r = _mm256_set1_epi32((int)(n - i));
        const __m256i m0 = _mm256_cmpgt_epi32(r, lane);
        const __m256i m1 = _mm256_cmpgt_epi32(r, _mm256_add_epi32(lane, _mm256_set1_epi32(8)));
        a0 = _mm256_add_ps(a0, _mm256_maskload_ps(x + i, m0));
        a1 = _mm256_add_ps(a1, _mm256_maskload_ps(x + i + 8, m1));
    }
    const __m256 v = _mm256_add_ps(a0, a1);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}

NK_TARGET_AVX2 static double plane_sum_avx2_f64(const double *x, int64_t n) {
    __m256d a[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 4; k++) a[k] = _mm256_add_pd(a[k], _mm256_loadu_pd(x + i + 4 * k));
    if (i < n) {
        const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
        const __m256i r = _mm256_set1_epi64x(n - i);
        for (int k = 0; k < 4; k++) {
            const __m256i m =
                _mm256_cmpgt_epi64(r, _mm256_add_epi64(lane, _mm256_set1_epi64x(4 * k)));
            a[k] = _mm256_add_pd(a[k], _mm256_maskload_pd(x + i + 4 * k, m));
        }
    }
    const __m256d v = _mm256_add_pd(_mm256_add_pd(a[0], a[2]), _mm256_add_pd(a[1], a[3]));
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    q = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
    return _mm_cvtsd_f64(q);
}
#endif

#define NK_POOL_ADA_T float
#define F(name) name##_f32
#include "nk_pool_adaptive.c"
#undef NK_POOL_ADA_T
#undef F
#define NK_POOL_ADA_T double
#define F(name) name##_f64
#include "nk_pool_adaptive.c"

#else /* template body */

#define T NK_POOL_ADA_T

/* Sum of n elements: 16 interleaved partial sums combined pairwise. */
#define NK_POOL_PLANE_SUM(ATTR, NAME)                                       \
    ATTR static T NAME(const T *x, int64_t n) {                             \
        T acc[16] = {0};                                                    \
        int64_t i = 0;                                                      \
        for (; i + 16 <= n; i += 16)                                        \
            for (int k = 0; k < 16; k++) acc[k] += x[i + k];                \
        for (int k = 0; i < n; i++, k++) acc[k] += x[i];                    \
        for (int w = 8; w >= 1; w /= 2)                                     \
            for (int k = 0; k < w; k++) acc[k] += acc[k + w];               \
        return acc[0];                                                      \
    }
NK_POOL_PLANE_SUM(, F(plane_sum))

nk_status F(nk_pool_adaptive_avg_fwd)(const nk_pool2d_shape *s, const T *x, T *y,
                                      int nthreads) {
    nk_status st = nk_pool2d_check_sizes(s, 1);
    if (st != NK_OK) return st;
    const int64_t P = s->planes, H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t HW = H * W, OHW = OH * OW;
    if (P == 0 || OHW == 0) return NK_OK;
    if (!x || !y) return NK_ERR_ARG;
    int avx2 = 0;
#if NK_X86_DISPATCH
    avx2 = nk_isa_active() == NK_ISA_AVX2;
#endif
    const int nt = nk_threads_for(nthreads, P * (HW + OHW), 1 << 15);
    (void)nt;
    (void)avx2;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < P; p++) {
        const T *xp = x + p * HW;
        T *yp = y + p * OHW;
        if (OHW == 1) {
#if NK_X86_DISPATCH
            yp[0] = (avx2 ? F(plane_sum_avx2)(xp, HW) : F(plane_sum)(xp, HW)) / (T)HW;
#else
            yp[0] = F(plane_sum)(xp, HW) / (T)HW;
#endif
            continue;
        }
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t hs = oh * H / OH, he = ((oh + 1) * H + OH - 1) / OH;
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t ws = ow * W / OW, we = ((ow + 1) * W + OW - 1) / OW;
                T sum = 0;
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++) sum += xp[h * W + w];
                yp[oh * OW + ow] = sum / (T)((he - hs) * (we - ws));
            }
        }
    }
    return NK_OK;
}

nk_status F(nk_pool_adaptive_avg_bwd)(const nk_pool2d_shape *s, const T *dy, T *dx,
                                      int nthreads) {
    nk_status st = nk_pool2d_check_sizes(s, 1);
    if (st != NK_OK) return st;
    const int64_t P = s->planes, H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t HW = H * W, OHW = OH * OW;
    if (P == 0 || HW == 0) return NK_OK;
    if (!dx || (OHW && !dy)) return NK_ERR_ARG;
    const int nt = nk_threads_for(nthreads, P * (HW + OHW), 1 << 15);
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < P; p++) {
        const T *gp = dy + p * OHW;
        T *dp = dx + p * HW;
        if (OHW == 1) {
            const T g = (T)0 + gp[0] / (T)HW;
            for (int64_t i = 0; i < HW; i++) dp[i] = g;
            continue;
        }
        memset(dp, 0, (size_t)HW * sizeof(T));
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t hs = oh * H / OH, he = ((oh + 1) * H + OH - 1) / OH;
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t ws = ow * W / OW, we = ((ow + 1) * W + OW - 1) / OW;
                const T g = gp[oh * OW + ow] / (T)((he - hs) * (we - ws));
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++) dp[h * W + w] += g;
            }
        }
    }
    return NK_OK;
}

#undef T
#endif
