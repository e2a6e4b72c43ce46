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
 * Avg is computed as a gather, so dx is written exactly once, without a
 * zero-fill pass and without read-modify-write scatters: the gradient rows
 * G = dy / divisor are formed once per plane; for each dx row h the rows of
 * G whose windows cover h are summed into S (zero-padded), and then
 * dx[h][iw] = sum over the window columns j with (iw + pw - j) divisible by
 * sw of S[(iw + pw - j) / sw].  Same order on both ISA paths, so the
 * portable and AVX2 results are identical.
 * Instantiated for float and double by including this file into itself. */
#ifndef NK_POOL_BWD_T

#include <string.h>
#include "nk_pool.h"
#include "nk_runtime.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* dx planes are built in a per-thread buffer and streamed out with
 * non-temporal stores when the whole dx is large (it would not stay in
 * cache anyway) and a plane fits comfortably in L2. */
#ifndef NK_POOL_STREAM_MIN_BYTES /* build-time override for tuning runs */
#define NK_POOL_STREAM_MIN_BYTES ((int64_t)8 << 20)
#endif
#define NK_POOL_STREAM_MAX_PLANE ((int64_t)256 << 10)
static int nk_pool_stream(int avx2, int64_t P, int64_t HW, size_t elem) {
    return avx2 && P * HW * (int64_t)elem >= NK_POOL_STREAM_MIN_BYTES &&
           HW * (int64_t)elem <= NK_POOL_STREAM_MAX_PLANE;
}

/* Floor division for a possibly negative numerator, b > 0. */
static inline int64_t nk_floordiv(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
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

/* dx = (T)0 + dy at the index, 0 elsewhere, for one row of th x tw blocks;
 * returns how many of the outputs' indices fell into this row. */
static int64_t F(max_tiled_row)(const T *g, const int64_t *ir, int64_t hW, int64_t OW,
                                int64_t tw, T *d) {
    int64_t hits = 0;
    for (int64_t ow = 0; ow < OW; ow++) {
        const uint64_t k = (uint64_t)(ir[ow] - hW - tw * ow);
        const T v = (T)0 + g[ow];
        hits += k < (uint64_t)tw;
        for (int64_t j = 0; j < tw; j++) d[tw * ow + j] = k == (uint64_t)j ? v : (T)0;
    }
    return hits;
}

/* buf: NULL, or a cache-resident plane buffer through which the scatter
 * case is streamed out (the one-pass tiled case writes dx directly). */
static int F(max_bwd_plane)(int64_t H, int64_t W, int64_t OH, int64_t OW, const T *dy,
                            const int64_t *ind, T *dx, int avx2, T *buf) {
    const int64_t HW = H * W, OHW = OH * OW;
    const int64_t th = OH ? H / OH : 0, tw = OW ? W / OW : 0;
    if (avx2 && th == 2 && tw == 2 && OW >= 32 / (int64_t)sizeof(T)) {
        /* the common 2x2 tiling, one pass over dx */
        if (F(nk_pool_max_bwd_2x2_plane_avx2)(dy, ind, W, OH, OW, dx)) {
            for (int64_t i = OH * th * W; i < HW; i++) dx[i] = 0;
            return 0;
        }
    } else if (th >= 1 && tw >= 1) {
        /* one pass; valid iff every index fell into its own block */
        int64_t hits = 0;
        for (int64_t oh = 0; oh < OH; oh++) {
            const T *g = dy + oh * OW;
            const int64_t *ir = ind + oh * OW;
            for (int64_t i = 0; i < th; i++) {
                const int64_t h = oh * th + i;
                hits += F(max_tiled_row)(g, ir, h * W, OW, tw, dx + h * W);
            }
            for (int64_t i = 0; i < th; i++)
                for (int64_t w = OW * tw; w < W; w++) dx[(oh * th + i) * W + w] = 0;
            if (hits != (oh + 1) * OW) break; /* not tiled: scatter instead */
        }
        if (hits == OHW) {
            for (int64_t i = OH * th * W; i < HW; i++) dx[i] = 0;
            return 0;
        }
    }
    /* Scatter, each index checked before it is written through.  Even
     * then odd outputs of a row: neighbouring windows often share their
     * maximum, and alternating between them would chain every addition
     * through a store-to-load forward. */
    T *const out = dx;
    if (buf) dx = buf;
    memset(dx, 0, (size_t)HW * sizeof(T));
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t *ir = ind + oh * OW;
        const T *g = dy + oh * OW;
        for (int64_t par = 0; par < 2; par++)
            for (int64_t ow = par; ow < OW; ow += 2) {
                const int64_t k = ir[ow];
                if (NK_UNLIKELY((uint64_t)k >= (uint64_t)HW)) return 1;
                dx[k] += g[ow];
            }
    }
    if (buf) F(nk_pool_stream_copy)(out, buf, HW);
    return 0;
}

