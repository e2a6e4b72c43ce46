/* nk_conv_depthwise.c -- conv2d forward, backward-data and weight gradient
 * for depthwise layers: groups == C_in >= 2, one input channel per group
 * (C_out = groups * m, any multiplier m), any kernel, stride, padding and
 * dilation; float32 and float64; which passes take it: nk_dw_geometry.
 *
 * A depthwise layer does kH*kW multiply-adds per output over a single
 * plane, so the im2col GEMMs it used to take were GEMMs of one row (or m
 * rows) per group: 0.12-0.3x PyTorch on a stride-2 layer, 0.13x on the
 * weight gradient of 14x14 planes, 10-30x slower than PyTorch at the
 * generic level.  Here a task copies one input plane, zero-padded, into
 * sh x sw phases (phase (rp, cp) holds rows r*sh + rp and columns c*sw +
 * cp; Hq x Wq values, Hq = OH + (kH-1)*dh/sh + 1, Wq = OW + (kW-1)*dw/sw),
 * so that tap t of output (oh, ow) is value oh*Wq + ow past the tap's
 * offset (nk_dw_tap), whatever the stride and dilation.  Each tap is then
 * one long loop over the grid of OH x Wq outputs (the columns ow >= OW
 * computed and dropped):
 *
 *   forward       task (n, g): fill the phases; for each of the group's m
 *                 output planes: grid = bias, += w[t] * x per tap in order,
 *                 rows out to y.
 *   backward-data task (n, g): dq = 0; dq += w[t] * dy per tap in order over
 *                 the group's m planes; dx <- dq (no atomics: the task owns
 *                 its dx plane).
 *   weight grad.  task o (an output channel): per image in order, fill the
 *                 phases and add dy * x into 64 lanes per tap (lane = grid
 *                 index % 64); then dw[o, t] = the lanes summed pairwise.
 *
 * Channel lanes (nk_dwl_geometry: which passes at which level, measured):
 * a task holds 16 channels side by side, pixel-major -- their planes
 * transposed in (zero-padded) and out (in-register 16x16 / 8x8 transposes
 * at AVX-512 / AVX2) -- so that every output and tap is one vector
 * multiply-add over the 16 channels, with no per-plane copies (3/4 of
 * 8x512x14x14's weight gradient by planes: 1.69 -> 0.59 ms, PyTorch 0.9)
 * and no grid.  The forward and the stride-1 backward-data add in the
 * planes' order (the same bits); the weight gradient sums each lane over
 * images and outputs in order.
 *
 * The grid's dropped columns hold dy = 0 in the backward passes, which adds
 * w * 0 and 0 * x: zeros, unless w (backward-data) or x (weight gradient)
 * is not finite; then the pass goes row by row over the real outputs only
 * (same values, same order for dx), as PyTorch, which never forms those
 * products.  Each element is one fixed sum whatever the thread count, and
 * the loops (nk_conv_depthwise_impl.h, compiled for the generic, AVX2 and
 * AVX-512 levels) give the same bits at every level.  Memory: per thread
 * the phases + the grid (sh*sw*Hq*Wq + OH*Wq values; the weight gradient
 * adds 64*kH*kW); shapes whose phases exceed NK_DW_MAX_PLANE values take
 * the other paths.  The lanes: per thread 16 values per pixel of two
 * buffers of <= NK_DWL_MAX_PIX pixels together (nk_dwl_geometry), plus 16
 * * (kH*kW + 1) for the taps. */
#ifndef NK_DW_T
#include <string.h>
#include "nk_conv.h"
#include "nk_runtime.h"
#if NK_X86_DISPATCH
#include "nk_tr16_avx512.h"
#include "nk_tr8_avx2.h"
#endif

#define NK_DW_MAX_PLANE ((int64_t)1 << 24)
/* channel lanes: NK_DWL channels side by side; taken when a thread's two
 * buffers (pixels, nk_dwl_geometry) fit in NK_DWL_MAX_PIX */
#define NK_DWL 16
#define NK_DWL_MAX_PIX ((int64_t)1 << 16)

typedef struct nk_dw_geo {
    int64_t H, W, OH, OW, sh, sw, ph, pw, dh, dw, kH, kW;
    int64_t Hq, Wq; /* rows and columns of a phase plane (and of the grid) */
} nk_dw_geo;

