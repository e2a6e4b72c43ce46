/* nk_pool_bwd.c -- max and average pooling backward drivers.
 *
 * Planes are split statically over threads and each plane of dx is written
 * by one thread only, so the scatters need no atomics and the result does
 * not depend on the thread count.
 *
 * Max: when the index of every output lies in its own cell of the disjoint
 * grid of (H/OH) x (W/OW) blocks (always true for kernel == stride without
 * padding, the common 2x2/s2 case) dx is written in one pass, block by
 * block, with no zero-fill and no scatter; otherwise dx is zeroed and the
 * gradients are scattered, every index checked against [0, H*W) first.
 * Avg: kernel == stride without padding also writes dx in one pass; the
 * other cases zero the plane and add g = dy / divisor over each window.
 * Instantiated for float and double by including this file into itself. */
#ifndef NK_POOL_BWD_T

#include <string.h>
#include "nk_pool.h"
#include "nk_runtime.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static void nk_pool_interior_b(int64_t W, int64_t OW, int64_t kw, int64_t sw, int64_t pw,
                               int64_t *owa, int64_t *owb) {
    int64_t a = nk_ceil_div(pw, sw);
    int64_t num = W - 1 + pw - (kw - 1);
    int64_t b = num >= 0 ? num / sw + 1 : 0;
    b = nk_min_i64(b, OW);
    if (a > b) a = b;
    *owa = a;
    *owb = b;
}

#define NK_POOL_BWD_T float
#define F(name) name##_f32
#include "nk_pool_bwd.c"
#undef NK_POOL_BWD_T
#undef F
#define NK_POOL_BWD_T double
#define F(name) name##_f64
#include "nk_pool_bwd.c"

#else /* template body */

#define T NK_POOL_BWD_T

/* 1 when every index lies in its own th x tw block. */
static int F(max_tiled_ok)(int64_t W, int64_t OH, int64_t OW, int64_t th, int64_t tw,
                           const int64_t *ind) {
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t k = ind[oh * OW + ow];
            int ok = 0;
            for (int64_t i = 0; i < th; i++) {
                const uint64_t loc = (uint64_t)(k - ((oh * th + i) * W + ow * tw));
                ok |= loc < (uint64_t)tw;
            }
            if (!ok) return 0;
        }
    return 1;
}

static int F(max_bwd_plane)(int64_t H, int64_t W, int64_t OH, int64_t OW, const T *dy,
                            const int64_t *ind, T *dx) {
    const int64_t HW = H * W;
    const int64_t th = OH ? H / OH : 0, tw = OW ? W / OW : 0;
    if (th >= 1 && tw >= 1 && F(max_tiled_ok)(W, OH, OW, th, tw, ind)) {
        for (int64_t oh = 0; oh < OH; oh++) {
            const T *g = dy + oh * OW;
            const int64_t *ir = ind + oh * OW;
            for (int64_t i = 0; i < th; i++) {
                const int64_t h = oh * th + i;
                T *d = dx + h * W;
                if (tw == 2) {
                    for (int64_t ow = 0; ow < OW; ow++) {
                        const int64_t k = ir[ow] - h * W - 2 * ow;
                        const T v = (T)0 + g[ow];
                        d[2 * ow] = k == 0 ? v : (T)0;
                        d[2 * ow + 1] = k == 1 ? v : (T)0;
                    }
                } else {
                    for (int64_t ow = 0; ow < OW; ow++) {
                        const int64_t k = ir[ow] - h * W - tw * ow;
                        const T v = (T)0 + g[ow];
                        for (int64_t j = 0; j < tw; j++) d[tw * ow + j] = k == j ? v : (T)0;
                    }
                }
                for (int64_t w = OW * tw; w < W; w++) d[w] = 0;
            }
        }
        for (int64_t i = OH * th * W; i < HW; i++) dx[i] = 0;
        return 0;
    }
    memset(dx, 0, (size_t)HW * sizeof(T));
    const int64_t OHW = OH * OW;
    for (int64_t o = 0; o < OHW; o++)
        if ((uint64_t)ind[o] >= (uint64_t)HW) return 1;
    for (int64_t o = 0; o < OHW; o++) dx[ind[o]] += dy[o];
    return 0;
}

nk_status F(nk_pool_max_bwd)(const nk_pool2d_shape *s, const T *dy, const int64_t *ind, T *dx,
                             int nthreads) {
    if (!s || s->planes < 0 || s->H < 0 || s->W < 0 || s->OH < 0 || s->OW < 0)
        return NK_ERR_ARG;
    int64_t t;
    const int64_t in[3] = {s->planes, s->H, s->W}, out[3] = {s->planes, s->OH, s->OW};
    nk_status st = nk_size_product(in, 3, &t);
    if (st == NK_OK) st = nk_size_product(out, 3, &t);
    if (st != NK_OK) return st;
    const int64_t P = s->planes, H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t HW = H * W, OHW = OH * OW;
    if (P == 0 || HW == 0) return OHW && P && !HW ? NK_ERR_INDEX : NK_OK;
    if (!dx || (OHW && (!dy || !ind))) return NK_ERR_ARG;
    const int nt = nk_threads_for(nthreads, P * (HW + 2 * OHW), 1 << 15);
    int bad = 0;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
    for (int64_t p = 0; p < P; p++)
        bad |= F(max_bwd_plane)(H, W, OH, OW, dy + p * OHW, ind + p * OHW, dx + p * HW);
    return bad ? NK_ERR_INDEX : NK_OK;
}

