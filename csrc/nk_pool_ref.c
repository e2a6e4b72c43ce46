/* nk_pool_ref.c -- shape check and the naive reference implementations of
 * every pooling pass (the tests' oracle): PyTorch's CPU loops written out
 * literally, one output at a time.  Instantiated for float and double by
 * including this file into itself. */
#ifndef NK_POOL_REF_T

#include <math.h>
#include <string.h>
#include "nk_pool.h"

nk_status nk_pool2d_check_sizes(const nk_pool2d_shape *s, int adaptive) {
    if (!s || s->planes < 0 || s->H < 0 || s->W < 0 || s->OH < 0 || s->OW < 0)
        return NK_ERR_ARG;
    if (adaptive && ((s->OH > 0 && s->H == 0) || (s->OW > 0 && s->W == 0))) return NK_ERR_ARG;
    int64_t t;
    const int64_t in[3] = {s->planes, s->H, s->W}, out[3] = {s->planes, s->OH, s->OW};
    nk_status st = nk_size_product(in, 3, &t);
    if (st == NK_OK) st = nk_size_product(out, 3, &t);
    if (st == NK_OK && adaptive &&
        (nk_mul_i64(s->OH + 1, s->H, &t) || nk_mul_i64(s->OW + 1, s->W, &t)))
        st = NK_ERR_OVERFLOW;
    return st;
}

nk_status nk_pool2d_check(const nk_pool2d_shape *s) {
    nk_status st = nk_pool2d_check_sizes(s, 0);
    if (st != NK_OK) return st;
    if (s->kh < 1 || s->kw < 1 || s->sh < 1 || s->sw < 1 || s->dh < 1 || s->dw < 1)
        return NK_ERR_ARG;
    if (s->ph < 0 || s->pw < 0) return NK_ERR_ARG;
    int64_t t;
    if (nk_mul_i64(s->OH, s->sh, &t) || nk_mul_i64(s->OW, s->sw, &t) ||
        nk_mul_i64(s->kh, s->dh, &t) || nk_mul_i64(s->kw, s->dw, &t) ||
        s->ph > INT64_MAX / 4 || s->pw > INT64_MAX / 4 || s->H > INT64_MAX / 4 ||
        s->W > INT64_MAX / 4 || s->OH * s->sh > INT64_MAX / 4 || s->OW * s->sw > INT64_MAX / 4 ||
        s->kh * s->dh > INT64_MAX / 4 || s->kw * s->dw > INT64_MAX / 4)
        return NK_ERR_OVERFLOW;
    if (s->OH == 0 || s->OW == 0) return NK_OK;
    /* every window must hold at least one input element */
    for (int dim = 0; dim < 2; dim++) {
        int64_t n = dim ? s->OW : s->OH, st_ = dim ? s->sw : s->sh, p = dim ? s->pw : s->ph;
        int64_t k = dim ? s->kw : s->kh, d = dim ? s->dw : s->dh, L = dim ? s->W : s->H;
        for (int64_t o = 0; o < n; o++) {
            int64_t a = o * st_ - p, first = a;
            if (a < 0) first = a + ((-a + d - 1) / d) * d;
            if (first >= L || first > a + (k - 1) * d) return NK_ERR_ARG;
        }
    }
    return NK_OK;
}

#define NK_POOL_REF_T float
#define NK_POOL_REF_SFX(name) name##_f32
#include "nk_pool_ref.c"
#undef NK_POOL_REF_T
#undef NK_POOL_REF_SFX
#define NK_POOL_REF_T double
#define NK_POOL_REF_SFX(name) name##_f64
#include "nk_pool_ref.c"

#else /* template body */

#define T NK_POOL_REF_T
#define F(name) NK_POOL_REF_SFX(name)

nk_status F(nk_pool_max_fwd_ref)(const nk_pool2d_shape *s, const T *x, T *y, int64_t *ind) {
    nk_status st = nk_pool2d_check(s);
    if (st != NK_OK) return st;
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    for (int64_t p = 0; p < s->planes; p++) {
        const T *xp = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hstart = oh * s->sh - s->ph, wstart = ow * s->sw - s->pw;
                int64_t hend = nk_min_i64(hstart + (s->kh - 1) * s->dh + 1, H);
                int64_t wend = nk_min_i64(wstart + (s->kw - 1) * s->dw + 1, W);
                while (hstart < 0) hstart += s->dh;
                while (wstart < 0) wstart += s->dw;
                T maxval = -INFINITY;
                int64_t maxidx = hstart * W + wstart;
                for (int64_t h = hstart; h < hend; h += s->dh)
                    for (int64_t w = wstart; w < wend; w += s->dw) {
                        T v = xp[h * W + w];
                        if (v > maxval || isnan(v)) {
                            maxval = v;
                            maxidx = h * W + w;
                        }
                    }
                int64_t o = (p * OH + oh) * OW + ow;
                y[o] = maxval;
                if (ind) ind[o] = maxidx;
            }
    }
    return NK_OK;
}