/* offset of tap t's first value in the phases: input row oh*sh + kh*dh -
 * pad_h is phase row oh + kh*dh/sh of row phase kh*dh % sh (columns
 * likewise), so tap t reads output (oh, ow) at grid index oh*Wq + ow past
 * it */
static inline int64_t nk_dw_tap(const nk_dw_geo *g, int64_t t) {
    const int64_t ro = t / g->kW * g->dh, co = t % g->kW * g->dw;
    return ((ro % g->sh) * g->sw + co % g->sw) * g->Hq * g->Wq + ro / g->sh * g->Wq + co / g->sw;
}

/* Which passes take this path (pass: 0 forward, 1 backward-data, 2 weight
 * gradient).  Measured at 1 thread, ms, this path / the others:
 *   - forward and backward-data at stride 1 on AVX-512: the shifted-rows
 *     and direct kernels are faster (8x128x56x56 fwd 3.2 / 1.75, 8x512x14x14
 *     1.22 / 0.75), so they keep those; at AVX2 this path wins on 56x56
 *     (3.75 / 5.2) and 14x14 (1.42 / 1.67), loses 5% on 8x32x112x112;
 *   - the weight gradient on planes above 64x64 (112x112: 3.6 / 3.0);
 *   - strides (8x256x28x28/s2: fwd 0.93 / 4.2, dx 1.36 / 9.1, dw 1.37 /
 *     3.3) and the generic level (8-30x) always. */
static int nk_dw_geometry(const nk_conv2d_shape *s, int pass, nk_dw_geo *g) {
    if (s->groups < 2 || s->C_in != s->groups || s->OH < 1 || s->OW < 1) return 0;
    const int strided = s->stride_h > 1 || s->stride_w > 1;
    const nk_isa level = nk_isa_level();
    if (!strided && level != NK_ISA_GENERIC) {
        if (pass < 2 && level == NK_ISA_AVX512) return 0;
        if (pass == 2 && s->OH * s->OW > 64 * 64) return 0;
    }
    if (s->pad_h < 0 || s->pad_w < 0) return 0;
    *g = (nk_dw_geo){s->H, s->W, s->OH, s->OW, s->stride_h, s->stride_w, s->pad_h, s->pad_w,
                     s->dil_h, s->dil_w, s->kH, s->kW, 0, 0};
    /* + 1 row: the grid's last row reads up to Wq - 1 values past its end */
    g->Hq = s->OH + (s->kH - 1) * s->dil_h / s->stride_h + 1;
    g->Wq = s->OW + (s->kW - 1) * s->dil_w / s->stride_w;
    int64_t e;
    if (nk_mul_i64(s->stride_h, s->stride_w, &e) || nk_mul_i64(e, g->Hq, &e) ||
        nk_mul_i64(e, g->Wq, &e) || e > NK_DW_MAX_PLANE)
        return 0;
    return 1;
}

/* Channel lanes, and their buffers (pixels, NK_DWL values each):
 *   forward, weight gradient: the padded input the outputs read (Hb x Wb
 *     = (OH-1)*sh + (kH-1)*dh + 1 rows, likewise columns; row r is input
 *     row r - pad_h) and the outputs / dy (OH x OW);
 *   backward-data, stride 1 only: dy padded by the taps' reach (Hb x Wb,
 *     dy row oh at row oh + A, A = max(0, (kH-1)*dh - pad_h), Hb = A +
 *     max(OH, H + pad_h); columns likewise) and dx (H x W).
 * Taken when both fit in NK_DWL_MAX_PIX pixels, for the passes the level
 * takes them for (nk_dwl_passes). */
static int nk_dwl_on = 1;

void nk_conv_depthwise_lanes_enable(int on) { __atomic_store_n(&nk_dwl_on, !!on, __ATOMIC_RELAXED); }