static void F(avg_bwd_plane)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *dy, T *dx,
                             T *g) {
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t kh = s->kh, kw = s->kw, sh = s->sh, sw = s->sw, ph = s->ph, pw = s->pw;
    const int tiled = kh == sh && kw == sw && ph == 0 && pw == 0;
    int64_t owa, owb;
    nk_pool_interior_b(W, OW, kw, sw, pw, &owa, &owb);
    if (!tiled) memset(dx, 0, (size_t)(H * W) * sizeof(T));
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h0 = oh * sh - ph, hend = nk_min_i64(h0 + kh, H + ph);
        const int64_t hs = nk_max_i64(h0, 0), he = nk_min_i64(hend, H);
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t w0 = ow * sw - pw, wend = nk_min_i64(w0 + kw, W + pw);
            const int64_t ws = nk_max_i64(w0, 0), we = nk_min_i64(wend, W);
            T div = dov ? (T)dov
                        : (T)(cip ? (hend - h0) * (wend - w0) : (he - hs) * (we - ws));
            g[ow] = (T)0 + dy[oh * OW + ow] / div;
        }
        for (int64_t h = hs; h < he; h++) {
            T *d = dx + h * W;
            if (tiled) {
                int64_t w = 0;
                if (kw == 2) {
                    for (int64_t ow = 0; ow < OW && 2 * ow + 1 < W; ow++, w += 2)
                        d[2 * ow] = d[2 * ow + 1] = g[ow];
                }
                for (; w < W; w++) {
                    const int64_t ow = w / kw;
                    d[w] = ow < OW ? g[ow] : (T)0;
                }
            } else {
                for (int64_t ow = 0; ow < owa; ow++) {
                    const int64_t w0 = ow * sw - pw;
                    const int64_t ws = nk_max_i64(w0, 0), we = nk_min_i64(w0 + kw, W);
                    for (int64_t w = ws; w < we; w++) d[w] += g[ow];
                }
                if (sw == 1) {
                    for (int64_t j = 0; j < kw; j++) {
                        T *dj = d + j - pw;
                        for (int64_t ow = owa; ow < owb; ow++) dj[ow] += g[ow];
                    }
                } else {
                    for (int64_t ow = owa; ow < owb; ow++) {
                        T *dj = d + ow * sw - pw;
                        for (int64_t j = 0; j < kw; j++) dj[j] += g[ow];
                    }
                }
                for (int64_t ow = owb; ow < OW; ow++) {
                    const int64_t w0 = ow * sw - pw;
                    const int64_t ws = nk_max_i64(w0, 0), we = nk_min_i64(w0 + kw, W);
                    for (int64_t w = ws; w < we; w++) d[w] += g[ow];
                }
            }
        }
    }
    if (tiled) {
        const int64_t covered = nk_min_i64(OH * kh, H);
        for (int64_t i = covered * W; i < H * W; i++) dx[i] = 0;
    }
}

nk_status F(nk_pool_avg_bwd)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *dy, T *dx,
                             int nthreads) {
    nk_status st = nk_pool2d_check(s);
    if (st != NK_OK) return st;
    if (s->dh != 1 || s->dw != 1) return NK_ERR_ARG;
    const int64_t P = s->planes, HW = s->H * s->W, OHW = s->OH * s->OW;
    if (P == 0 || HW == 0) return NK_OK;
    if (!dx || (OHW && !dy)) return NK_ERR_ARG;
    if (OHW == 0) {
        memset(dx, 0, (size_t)(P * HW) * sizeof(T));
        return NK_OK;
    }
    const int nt = nk_threads_for(nthreads, P * (HW + OHW * s->kh * s->kw), 1 << 15);
    size_t row_bytes;
    if (nk_bytes(s->OW + 16, sizeof(T), &row_bytes) != NK_OK) return NK_ERR_OVERFLOW;
    T *ws = (T *)nk_aligned_alloc(row_bytes * (size_t)nt);
    if (!ws) return NK_ERR_NOMEM;
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        T *g = ws + (size_t)tid * (row_bytes / sizeof(T));
#pragma omp for schedule(static)
        for (int64_t p = 0; p < P; p++)
            F(avg_bwd_plane)(s, cip, dov, dy + p * OHW, dx + p * HW, g);
    }
    nk_aligned_free(ws);
    return NK_OK;
}

#undef T
#endif