nk_status F(nk_pool_max_bwd_ref)(const nk_pool2d_shape *s, const T *dy, const int64_t *ind,
                                 T *dx) {
    nk_status st = nk_pool2d_check_sizes(s, 0);
    if (st != NK_OK) return st;
    const int64_t HW = s->H * s->W, OHW = s->OH * s->OW;
    for (int64_t i = 0; i < s->planes * HW; i++) dx[i] = 0;
    for (int64_t p = 0; p < s->planes; p++)
        for (int64_t o = 0; o < OHW; o++) {
            int64_t k = ind[p * OHW + o];
            if (k < 0 || k >= HW) return NK_ERR_INDEX;
            dx[p * HW + k] += dy[p * OHW + o];
        }
    return NK_OK;
}

/* PyTorch's divisor for output (oh, ow); also returns the clipped window. */
static T F(avg_window)(const nk_pool2d_shape *s, int cip, int64_t dov, int64_t oh, int64_t ow,
                       int64_t *hs, int64_t *he, int64_t *ws, int64_t *we) {
    int64_t hstart = oh * s->sh - s->ph, wstart = ow * s->sw - s->pw;
    int64_t hend = nk_min_i64(hstart + s->kh, s->H + s->ph);
    int64_t wend = nk_min_i64(wstart + s->kw, s->W + s->pw);
    int64_t pool = (hend - hstart) * (wend - wstart);
    hstart = nk_max_i64(hstart, 0);
    wstart = nk_max_i64(wstart, 0);
    hend = nk_min_i64(hend, s->H);
    wend = nk_min_i64(wend, s->W);
    *hs = hstart, *he = hend, *ws = wstart, *we = wend;
    if (dov) return (T)dov;
    if (cip) return (T)pool;
    return (T)((hend - hstart) * (wend - wstart));
}

nk_status F(nk_pool_avg_fwd_ref)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *x,
                                 T *y) {
    nk_status st = nk_pool2d_check(s);
    if (st != NK_OK) return st;
    if (s->dh != 1 || s->dw != 1) return NK_ERR_ARG;
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    for (int64_t p = 0; p < s->planes; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hs, he, ws, we;
                T div = F(avg_window)(s, cip, dov, oh, ow, &hs, &he, &ws, &we);
                T sum = 0;
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++) sum += x[(p * H + h) * W + w];
                y[(p * OH + oh) * OW + ow] = sum / div;
            }
    return NK_OK;
}

nk_status F(nk_pool_avg_bwd_ref)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *dy,
                                 T *dx) {
    nk_status st = nk_pool2d_check(s);
    if (st != NK_OK) return st;
    if (s->dh != 1 || s->dw != 1) return NK_ERR_ARG;
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    for (int64_t i = 0; i < s->planes * H * W; i++) dx[i] = 0;
    for (int64_t p = 0; p < s->planes; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hs, he, ws, we;
                T div = F(avg_window)(s, cip, dov, oh, ow, &hs, &he, &ws, &we);
                T g = dy[(p * OH + oh) * OW + ow] / div;
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++) dx[(p * H + h) * W + w] += g;
            }
    return NK_OK;
}

nk_status F(nk_pool_adaptive_avg_fwd_ref)(const nk_pool2d_shape *s, const T *x, T *y) {
    nk_status st = nk_pool2d_check_sizes(s, 1);
    if (st != NK_OK) return st;
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    for (int64_t p = 0; p < s->planes; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hs = oh * H / OH, he = ((oh + 1) * H + OH - 1) / OH;
                int64_t ws = ow * W / OW, we = ((ow + 1) * W + OW - 1) / OW;
                T sum = 0;
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++) sum += x[(p * H + h) * W + w];
                y[(p * OH + oh) * OW + ow] = sum / (T)((he - hs) * (we - ws));
            }
    return NK_OK;
}

nk_status F(nk_pool_adaptive_avg_bwd_ref)(const nk_pool2d_shape *s, const T *dy, T *dx) {
    nk_status st = nk_pool2d_check_sizes(s, 1);
    if (st != NK_OK) return st;
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    for (int64_t i = 0; i < s->planes * H * W; i++) dx[i] = 0;
    for (int64_t p = 0; p < s->planes; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hs = oh * H / OH, he = ((oh + 1) * H + OH - 1) / OH;
                int64_t ws = ow * W / OW, we = ((ow + 1) * W + OW - 1) / OW;
                T g = dy[(p * OH + oh) * OW + ow] / (T)((he - hs) * (we - ws));
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++) dx[(p * H + h) * W + w] += g;
            }
    return NK_OK;
}

#undef T
#undef F
#endif