/* Measured, 1 thread, ms, lanes / planes (or the direct kernels):
 *   - generic level: the transposes are scalar, so only outputs of <= 512
 *     pixels (weight gradient 8x512x14x14 1.16 / 2.26, 8x256x20x20 1.20 /
 *     1.59, 8x256x28x28 3.66 / 2.49; forward 14x14 1.13 / 2.22, 56x56 8.4 /
 *     5.5);
 *   - AVX-512: the weight gradient, and strided forwards (8x128x56x56/s2
 *     1.21 / 1.53, 8x256x28x28/s2 0.66 / 0.95); stride-1 forwards and
 *     backward-data keep the direct kernel (56x56 fwd 2.5 / 2.0, dx 2.4 /
 *     1.9; at 2 threads 1.27 / 1.03);
 *   - AVX2: every pass (14x14 fwd 0.80 / 1.63, dx 0.81 / 1.70, dw 0.74 /
 *     1.90; 56x56 fwd 2.81 / 4.35, dx 2.65 / 3.78, dw 2.52 / 3.41;
 *     112x112 fwd 3.6 / 5.7; 56x56/s2 fwd 1.20 / 1.74). */
static int nk_dwl_passes(const nk_conv2d_shape *s, int pass) {
    switch (nk_isa_level()) {
    case NK_ISA_GENERIC:
        return s->OH <= 512 && s->OW <= 512 && s->OH * s->OW <= 512;
    case NK_ISA_AVX512:
        return pass == 2 || (pass == 0 && (s->stride_h > 1 || s->stride_w > 1));
    default:
        return 1;
    }
}

/* a + b * c (each operand >= 0) into *r; 1 when a term exceeds NK_DWL_MAX_PIX */
static int nk_dwl_span(int64_t a, int64_t b, int64_t c, int64_t *r) {
    int64_t p;
    if (a > NK_DWL_MAX_PIX || nk_mul_i64(b, c, &p) || p > NK_DWL_MAX_PIX) return 1;
    *r = a + p;
    return 0;
}

static int nk_dwl_geometry(const nk_conv2d_shape *s, int pass, nk_dw_geo *g, int64_t *Hb,
                           int64_t *Wb) {
    if (!__atomic_load_n(&nk_dwl_on, __ATOMIC_RELAXED)) return 0;
    if (s->groups < 2 || s->C_in != s->groups || s->OH < 1 || s->OW < 1 || s->pad_h < 0 ||
        s->pad_w < 0 || !nk_dwl_passes(s, pass))
        return 0;
    int64_t e, pix;
    if (pass == 1) {
        int64_t rh, rw;
        if (s->stride_h != 1 || s->stride_w != 1 || s->H > NK_DWL_MAX_PIX ||
            s->W > NK_DWL_MAX_PIX || s->OH > NK_DWL_MAX_PIX || s->OW > NK_DWL_MAX_PIX ||
            nk_dwl_span(0, s->kH - 1, s->dil_h, &rh) || nk_dwl_span(0, s->kW - 1, s->dil_w, &rw) ||
            s->pad_h > NK_DWL_MAX_PIX || s->pad_w > NK_DWL_MAX_PIX)
            return 0;
        *Hb = nk_max_i64(0, rh - s->pad_h) + nk_max_i64(s->OH, s->H + s->pad_h);
        *Wb = nk_max_i64(0, rw - s->pad_w) + nk_max_i64(s->OW, s->W + s->pad_w);
        pix = s->H * s->W;
    } else {
        if (nk_dwl_span(0, s->OH - 1, s->stride_h, Hb) ||
            nk_dwl_span(*Hb + 1, s->kH - 1, s->dil_h, Hb) ||
            nk_dwl_span(0, s->OW - 1, s->stride_w, Wb) ||
            nk_dwl_span(*Wb + 1, s->kW - 1, s->dil_w, Wb))
            return 0;
        pix = s->OH * s->OW; /* OH, OW <= NK_DWL_MAX_PIX + 1 here */
    }
    if (nk_mul_i64(*Hb, *Wb, &e) || e > NK_DWL_MAX_PIX || pix > NK_DWL_MAX_PIX - e) return 0;
    *g = (nk_dw_geo){s->H, s->W, s->OH, s->OW, s->stride_h, s->stride_w, s->pad_h, s->pad_w,
                     s->dil_h, s->dil_w, s->kH, s->kW, 0, 0};
    return 1;
}

int nk_conv_depthwise_lanes_ok(const nk_conv2d_shape *s, int pass) {
    nk_dw_geo g;
    int64_t Hb, Wb;
    return nk_dwl_geometry(s, pass, &g, &Hb, &Wb);
}