nk_status F(nk_pool_max_bwd)(const nk_pool2d_shape *s, const T *dy, const int64_t *ind, T *dx,
                             int nthreads) {
    nk_status st = nk_pool2d_check_sizes(s, 0);
    if (st != NK_OK) return st;
    const int64_t P = s->planes, H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t HW = H * W, OHW = OH * OW;
    if (P == 0 || HW == 0) return OHW && P && !HW ? NK_ERR_INDEX : NK_OK;
    if (!dx || (OHW && (!dy || !ind))) return NK_ERR_ARG;
    const int avx2 = nk_isa_active() == NK_ISA_AVX2;
    const int nt = nk_threads_for(nthreads, P * (HW + 2 * OHW), 1 << 15);
    const int stream = nk_pool_stream(avx2, P, HW, sizeof(T));
    const int64_t ld = (HW + 15) & ~(int64_t)15; /* keeps each buffer 64-byte aligned */
    T *ws = NULL;
    if (stream && !(ws = (T *)nk_aligned_alloc((size_t)(ld * nt) * sizeof(T)))) return NK_ERR_NOMEM;
    int bad = 0;
#pragma omp parallel num_threads(nt) reduction(| : bad)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        T *buf = stream ? ws + (size_t)tid * (size_t)ld : NULL;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < P; p++)
            bad |= F(max_bwd_plane)(H, W, OH, OW, dy + p * OHW, ind + p * OHW, dx + p * HW, avx2,
                                    buf);
        if (stream) nk_pool_store_fence();
    }
    nk_aligned_free(ws);
    return bad ? NK_ERR_INDEX : NK_OK;
}

/* Per-thread workspace of the average backward, in elements of T. */
static int64_t F(avg_ws_layout)(const nk_pool2d_shape *s, int64_t *pad) {
    *pad = s->kw + 16;
    return (s->OH * s->OW + (s->OW + s->W + s->pw + 2 * *pad) + s->OW + 16 + 15) & ~(int64_t)15;
}

/* One dx column from the summed row S (zero-padded): the j = r, r+sw, ...
 * window columns of residue r = (iw + pw) mod sw, j increasing. */
static inline T F(avg_col)(const T *S, int64_t iw, int64_t kw, int64_t sw, int64_t pw) {
    const int64_t t = iw + pw;
    const int64_t r = sw == 2 ? (t & 1) : (sw == 1 ? 0 : t % sw);
    const int64_t q = sw == 2 ? (t >> 1) : (sw == 1 ? t : t / sw);
    T acc = 0;
    for (int64_t j = r, qq = q; j < kw; j += sw, qq--) acc += S[qq];
    return acc;
}

/* Body of the plane; inlined into a portable and an AVX2-target wrapper so
 * that the compiler vectorizes the row sums for each. */
