/* nk_pool_fwd.c -- max and average pooling forward drivers.
 *
 * One OpenMP region per call, planes (N*C) split statically over threads:
 * each output element is computed by exactly the same code whatever the
 * thread count.  With AVX2 active, a plane with stride 1 or 2 and at least
 * one vector of outputs per row goes to the AVX2 plane kernels
 * (nk_pool_avx2.c), borders included; everything else runs the portable
 * loops below (window rows clipped once per output row, columns per
 * output; branch-free maximum in the NaN-free case).
 * Instantiated for float and double by including this file into itself. */
#ifndef NK_POOL_FWD_T

#include <math.h>
#include "nk_pool.h"
#include "nk_runtime.h"

/* First valid position of a dilated window starting at a (may be < 0). */
static inline int64_t nk_pool_first(int64_t a, int64_t d) {
    return a >= 0 ? a : a + ((-a + d - 1) / d) * d;
}

#define NK_POOL_FWD_T float
#define F(name) name##_f32
#include "nk_pool_fwd.c"
#undef NK_POOL_FWD_T
#undef F
#define NK_POOL_FWD_T double
#define F(name) name##_f64
#include "nk_pool_fwd.c"

#else /* template body */

#define T NK_POOL_FWD_T

/* One output over rows [hs, he) step dh and columns [ws, we) step dw.
 * Same result as the literal rule m = (v > m || isnan(v)) ? v : m (index
 * of the last update), branch-free in the common NaN-free case: strictly
 * greater elements update (first maximum wins), with conditional selects;
 * a window holding a NaN reruns the literal rule. */
static inline void F(max_one)(const T *x, int64_t W, int64_t hs, int64_t he, int64_t dh,
                              int64_t ws, int64_t we, int64_t dw, T *yo, int64_t *io) {
    T m = -INFINITY;
    int64_t mi = hs * W + ws;
    int nan = 0;
    if (io) {
        for (int64_t h = hs; h < he; h += dh) {
            const T *xr = x + h * W;
            for (int64_t w = ws; w < we; w += dw) {
                const T v = xr[w];
                const int64_t gt = v > m;
                mi += ((h * W + w) - mi) & -gt;
                m = v > m ? v : m;
                nan |= v != v;
            }
        }
    } else {
        for (int64_t h = hs; h < he; h += dh) {
            const T *xr = x + h * W;
            for (int64_t w = ws; w < we; w += dw) {
                const T v = xr[w];
                m = v > m ? v : m;
                nan |= v != v;
            }
        }
    }
    if (NK_UNLIKELY(nan)) {
        mi = hs * W + ws;
        m = -INFINITY;
        for (int64_t h = hs; h < he; h += dh)
            for (int64_t w = ws; w < we; w += dw) {
                const T v = x[h * W + w];
                if (v > m || isnan(v)) {
                    m = v;
                    mi = h * W + w;
                }
            }
    }
    *yo = m;
    if (io) *io = mi;
}

static void F(max_plane)(const nk_pool2d_shape *s, const T *x, T *y, int64_t *ind, int avx2) {
    if (avx2 && F(nk_pool_max_plane_avx2)(s, x, y, ind)) return;
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t kh = s->kh, kw = s->kw, sh = s->sh, sw = s->sw, dh = s->dh, dw = s->dw;
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h0 = oh * sh - s->ph, hs = nk_pool_first(h0, dh);
        const int64_t he = nk_min_i64(h0 + (kh - 1) * dh + 1, H);
        T *yr = y + oh * OW;
        int64_t *ir = ind ? ind + oh * OW : NULL;
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t w0 = ow * sw - s->pw, ws = nk_pool_first(w0, dw);
            const int64_t we = nk_min_i64(w0 + (kw - 1) * dw + 1, W);
            F(max_one)(x, W, hs, he, dh, ws, we, dw, yr + ow, ir ? ir + ow : NULL);
        }
    }
}

nk_status F(nk_pool_max_fwd)(const nk_pool2d_shape *s, const T *x, T *y, int64_t *ind,
                             int nthreads) {
    nk_status st = nk_pool2d_check(s);
    if (st != NK_OK) return st;
    const int64_t P = s->planes, HW = s->H * s->W, OHW = s->OH * s->OW;
    if (P == 0 || OHW == 0) return NK_OK;
    if (!x || !y) return NK_ERR_ARG;
    /* the row kernels compute columns and in-plane index offsets in 32 bits */
    int avx2 = nk_isa_active() == NK_ISA_AVX2 && s->W < INT32_MAX / 4;
    if (ind && HW > (int64_t)INT32_MAX / 2) avx2 = 0;
    const int64_t work = OHW * s->kh * s->kw + HW;
    const int nt = nk_threads_for(nthreads, P * work, 1 << 15);
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < P; p++)
        F(max_plane)(s, x + p * HW, y + p * OHW, ind ? ind + p * OHW : NULL, avx2);
    return NK_OK;
}

static void F(avg_plane)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *x, T *y,
                         int avx2) {
    if (avx2 && F(nk_pool_avg_plane_avx2)(s, cip, dov, x, y)) return;
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t kh = s->kh, kw = s->kw, sh = s->sh, sw = s->sw, ph = s->ph, pw = s->pw;
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h0 = oh * sh - ph, hend = nk_min_i64(h0 + kh, H + ph);
        const int64_t hs = nk_max_i64(h0, 0), he = nk_min_i64(hend, H);
        T *yr = y + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t w0 = ow * sw - pw, wend = nk_min_i64(w0 + kw, W + pw);
            const int64_t ws = nk_max_i64(w0, 0), we = nk_min_i64(wend, W);
            T div = dov ? (T)dov
                        : (T)(cip ? (hend - h0) * (wend - w0) : (he - hs) * (we - ws));
            T sum = 0;
            for (int64_t h = hs; h < he; h++)
                for (int64_t w = ws; w < we; w++) sum += x[h * W + w];
            yr[ow] = sum / div;
        }
    }
}

nk_status F(nk_pool_avg_fwd)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *x, T *y,
                             int nthreads) {
    nk_status st = nk_pool2d_check(s);
    if (st != NK_OK) return st;
    if (s->dh != 1 || s->dw != 1) return NK_ERR_ARG;
    const int64_t P = s->planes, HW = s->H * s->W, OHW = s->OH * s->OW;
    if (P == 0 || OHW == 0) return NK_OK;
    if (!x || !y) return NK_ERR_ARG;
    const int avx2 = nk_isa_active() == NK_ISA_AVX2 && s->W < INT32_MAX / 4;
    const int64_t work = OHW * s->kh * s->kw + HW;
    const int nt = nk_threads_for(nthreads, P * work, 1 << 15);
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < P; p++)
        F(avg_plane)(s, cip, dov, x + p * HW, y + p * OHW, avx2);
    return NK_OK;
}

#undef T
#endif