int nk_conv_depthwise_ok(const nk_conv2d_shape *s, int pass) {
    nk_dw_geo g;
    return nk_conv_depthwise_lanes_ok(s, pass) || nk_dw_geometry(s, pass, &g);
}

/* the loops, per dtype and level */
#define T float
#define DW_ATTR
#define DW_VB 16
#define DW_FN(name) name##_f32_generic
#include "nk_conv_depthwise_impl.h"
#undef DW_ATTR
#undef DW_FN
#if NK_X86_DISPATCH
#undef DW_VB
#define DW_ATTR __attribute__((target("avx2,fma")))
#define DW_VB 32
#define DW_FN(name) name##_f32_avx2
#define DW_TR8 1
#include "nk_conv_depthwise_impl.h"
#undef DW_TR8
#undef DW_ATTR
#undef DW_FN
#undef DW_VB
#define DW_ATTR __attribute__((target("avx512f,avx2,fma")))
#define DW_VB 64
#define DW_FN(name) name##_f32_avx512
#define DW_TR16 1
#include "nk_conv_depthwise_impl.h"
#undef DW_TR16
#undef DW_ATTR
#undef DW_FN
#endif
#undef T
#undef DW_VB
#define T double
#define DW_ATTR
#define DW_VB 16
#define DW_FN(name) name##_f64_generic
#include "nk_conv_depthwise_impl.h"
#undef DW_ATTR
#undef DW_FN
#if NK_X86_DISPATCH
#undef DW_VB
#define DW_ATTR __attribute__((target("avx2,fma")))
#define DW_VB 32
#define DW_FN(name) name##_f64_avx2
#include "nk_conv_depthwise_impl.h"
#undef DW_ATTR
#undef DW_FN
#undef DW_VB
#define DW_ATTR __attribute__((target("avx512f,avx2,fma")))
#define DW_VB 64
#define DW_FN(name) name##_f64_avx512
#include "nk_conv_depthwise_impl.h"
#undef DW_ATTR
#undef DW_FN
#endif
#undef T
#undef DW_VB

#define NK_DW_CAT_(a, b) a##b
#define NK_DW_CAT(a, b) NK_DW_CAT_(a, b)

#define NK_DW_T float
#define NK_DW_S(name) name##_f32
#include "nk_conv_depthwise.c"
#undef NK_DW_T
#undef NK_DW_S
#define NK_DW_T double
#define NK_DW_S(name) name##_f64
#include "nk_conv_depthwise.c"
#undef NK_DW_T
#undef NK_DW_S

#else /* the drivers, once per dtype */
#define T NK_DW_T
#define S(name) NK_DW_S(name)

typedef struct S(nk_dw_fns) {
    int (*fill)(const nk_dw_geo *, const T *, T *, int);
    void (*fwd)(const nk_dw_geo *, const T *, const T *, T, T *, T *);
    void (*dx)(const nk_dw_geo *, const T *, const T *, T *, int, T *);
    void (*dx_store)(const nk_dw_geo *, const T *, T *);
    void (*dw)(const nk_dw_geo *, const T *, const T *, T *, int, T *);
    void (*rows)(T *, int64_t, const T *const *, int64_t, int64_t, int64_t);
    void (*acc)(const nk_dw_geo *, int64_t, const T *, const T *, const int64_t *, T *);
    void (*planes)(T *const *, int64_t, const T *, int64_t, int64_t, int64_t);
    void (*lfwd)(const nk_dw_geo *, int64_t, const T *, const T *, const int64_t *, T *);
    void (*ldx)(const nk_dw_geo *, int64_t, const T *, const T *, const int64_t *, int, T *);
} S(nk_dw_fns);

#define NK_DW_LEVEL(lvl)                                                                   \
    (S(nk_dw_fns)) {                                                                      \
        NK_DW_CAT(S(nk_dw_fill), lvl), NK_DW_CAT(S(nk_dw_fwd_plane), lvl),                 \
            NK_DW_CAT(S(nk_dw_dx_plane), lvl), NK_DW_CAT(S(nk_dw_dx_store), lvl),          \
            NK_DW_CAT(S(nk_dw_dw_plane), lvl), NK_DW_CAT(S(nk_dwl_rows), lvl),             \
            NK_DW_CAT(S(nk_dwl_acc), lvl), NK_DW_CAT(S(nk_dwl_planes), lvl),               \
            NK_DW_CAT(S(nk_dwl_fwd), lvl), NK_DW_CAT(S(nk_dwl_dx), lvl)                    \
    }