static inline __attribute__((always_inline)) void F(avg_bwd_plane_impl)(
    const nk_pool2d_shape *s, int cip, int64_t dov, const T *dy, T *dx, T *ws, int avx2) {
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW;
    const int64_t kh = s->kh, kw = s->kw, sh = s->sh, sw = s->sw, ph = s->ph, pw = s->pw;
    int64_t pad;
    const int64_t total = F(avg_ws_layout)(s, &pad);
    T *G = ws, *Sbase = ws + OH * OW, *S = Sbase + pad, *cf = Sbase + (OW + W + pw + 2 * pad);
    (void)total;
    /* divisor = rowpart * cf[ow], exact in T while kh*kw < 2^24 */
    const int exact = kh * kw < (1 << 24);
    for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t w0 = ow * sw - pw, wend = nk_min_i64(w0 + kw, W + pw);
        const int64_t wsv = nk_max_i64(w0, 0), we = nk_min_i64(wend, W);
        cf[ow] = dov ? (T)1 : (T)(cip ? wend - w0 : we - wsv);
    }
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h0 = oh * sh - ph, hend = nk_min_i64(h0 + kh, H + ph);
        const int64_t hs = nk_max_i64(h0, 0), he = nk_min_i64(hend, H);
        const int64_t rp = dov ? dov : (cip ? hend - h0 : he - hs);
        const T *gy = dy + oh * OW;
        T *g = G + oh * OW;
        if (dov || !exact) {
            for (int64_t ow = 0; ow < OW; ow++) {
                const T div = dov ? (T)dov : (T)(rp * (int64_t)cf[ow]);
                g[ow] = (T)0 + gy[ow] / div;
            }
        } else if (avx2) {
            F(nk_pool_avg_grad_row_avx2)(gy, cf, (T)rp, OW, g);
        } else {
            const T rf = (T)rp;
            for (int64_t ow = 0; ow < OW; ow++) g[ow] = (T)0 + gy[ow] / (rf * cf[ow]);
        }
    }
    for (int64_t i = -pad; i < OW + W + pw + pad; i++) S[i] = 0;
    /* output rows whose window covers h: oh*sh - ph <= h < oh*sh - ph + kh,
     * i.e. floor((h+ph-kh)/sh) < oh <= floor((h+ph)/sh), kept incrementally */
    int64_t qa = nk_floordiv(ph - kh, sh), ra = (ph - kh) - qa * sh;
    int64_t qb = ph / sh, rb = ph - qb * sh;
    for (int64_t h = 0; h < H; h++, ra++, rb++) {
        if (ra == sh) ra = 0, qa++;
        if (rb == sh) rb = 0, qb++;
        T *d = dx + h * W;
        const int64_t lo = nk_max_i64(qa + 1, 0), hi = nk_min_i64(qb, OH - 1);
        if (lo > hi) {
            memset(d, 0, (size_t)W * sizeof(T));
            continue;
        }
        if (avx2 && lo == hi && kw == sw && pw == 0 && OW * kw >= 2 * 8) {
            /* windows tile the row: dx = G row expanded, no padding read;
             * the next rows of the same block row are copies of the first */
            if (kh == sh && ph == 0 && h > lo * kh) {
                const T *prev = d - W;
                for (int64_t iw = 0; iw < W; iw++) d[iw] = prev[iw];
                continue;
            }
            const int64_t Wc = nk_min_i64(W, OW * kw);
            int64_t a = 0, b = 0;
            F(nk_pool_avg_hrow_avx2)(G + lo * OW, Wc, kw, sw, 0, d, &a, &b);
            for (int64_t iw = 0; iw < W; iw++) {
                if (iw == a) iw = b;
                if (iw >= W) break;
                d[iw] = iw < Wc ? (T)0 + G[lo * OW + iw / kw] : (T)0;
            }
            continue;
        }
        for (int64_t ow = 0; ow < OW; ow++) S[ow] = G[lo * OW + ow];
        for (int64_t oh = lo + 1; oh <= hi; oh++)
            for (int64_t ow = 0; ow < OW; ow++) S[ow] += G[oh * OW + ow];
        if (avx2) {
            int64_t a = 0, b = 0;
            F(nk_pool_avg_hrow_avx2)(S, W, kw, sw, pw, d, &a, &b);
            for (int64_t iw = 0; iw < W; iw++) {
                if (iw == a) iw = b;
                if (iw >= W) break;
                d[iw] = F(avg_col)(S, iw, kw, sw, pw);
            }
        } else {
            /* same per-element order (j increasing from 0), by residue class
             * r = (iw + pw) mod sw, without divisions in the inner loops */
            for (int64_t iw = 0; iw < W; iw++) d[iw] = 0;
            for (int64_t r = 0; r < sw && r < kw; r++) {
                const int64_t q0 = nk_ceil_div(nk_max_i64(pw - r, 0), sw);
                const int64_t q1 = W - 1 + pw - r >= 0 ? (W - 1 + pw - r) / sw : -1;
                for (int64_t j = r; j < kw; j += sw) {
                    const T *Sj = S - (j - r) / sw;
                    T *dq = d + r - pw;
                    for (int64_t q = q0; q <= q1; q++) dq[q * sw] += Sj[q];
                }
            }
        }
    }
}

static void F(avg_bwd_plane)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *dy, T *dx,
                             T *ws) {
    F(avg_bwd_plane_impl)(s, cip, dov, dy, dx, ws, 0);
}

#if NK_X86_DISPATCH
NK_TARGET_AVX2 static void F(avg_bwd_plane_avx2)(const nk_pool2d_shape *s, int cip, int64_t dov,
                                                 const T *dy, T *dx, T *ws) {
    F(avg_bwd_plane_impl)(s, cip, dov, dy, dx, ws, 1);
}
#endif

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
    const int avx2 = nk_isa_active() == NK_ISA_AVX2;
    const int nt = nk_threads_for(nthreads, P * (HW + OHW * s->kh * s->kw), 1 << 15);
    const int stream = nk_pool_stream(avx2, P, HW, sizeof(T));
    int64_t pad, per;
    size_t bytes;
    const int64_t base = F(avg_ws_layout)(s, &pad);
    const int64_t elems = base + (stream ? (HW + 15) & ~(int64_t)15 : 0);
    if (nk_mul_i64(elems, nt, &per) || nk_bytes(per, sizeof(T), &bytes) != NK_OK)
        return NK_ERR_OVERFLOW;
    T *ws = (T *)nk_aligned_alloc(bytes);
    if (!ws) return NK_ERR_NOMEM;
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        T *mine = ws + (size_t)tid * (size_t)elems, *buf = mine + base;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < P; p++) {
#if NK_X86_DISPATCH
            if (avx2) {
                F(avg_bwd_plane_avx2)(s, cip, dov, dy + p * OHW, stream ? buf : dx + p * HW,
                                      mine);
                if (stream) F(nk_pool_stream_copy)(dx + p * HW, buf, HW);
                continue;
            }
#endif
            F(avg_bwd_plane)(s, cip, dov, dy + p * OHW, dx + p * HW, mine);
        }
        if (stream) nk_pool_store_fence();
    }
    nk_aligned_free(ws);
    return NK_OK;
}

#undef T
#endif
