/* nk_pool_adaptive.c -- adaptive average pooling forward and backward.
 *
 * Output (oh, ow) averages rows [floor(oh*H/OH), ceil((oh+1)*H/OH)) and the
 * same rule for columns (PyTorch's adaptive rule).  Output size 1x1 (global
 * average pooling) sums each plane with 16 independent partial sums in a
 * fixed order (AVX2 or portable code compiled from the same source), so the
 * result depends on neither the thread count nor the ISA path.
 * Instantiated for float and double by including this file into itself. */
#ifndef NK_POOL_ADA_T

#include <string.h>
#include "nk_pool.h"
#include "nk_runtime.h"

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
#if NK_X86_DISPATCH
NK_POOL_PLANE_SUM(NK_TARGET_AVX2, F(plane_sum_avx2))
#endif

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