static S(nk_dw_fns) S(nk_dw_pick)(void) {
#if NK_X86_DISPATCH
    if (nk_isa_level() == NK_ISA_AVX512) return NK_DW_LEVEL(_avx512);
    if (nk_isa_level() == NK_ISA_AVX2) return NK_DW_LEVEL(_avx2);
#endif
    return NK_DW_LEVEL(_generic);
}

/* per-thread workspace: the phases, the grid (+ extra values), 64-byte
 * rounded */
static T *S(nk_dw_alloc)(const nk_dw_geo *g, int64_t extra, int nt, size_t *per) {
    const int64_t plane = g->sh * g->sw * g->Hq * g->Wq + g->OH * g->Wq + extra;
    *per = ((size_t)plane * sizeof(T) + 63) & ~(size_t)63;
    return (T *)nk_aligned_alloc(*per * (size_t)nt);
}

/* The lanes' one allocation: the taps' offsets (kk int64, *offb bytes),
 * then nt per-thread workspaces of `vals` values (*per bytes), 64-byte
 * rounded; NULL on failure.  toff[t] = tap t's offset in a lanes buffer of
 * pitch Wb, from row r0 and column c0, sgn = +1 (the taps read forward:
 * forward, weight gradient) or -1 (backward-data). */
static char *S(nk_dwl_alloc)(const nk_conv2d_shape *s, int64_t vals, int nt, int64_t Wb,
                             int64_t r0, int64_t c0, int64_t sgn, size_t *offb, size_t *per) {
    const int64_t kk = s->kH * s->kW;
    /* kk <= the buffers' pixels: the products stay within NK_DWL_MAX_PIX * NK_DWL */
    *offb = ((size_t)kk * sizeof(int64_t) + 63) & ~(size_t)63;
    *per = ((size_t)vals * sizeof(T) + 63) & ~(size_t)63;
    char *ws = nk_aligned_alloc(*offb + *per * (size_t)nt);
    if (!ws) return NULL;
    int64_t *toff = (int64_t *)ws;
    for (int64_t t = 0; t < kk; t++)
        toff[t] = ((r0 + sgn * (t / s->kW) * s->dil_h) * Wb + c0 + sgn * (t % s->kW) * s->dil_w) *
                  NK_DWL;
    return ws;
}

/* Forward by channel lanes: task (image, block of NK_DWL output channels
 * o0 + l): the lanes' input planes (channel (o0 + l) / m) transposed
 * zero-padded, their taps and bias side by side, every output = bias + w *
 * x tap by tap (the planes' order, so the same bits), transposed back. */
static void S(nk_dw_fwd_lanes)(const nk_conv2d_shape *s, const nk_dw_geo *g, int64_t Hp,
                               int64_t Wp, const T *x, const T *w, const T *bias, T *y,
                               int nthreads, nk_status *status) {
    const int64_t m = s->C_out / s->groups, kk = s->kH * s->kW, P = s->OH * s->OW;
    const int64_t HW = s->H * s->W, nb = nk_ceil_div(s->C_out, NK_DWL), ntasks = s->N * nb;
    const int64_t xrows = nk_min_i64(s->H, Hp - s->pad_h), xcols = nk_min_i64(s->W, Wp - s->pad_w);
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    const S(nk_dw_fns) f = S(nk_dw_pick)();
    size_t offb, per;
    char *ws = S(nk_dwl_alloc)(s, (Hp * Wp + P + kk + 1) * NK_DWL, nt, Wp, 0, 0, 1, &offb, &per);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return;
    }
    const int64_t *toff = (const int64_t *)ws;
#pragma omp parallel num_threads(nt)
    {
        T *xt = (T *)(ws + offb + (size_t)nk_thread_num() * per);
        T *yt = xt + Hp * Wp * NK_DWL, *wt = yt + P * NK_DWL;
        memset(xt, 0, (size_t)(Hp * Wp * NK_DWL) * sizeof(T));
#pragma omp for schedule(static)
        for (int64_t task = 0; task < ntasks; task++) {
            const int64_t n = task / nb, o0 = task % nb * NK_DWL;
            const int64_t nl = nk_min_i64(NK_DWL, s->C_out - o0);
            const T *xs[NK_DWL];
            T *ys[NK_DWL];
            for (int64_t l = 0; l < NK_DWL; l++) {
                for (int64_t t = 0; t < kk; t++) wt[t * NK_DWL + l] = l < nl ? w[(o0 + l) * kk + t] : 0;
                wt[kk * NK_DWL + l] = l < nl && bias ? bias[o0 + l] : 0;
                xs[l] = l < nl ? x + (n * s->C_in + (o0 + l) / m) * HW : NULL;
                ys[l] = l < nl ? y + (n * s->C_out + o0 + l) * P : NULL;
            }
            if (xrows > 0 && xcols > 0)
                f.rows(xt + (s->pad_h * Wp + s->pad_w) * NK_DWL, Wp, xs, s->W, xrows, xcols);
            f.lfwd(g, Wp, xt, wt, toff, yt);
            f.planes(ys, P, yt, P, 1, P);
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
}

int S(nk_conv_fwd_depthwise)(const nk_conv2d_shape *s, const T *x, const T *w, const T *bias,
                             T *y, int nthreads, nk_status *status) {
    nk_dw_geo g;
    int64_t Hb, Wb;
    if (nk_dwl_geometry(s, 0, &g, &Hb, &Wb)) {
        S(nk_dw_fwd_lanes)(s, &g, Hb, Wb, x, w, bias, y, nthreads, status);
        return 1;
    }
    if (!nk_dw_geometry(s, 0, &g)) return 0;
    const int64_t G = s->groups, m = s->C_out / G, kk = s->kH * s->kW, P = s->OH * s->OW;
    const int64_t ntasks = s->N * G, plane = g.sh * g.sw * g.Hq * g.Wq;
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    const S(nk_dw_fns) f = S(nk_dw_pick)();
    size_t per;
    T *ws = S(nk_dw_alloc)(&g, 0, nt, &per);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return 1;
    }
#pragma omp parallel num_threads(nt)
    {
        T *xq = (T *)((char *)ws + (size_t)nk_thread_num() * per), *grid = xq + plane;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t n = t / G, c = t % G;
            (void)f.fill(&g, x + (n * s->C_in + c) * s->H * s->W, xq, 0);
            for (int64_t j = 0; j < m; j++) {
                const int64_t o = c * m + j;
                f.fwd(&g, xq, w + o * kk, bias ? bias[o] : (T)0, grid,
                      y + (n * s->C_out + o) * P);
            }
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
    return 1;
}

/* Backward-data by channel lanes, stride 1: task (image, block of NK_DWL
 * input channels c0 + l): for each j < m, the lanes' dy planes (output
 * channel (c0 + l)*m + j) transposed into the zero-padded dyt and every dx
 * value += w * dy tap by tap, then dx transposed back.  The planes' order
 * (j, then taps); the zero padding adds w * 0, so only finite weights. */
static void S(nk_dw_dx_lanes)(const nk_conv2d_shape *s, const nk_dw_geo *g, int64_t Hd,
                              int64_t Wd, const T *dy, const T *w, T *dx, int nthreads,
                              nk_status *status) {
    const int64_t m = s->C_out / s->groups, kk = s->kH * s->kW, P = s->OH * s->OW;
    const int64_t HW = s->H * s->W, nb = nk_ceil_div(s->C_in, NK_DWL), ntasks = s->N * nb;
    const int64_t A = nk_max_i64(0, (s->kH - 1) * s->dil_h - s->pad_h);
    const int64_t B = nk_max_i64(0, (s->kW - 1) * s->dil_w - s->pad_w);
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    const S(nk_dw_fns) f = S(nk_dw_pick)();
    size_t offb, per;
    char *ws = S(nk_dwl_alloc)(s, (Hd * Wd + HW + kk) * NK_DWL, nt, Wd, s->pad_h + A,
                               s->pad_w + B, -1, &offb, &per);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return;
    }
    const int64_t *toff = (const int64_t *)ws;
#pragma omp parallel num_threads(nt)
    {
        T *dyt = (T *)(ws + offb + (size_t)nk_thread_num() * per);
        T *dxt = dyt + Hd * Wd * NK_DWL, *wt = dxt + HW * NK_DWL;
        memset(dyt, 0, (size_t)(Hd * Wd * NK_DWL) * sizeof(T));
#pragma omp for schedule(static)
        for (int64_t task = 0; task < ntasks; task++) {
            const int64_t n = task / nb, c0 = task % nb * NK_DWL;
            const int64_t nl = nk_min_i64(NK_DWL, s->C_in - c0);
            for (int64_t j = 0; j < m; j++) {
                const T *ds[NK_DWL];
                for (int64_t l = 0; l < NK_DWL; l++) {
                    const int64_t o = (c0 + l) * m + j;
                    for (int64_t t = 0; t < kk; t++) wt[t * NK_DWL + l] = l < nl ? w[o * kk + t] : 0;
                    ds[l] = l < nl ? dy + (n * s->C_out + o) * P : NULL;
                }
                f.rows(dyt + (A * Wd + B) * NK_DWL, Wd, ds, s->OW, s->OH, s->OW);
                f.ldx(g, Wd, dyt, wt, toff, j == 0, dxt);
            }
            T *xs[NK_DWL];
            for (int64_t l = 0; l < NK_DWL; l++)
                xs[l] = l < nl ? dx + (n * s->C_in + c0 + l) * HW : NULL;
            f.planes(xs, HW, dxt, HW, 1, HW);
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
}

int S(nk_conv_bwd_data_depthwise)(const nk_conv2d_shape *s, const T *dy, const T *w, T *dx,
                                  int nthreads, nk_status *status) {
    nk_dw_geo g;
    int64_t Hb, Wb;
    const int64_t kk = s->kH * s->kW;
    const int lanes = nk_dwl_geometry(s, 1, &g, &Hb, &Wb);
    if (!lanes && !nk_dw_geometry(s, 1, &g)) return 0;
    /* a weight that is not finite: products w * 0 are not 0, so dy's grid
     * (0 past each row) or the lanes' padding would add NaN to inputs no
     * output of that tap reads */
    int exact = 0;
    for (int64_t i = 0; i < s->C_out * kk; i++) exact |= !(w[i] - w[i] == 0);
    if (lanes && !exact) {
        S(nk_dw_dx_lanes)(s, &g, Hb, Wb, dy, w, dx, nthreads, status);
        return 1;
    }
    if (lanes && !nk_dw_geometry(s, 1, &g)) return 0; /* g: the planes' geometry */
    const int64_t G = s->groups, m = s->C_out / G, P = s->OH * s->OW;
    const int64_t ntasks = s->N * G, plane = g.sh * g.sw * g.Hq * g.Wq;
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    const S(nk_dw_fns) f = S(nk_dw_pick)();
    size_t per;
    T *ws = S(nk_dw_alloc)(&g, 0, nt, &per);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return 1;
    }
#pragma omp parallel num_threads(nt)
    {
        T *dq = (T *)((char *)ws + (size_t)nk_thread_num() * per), *grid = dq + plane;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t n = t / G, c = t % G;
            memset(dq, 0, (size_t)plane * sizeof(T));
            for (int64_t j = 0; j < m; j++) {
                const int64_t o = c * m + j;
                f.dx(&g, dy + (n * s->C_out + o) * P, w + o * kk, grid, exact, dq);
            }
            f.dx_store(&g, dq, dx + (n * s->C_in + c) * s->H * s->W);
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
    return 1;
}

/* Weight gradient by channel lanes: task = a block of NK_DWL output
 * channels o0 + l.  Per image in order, the lanes' input planes (channel
 * (o0 + l) / m) go zero-padded and their dy planes pixel-major (a transpose:
 * the padding stays zero from the first image on), then every output adds
 * dy * x into the tap's lanes, outputs in row-major order, taps in order.
 * No grid, so no products past the real outputs; lanes past C_out hold
 * zeros.  Each dw element is one fixed sum, the same at every level. */
static void S(nk_dw_dw_lanes)(const nk_conv2d_shape *s, const nk_dw_geo *g, int64_t Hp,
                              int64_t Wp, const T *dy, const T *x, T *dw, int nthreads,
                              nk_status *status) {
    const int64_t m = s->C_out / s->groups, kk = s->kH * s->kW, P = s->OH * s->OW;
    const int64_t HW = s->H * s->W, nb = nk_ceil_div(s->C_out, NK_DWL);
    const int64_t xrows = nk_min_i64(s->H, Hp - s->pad_h), xcols = nk_min_i64(s->W, Wp - s->pad_w);
    const int nt = nk_conv_threads(s, nb, nthreads);
    const S(nk_dw_fns) f = S(nk_dw_pick)();
    size_t offb, per;
    char *ws = S(nk_dwl_alloc)(s, (Hp * Wp + P + kk) * NK_DWL, nt, Wp, 0, 0, 1, &offb, &per);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return;
    }
    const int64_t *toff = (const int64_t *)ws;
#pragma omp parallel num_threads(nt)
    {
        T *xt = (T *)(ws + offb + (size_t)nk_thread_num() * per);
        T *dyt = xt + Hp * Wp * NK_DWL, *acc = dyt + P * NK_DWL;
        memset(xt, 0, (size_t)(Hp * Wp * NK_DWL) * sizeof(T));
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            const int64_t o0 = b * NK_DWL, nl = nk_min_i64(NK_DWL, s->C_out - o0);
            memset(acc, 0, (size_t)(kk * NK_DWL) * sizeof(T));
            for (int64_t n = 0; n < s->N; n++) {
                const T *xs[NK_DWL], *ds[NK_DWL];
                for (int64_t l = 0; l < NK_DWL; l++) {
                    xs[l] = l < nl ? x + (n * s->C_in + (o0 + l) / m) * HW : NULL;
                    ds[l] = l < nl ? dy + (n * s->C_out + o0 + l) * P : NULL;
                }
                if (xrows > 0 && xcols > 0)
                    f.rows(xt + (s->pad_h * Wp + s->pad_w) * NK_DWL, Wp, xs, s->W, xrows, xcols);
                f.rows(dyt, P, ds, P, 1, P);
                f.acc(g, Wp, xt, dyt, toff, acc);
            }
            for (int64_t l = 0; l < nl; l++)
                for (int64_t t = 0; t < kk; t++) dw[(o0 + l) * kk + t] = acc[t * NK_DWL + l];
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
}

int S(nk_conv_bwd_weight_depthwise)(const nk_conv2d_shape *s, const T *dy, const T *x, T *dw,
                                    int nthreads, nk_status *status) {
    nk_dw_geo g;
    int64_t Hp, Wp;
    if (nk_dwl_geometry(s, 2, &g, &Hp, &Wp)) {
        S(nk_dw_dw_lanes)(s, &g, Hp, Wp, dy, x, dw, nthreads, status);
        return 1;
    }
    if (!nk_dw_geometry(s, 2, &g)) return 0;
    const int64_t G = s->groups, m = s->C_out / G, kk = s->kH * s->kW, P = s->OH * s->OW;
    const int64_t plane = g.sh * g.sw * g.Hq * g.Wq;
    const int nt = nk_conv_threads(s, s->C_out, nthreads);
    const S(nk_dw_fns) f = S(nk_dw_pick)();
    size_t per;
    T *ws = S(nk_dw_alloc)(&g, 64 * kk, nt, &per);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return 1;
    }
#pragma omp parallel num_threads(nt)
    {
        T *xq = (T *)((char *)ws + (size_t)nk_thread_num() * per), *grid = xq + plane;
        T *acc = grid + g.OH * g.Wq;
#pragma omp for schedule(static)
        for (int64_t o = 0; o < s->C_out; o++) {
            const int64_t c = o / m;
            memset(acc, 0, (size_t)(64 * kk) * sizeof(T));
            for (int64_t n = 0; n < s->N; n++) {
                /* x not finite: 0 * x is not 0, so the plane goes row by row */
                const int bad = f.fill(&g, x + (n * s->C_in + c) * s->H * s->W, xq, 1);
                f.dw(&g, xq, dy + (n * s->C_out + o) * P, grid, bad, acc);
            }
            for (int64_t t = 0; t < kk; t++) { /* the 64 lanes, pairwise */
                T q[64];
                memcpy(q, acc + 64 * t, sizeof q);
                for (int h = 32; h >= 1; h /= 2)
                    for (int l = 0; l < h; l++) q[l] = q[2 * l] + q[2 * l + 1];
                dw[o * kk + t] = q[0];
            }
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
    return 1;
}

#undef T
#undef S
#endif
