/* nk_conv_shift.c -- float32 conv2d forward without im2col ("shifted
 * rows"): strides 1 and 2 at the AVX-512 level (row-aligned tiles of 7-14
 * pixels x 32 channels -- rows of exactly 7 two at a time, 7 x 2 x 32: the
 * 512-channel 7x7 layer 1.08x, its 14 -> 7 downsample 1.11x -- else
 * 12 x 32 / 12 x 16 on the padded grid), stride
 * 1 at the AVX2 level (row-aligned 4-6 x 16, else 6 x 16); and the weight
 * gradient (column stride 1 or 2) at both levels (6 taps x 64 channels at
 * AVX-512, 6 x 16 at AVX2).
 *
 * Stride 1: output pixel (oh, ow) reads input (oh + kh*dh - ph,
 * ow + kw*dw - pw).  Copy the input rows a task needs into a zero-padded
 * buffer xp of row length Wx = OW + dw*(kW-1), and index the output on the
 * same padded grid (row length Wg = Wx), q = oh*Wg + ow.  Then the im2col
 * value of depth p = (c, kh, kw) at pixel q is simply
 *     xp[q + off[p]],   off[p] = c*PL + kh*dh*Wx + kw*dw   (PL: plane)
 * so the micro-kernel (nk_conv_ukr_f32_shift_avx512.c) broadcasts 12
 * consecutive pixels straight from xp against packed weight panels of 16
 * output channels, and nothing is packed but the weights.  (Reading 32
 * pixels as vectors instead, against broadcast weights, was tried first:
 * the shifted vector loads straddle cache lines and the kernel ran ~18%
 * slower than on packed panels.)
 *
 * Strides (sh any, sw = 1 or 2): one plane per (c, kh) holding, for each
 * output row r of the band, the padded input row (oh0 + r)*sh + kh*dh (a
 * kH/sh-fold copy: 3.5x for the 7x7/s2 stem, 1.5x for a 3x3/s2 layer), row
 * length Wx = sw*Wg.  Then the value is xp[sw*q + off[p]] with
 * off[p] = (c*kH + kh)*PL + kw*dw, and the *_s2 kernels broadcast every
 * second value.
 *
 * The tile is pixel-major, so it is transposed into y's channel planes on
 * the way out, stretch by stretch while the last depth block is computed
 * (a store after the task waited on memory: 13% of res3x3-56).  The grid
 * columns q with ow >= OW are computed and dropped -- a waste of Wg/OW - 1
 * (3.6% for 3x3 on 56x56, 14% on 14x14, 2.7% for the stem); the path is
 * used only when that is at most a quarter.  The im2col packer it replaces
 * took 15-18% of a 3x3 layer's time (perf, res3x3-56/28).
 *
 * Bits: every output element is the GEMM's -- the depth is cut into the
 * same balanced blocks of <= NK_GEMM_KC_F32, summed in order by the same
 * FMA chain, and finished the same way (+ bias at the last block) -- so the
 * result equals the im2col path and the AVX2 level bit for bit, for any
 * thread count.
 *
 * Tasks: (image, group, band of R output rows), R*Wg ~ NK_SHIFT_COLS -- two
 * images instead of one when a group's packed weights exceed 4 MiB.  Per
 * thread and image of a task: xp (C_in/groups planes, or C_in/groups*kH
 * when strided, + slack) and the tile (R*Wg rounded up to 12, x
 * C_out/groups rounded up to 16), both independent of N; plus, once per
 * call, the packed weights and the
 * offset table (about the size of the weights).  Shapes whose per-thread
 * buffers would exceed NK_SHIFT_MAX_ELEMS take the im2col path. */
#include <string.h>
#include "nk_conv.h"
#include "nk_gemm_internal.h"
#include "nk_runtime.h"

#define NK_SHIFT_COLS 1024
#define NK_SHIFT_IPT_MAX 2
#define NK_SHIFT_MAX_ELEMS ((int64_t)1 << 24)
#ifndef NK_SHIFT_STREAM_ELEMS
#define NK_SHIFT_STREAM_ELEMS ((int64_t)1 << 19)
#endif

typedef struct nk_shift_plan {
    int64_t G, Cig, Cog, K;
    int64_t sw;     /* 1, or 2: kernel rows read every second value */
    int strided;    /* layout: 0 = shared rows (stride 1), 1 = a plane per (c, kh) */
    int64_t Wg, Wx; /* row lengths of the output grid and of xp (Wx = sw*Wg) */
    int64_t R, Rh, PL, nplanes, nch, ldr, Np, xe, kcb, nkb;
    int rowt; /* AVX-512: row-aligned tiles of 7-14 pixels (nk_conv_ukr_f32_rx32_shift_avx512) */
    int row6; /* AVX2: row-aligned tiles of 4-6 pixels (nk_conv_ukr_f32_{6,5,4}x16_shift_avx2) */
    int stream; /* AVX-512: non-temporal stores of y (a large output) */
    int64_t ipt;              /* images a task */
    int64_t xstride, tstride; /* per-image offsets of xp and of the tile */
} nk_shift_plan;

static int64_t nk_shift_round(int64_t v, int64_t m) { return nk_ceil_div(v, m) * m; }

static size_t nk_shift_round64(size_t b) { return (b + 63) & ~(size_t)63; }

/* One workspace: `shared` bytes, then `per` bytes for each of nt threads
 * (both already 64-byte multiples).  NULL with *status set on overflow or
 * allocation failure. */
static char *nk_shift_alloc(size_t shared, size_t per, int nt, nk_status *status) {
    if (nt > 0 && per > (SIZE_MAX - shared) / (size_t)nt) {
        *status = NK_ERR_OVERFLOW;
        return NULL;
    }
    char *ws = nk_aligned_alloc(shared + per * (size_t)nt);
    if (!ws) *status = NK_ERR_NOMEM;
    return ws;
}

/* Fill *p; 0 when the path does not apply. */
static int nk_shift_make_plan(const nk_conv2d_shape *s, nk_shift_plan *p) {
    const int64_t sh = s->stride_h, sw = s->stride_w;
    if (sw < 1 || sw > 2 || sh < 1) return 0;
    const int strided = sh != 1 || sw != 1;
    if (!strided && s->kH == 1 && s->kW == 1) return 0; /* 1x1: GEMM straight on x */
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    if (s->N < 1 || Cog < 12 || Cig < 1 || s->OH < 1 || s->OW < 1) return 0;
    const int64_t big = (int64_t)1 << 30;
    if (s->OW >= big || s->OH >= big || sh >= big || s->dil_w * s->kW >= big ||
        s->dil_h * s->kH >= big || Cig >= big || Cog >= big || Cig * s->kH >= big)
        return 0;
    /* output grid: every real pixel ow < OW and tap kw reads column
     * ow*sw + kw*dw < Wx = sw*Wg */
    const int64_t Wg = strided ? nk_ceil_div((s->OW - 1) * sw + (s->kW - 1) * s->dil_w + 1, sw)
                               : s->OW + s->dil_w * (s->kW - 1);
    /* AVX-512 (32k channels, rows of >= 7 pixels): row-aligned tiles of
     * 7-14 real pixels compute no padded column, so the waste rule below
     * does not apply to them (it counts the padded-grid columns that
     * 12-pixel tiles compute) */
    const int rowt = s->OW >= 7 && nk_shift_round(Cog, 16) % 32 == 0 &&
                     nk_isa_level() == NK_ISA_AVX512;
    if (!rowt && 4 * Wg > 5 * s->OW) return 0; /* more than a quarter wasted */
    const int64_t Wx = sw * Wg;
    int64_t R = nk_max_i64(1, nk_min_i64(s->OH, NK_SHIFT_COLS / Wg));
    int64_t nch = nk_ceil_div(s->OH, R);
    if (s->N * G * nch < 4) nch = nk_min_i64(s->OH, nk_ceil_div(4, s->N * G));
    R = nk_ceil_div(s->OH, nch);
    nch = nk_ceil_div(s->OH, R);
    /* stride 1: one plane of R + dh*(kH-1) rows per channel, shared by the
     * kh taps; else one plane of R rows per (channel, kh) */
    const int64_t Rh = strided ? R : R + s->dil_h * (s->kH - 1), PL = Rh * Wx;
    const int64_t nplanes = strided ? Cig * s->kH : Cig;
    const int64_t ldr = nk_shift_round(R * Wg, 12), Np = nk_shift_round(Cog, 16);
    int64_t xe, te, K;
    if (nk_mul_i64(nplanes, PL, &xe) || nk_mul_i64(Np, ldr, &te) ||
        nk_mul_i64(Cig, s->kH * s->kW, &K))
        return 0;
    /* slack: the last pixels of a 12-pixel block read past the last plane */
    xe += sw * (ldr - R * Wg) + s->dil_w * (s->kW - 1) + 32;
    if (xe > NK_SHIFT_MAX_ELEMS || te > NK_SHIFT_MAX_ELEMS || K >= big) return 0;
    p->G = G; p->Cig = Cig; p->Cog = Cog; p->K = K;
    p->sw = sw; p->strided = strided; p->Wg = Wg; p->Wx = Wx;
    p->R = R; p->Rh = Rh; p->PL = PL; p->nplanes = nplanes; p->nch = nch;
    p->ldr = ldr; p->Np = Np; p->xe = xe;
    /* AVX-512: row-aligned tiles, each a stretch of 7-14 real pixels of
     * one row (nk_shift_tile_len), instead of 12-pixel tiles on the padded
     * grid that straddle its padded columns.  Measured, 1 thread, min of 3
     * alternations, for the 14-pixel tiles: res3x3-14 fwd and dx 1.15x,
     * res3x3-28 1.08x, res3x3-56 1.05x, dil2-56 1.035x, bs1 1.03x,
     * down3x3s2 1.12x, the stem 1.05x; rows of 7 (a ResNet's last stage,
     * which the waste rule kept off this path): 8x512x7x7 fwd 1.05x, the
     * 14->7 downsample 1.1x; exact remainder tiles (dil4-64: 64 = 4 x 14 +
     * 8) ~1.05x (noisy). */
    p->rowt = rowt;
    /* AVX2: rows with padded columns cut into ceil(OW/6) tiles of 4-6 real
     * pixels (any OW >= 4 but 7), instead of 6-pixel tiles on the padded
     * grid that straddle its padding (res3x3-14: 16 computed per 14) */
    p->row6 = sw == 1 && Wg > s->OW && s->OW >= 4 && s->OW != 7;
    /* outputs of >= NK_SHIFT_STREAM_ELEMS: non-temporal stores (at the
     * AVX-512 level).  Such an output does not stay in a core's L2 anyway;
     * written around the caches it costs no read-for-ownership.  Measured,
     * 1 thread: the stem (25.7 MB) 1.05-1.2x, res3x3-56 fwd and dx 1.1x,
     * res3x3-28 and down3x3s2 (3.2 MB) 1.07-1.14x; outputs of 0.5-1.6 MB
     * within noise.  The stores need 64-byte aligned lines: the bindings
     * allocate y and dx so, and a store that is not aligned stays normal. */
    {
        int64_t ye;
        p->stream = !nk_mul_i64(s->N * s->C_out, s->OH * s->OW, &ye) &&
                    ye >= NK_SHIFT_STREAM_ELEMS;
    }
    p->nkb = nk_ceil_div(K, NK_GEMM_KC_F32); /* the GEMM's depth blocks */
    p->kcb = nk_ceil_div(K, p->nkb);
    /* a group's packed weights of more than 4 MiB (streamed from L3 for
     * every image): two images a task, so that each depth block's panels
     * serve both while they are hot.  Measured, min of 5 alternations: the
     * 512-channel 7x7 layer 3% faster at 2 threads (6.28 -> 6.10 ms), the
     * 256 -> 512 14 -> 7 downsample 3% at 1 and 2 threads; at 2.4 MB
     * (res3x3-14) within noise, so not there. */
    p->ipt = s->N >= 2 && Np * K > ((int64_t)1 << 20) ? 2 : 1;
    p->xstride = nk_shift_round(xe, 16);
    p->tstride = Np * ldr;
    return 1;
}

/* d[0..wx) <- input row ih of channel plane xc, zero-padded: d[j] =
 * x[ih][j - pw], 0 outside the image. */
static void nk_shift_row(const nk_conv2d_shape *s, const float *xc, int64_t ih, int64_t wx,
                         float *d) {
    const int64_t W = s->W, pw = s->pad_w;
    /* columns j of a padded row that hold input column j - pw */
    const int64_t j0 = nk_min_i64(wx, nk_max_i64(0, pw)), j1 = nk_min_i64(wx, W + pw);
    if (ih < 0 || ih >= s->H || j1 <= j0) {
        memset(d, 0, (size_t)wx * sizeof(float));
        return;
    }
    const float *src = xc + ih * W;
    if (j0 > 0) memset(d, 0, (size_t)j0 * sizeof(float));
    memcpy(d + j0, src + (j0 - pw), (size_t)(j1 - j0) * sizeof(float));
    if (j1 < wx) memset(d + j1, 0, (size_t)(wx - j1) * sizeof(float));
}

/* xp <- nc channel planes of padded rows [oh0, oh0 + rh) (stride 1: row
 * length wx, plane rh*wx); x: the first channel's plane. */
static void nk_shift_fill(const nk_conv2d_shape *s, const float *x, int64_t nc, int64_t oh0,
                          int64_t rh, int64_t wx, float *xp) {
    const int64_t HW = s->H * s->W;
    for (int64_t c = 0; c < nc; c++)
        for (int64_t i = 0; i < rh; i++)
            nk_shift_row(s, x + c * HW, oh0 + i - s->pad_h, wx, xp + (c * rh + i) * wx);
}

/* Strided layout: plane (c, kh) row r <- padded input row
 * (oh0 + r)*sh + kh*dh, for r < R. */
static void nk_shift_fill_strided(const nk_conv2d_shape *s, const nk_shift_plan *p,
                                  const float *x, int64_t oh0, float *xp) {
    const int64_t HW = s->H * s->W;
    for (int64_t c = 0; c < p->Cig; c++)
        for (int64_t kh = 0; kh < s->kH; kh++)
            for (int64_t r = 0; r < p->R; r++)
                nk_shift_row(s, x + c * HW, (oh0 + r) * s->stride_h + kh * s->dil_h - s->pad_h,
                             p->Wx, xp + ((c * s->kH + kh) * p->R + r) * p->Wx);
}

#if NK_X86_DISPATCH
#include <immintrin.h>
#include "nk_tr16_avx512.h"
#include "nk_tr8_avx2.h"

/* q[i] <- the tile row (padded-grid index) of output value m0 + i of the
 * task's run, for i < n; past the nm real values, the last one again. */
static inline void nk_shift_tile_rows(int64_t m0, int64_t nm, int n, int64_t OW, int64_t Wg,
                                      int64_t *q) {
    for (int i = 0; i < n; i++) {
        const int64_t m = m0 + nk_min_i64(i, nm - 1);
        q[i] = (m / OW) * Wg + m % OW;
    }
}

/* y planes <- values [m0, m1) (m0 a multiple of 16) of the task's run from
 * the pixel-major tile (rows q = r*Wg + ow, Np channels).  A task's rows
 * are one contiguous run of rows*OW values in each channel plane, m = r*OW
 * + ow; 16 channels x 16 values at a time are transposed in registers. */
NK_TARGET_AVX512 static void nk_shift_store(const nk_conv2d_shape *s, const nk_shift_plan *p,
                                            const float *tile, float *yrun, int64_t m0,
                                            int64_t m1) {
    const int64_t OW = s->OW, OHW = s->OH * s->OW, Np = p->Np, Cog = p->Cog, Wg = p->Wg;
    __m512 v[16];
    int64_t q[16];
    for (; m0 < m1; m0 += 16) {
        const int64_t nm = nk_min_i64(16, m1 - m0);
        const __mmask16 mk = (__mmask16)((1u << nm) - 1u);
        nk_shift_tile_rows(m0, nm, 16, OW, Wg, q);
        for (int64_t o0 = 0; o0 < Cog; o0 += 16) {
            const int64_t no = nk_min_i64(16, Cog - o0);
            for (int64_t i = 0; i < 16; i++) v[i] = _mm512_load_ps(tile + q[i] * Np + o0);
            nk_tr16_avx512(v);
            for (int64_t o = 0; o < no; o++) {
                float *d = yrun + (o0 + o) * OHW + m0;
                if (p->stream && nm == 16 && ((uintptr_t)d & 63) == 0) _mm512_stream_ps(d, v[o]);
                else _mm512_mask_storeu_ps(d, mk, v[o]);
            }
        }
    }
}

/* The same at the AVX2 level: 8 channels x 8 values per register
 * transpose; m0 a multiple of 8. */
NK_TARGET_AVX2 static void nk_shift_store_avx2(const nk_conv2d_shape *s, const nk_shift_plan *p,
                                               const float *tile, float *yrun, int64_t m0,
                                               int64_t m1) {
    const int64_t OW = s->OW, OHW = s->OH * s->OW, Np = p->Np, Cog = p->Cog, Wg = p->Wg;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 v[8];
    int64_t q[8];
    for (; m0 < m1; m0 += 8) {
        const int64_t nm = nk_min_i64(8, m1 - m0);
        const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nm), lane);
        nk_shift_tile_rows(m0, nm, 8, OW, Wg, q);
        for (int64_t o0 = 0; o0 < Cog; o0 += 8) {
            const int64_t no = nk_min_i64(8, Cog - o0);
            for (int64_t i = 0; i < 8; i++) v[i] = _mm256_load_ps(tile + q[i] * Np + o0);
            nk_tr8_avx2(v);
            for (int64_t o = 0; o < no; o++)
                _mm256_maskstore_ps(yrun + (o0 + o) * OHW + m0, mk, v[o]);
        }
    }
}

/* End (exclusive) of the blocks of bs values from m0 whose tile rows are
 * all below qdone (q grows with m). */
static int64_t nk_shift_ready(const nk_shift_plan *p, int64_t OW, int64_t m0, int64_t len,
                              int64_t qdone, int64_t bs) {
    while (m0 < len) {
        const int64_t last = nk_min_i64(m0 + bs, len) - 1;
        if ((last / OW) * p->Wg + last % OW >= qdone) break;
        m0 = nk_min_i64(m0 + bs, len);
    }
    return m0;
}

/* Length of the next row-aligned tile when rem >= 7 pixels of the row are
 * left: 14, then the last 15-20 as two halves, so every tile has 7-14. */
static int64_t nk_shift_tile_len(int64_t rem) {
    return rem >= 21 ? 14 : rem >= 15 ? rem / 2 : rem;
}

/* The shifted-rows kernel for pixel rows [ir, ir + MR) and channels
 * [jc, jc + NR) of the tile, chosen by ISA level (wide: AVX-512, 12 x 32 or
 * 12 x 16; else AVX2, 6 x 16) and pixel stride. */
static void nk_shift_ukr(int wide, int64_t sw, int64_t kc, int64_t nrc, const float *a,
                         const int64_t *off, const float *bw, float *c, int64_t ldc,
                         const nk_ukr_args_f32 *args) {
    if (!wide) {
        if (sw == 1) nk_conv_ukr_f32_6x16_shift_avx2(kc, a, off, bw, c, ldc, args);
        else nk_conv_ukr_f32_6x16_shift_s2_avx2(kc, a, off, bw, c, ldc, args);
    } else if (nrc == 32) {
        if (sw == 1) nk_conv_ukr_f32_12x32_shift_avx512(kc, a, off, bw, c, ldc, args);
        else nk_conv_ukr_f32_12x32_shift_s2_avx512(kc, a, off, bw, c, ldc, args);
    } else {
        if (sw == 1) nk_conv_ukr_f32_12x16_shift_avx512(kc, a, off, bw, c, ldc, args);
        else nk_conv_ukr_f32_12x16_shift_s2_avx512(kc, a, off, bw, c, ldc, args);
    }
}

/* One task: the output rows [oh0, oh0 + rows) of (image n, group g). */
static void nk_shift_task(const nk_conv2d_shape *s, const nk_shift_plan *p, const float *x,
                          const float *wpk, const int64_t *off, const float *bias_pad,
                          float *y, int64_t n0, int64_t g, int64_t ch, float *xpb,
                          float *tileb) {
    const int64_t oh0 = ch * p->R, rows = nk_min_i64(p->R, s->OH - oh0);
    const int64_t npix = rows * p->Wg, Np = p->Np, K = p->K, sw = p->sw;
    const int64_t ni = nk_min_i64(p->ipt, s->N - n0);
    /* the task's images: padded rows, tile, run in y's planes (in the last
     * depth block each finished stretch of 16 values is stored while the
     * next is computed) */
    float *yr[NK_SHIFT_IPT_MAX];
    int64_t md[NK_SHIFT_IPT_MAX];
    for (int64_t im = 0; im < ni; im++) {
        const int64_t n = n0 + im;
        float *xp = xpb + im * p->xstride;
        const float *xg = x + (n * s->C_in + g * p->Cig) * s->H * s->W;
        if (p->strided) nk_shift_fill_strided(s, p, xg, oh0, xp);
        else nk_shift_fill(s, xg, p->Cig, oh0, p->Rh, p->Wx, xp);
        memset(xp + p->nplanes * p->PL, 0, (size_t)(p->xe - p->nplanes * p->PL) * sizeof(float));
        yr[im] = y + (n * s->C_out + g * p->Cog) * s->OH * s->OW + oh0 * s->OW;
        md[im] = 0;
    }
    const float *wg = wpk + g * Np * K;
    const int64_t len = rows * s->OW;
    /* AVX-512: 12-pixel x 32 (or 16) channel tiles; AVX2: 6 x 16 */
    const int wide = nk_isa_level() == NK_ISA_AVX512;
    const int64_t MR = wide ? 12 : 6, NRmax = wide ? 32 : 16, SB = wide ? 16 : 8;
    for (int64_t b = 0, p0 = 0; p0 < K; b++, p0 += p->kcb) {
        const int64_t kc = nk_min_i64(p->kcb, K - p0);
        const int last = p0 + kc == K;
        nk_ukr_args_f32 args = {1.0f, b == 0 ? 0.0f : 1.0f, NULL, 0, 0};
        const float *wb = wg + Np * p0; /* this depth block's panels */
        for (int64_t jc = 0; jc < Np; jc += NRmax) {
            /* this block's weight panels stay in L1 while the pixel blocks
             * stream by; the last channel block finishes tile rows */
            const int64_t nrc = nk_min_i64(NRmax, Np - jc);
            const int fin = last && jc + nrc >= Np;
            args.bias = last && bias_pad ? bias_pad + g * Np + jc : NULL;
            /* every image of the task while this block's panels are hot */
            for (int64_t im = 0; im < ni; im++) {
                const float *xp = xpb + im * p->xstride;
                float *tile = tileb + im * p->tstride, *yrun = yr[im];
                int64_t mdone = md[im];
                if (wide && p->rowt && s->OW == 7) { /* rows of 7: two per tile */
                    for (int64_t r = 0; r < rows; r += 2) {
                        const int64_t ir = r * p->Wg, two = r + 1 < rows;
                        if (two)
                            nk_conv_ukr_f32_7x2x32_shift_avx512((int)sw, kc, xp + sw * ir, off + p0,
                                                                wb + jc * kc, tile + ir * Np + jc,
                                                                Np, sw * p->Wg, p->Wg * Np, &args);
                        else if (jc % 64 == 0 && jc + 64 <= Np) /* a lone row: 64 channels */
                            nk_conv_ukr_f32_7x64_shift_avx512((int)sw, kc, xp + sw * ir, off + p0,
                                                              wb + jc * kc, tile + ir * Np + jc, Np,
                                                              &args);
                        else if (jc % 64 == 0) /* (else done by the 7x64 call at jc - 32) */
                            nk_conv_ukr_f32_rx32_shift_avx512(7, (int)sw, kc, xp + sw * ir,
                                                              off + p0, wb + jc * kc,
                                                              tile + ir * Np + jc, Np, &args);
                        if (fin) {
                            const int64_t qd = ir + two * p->Wg + 7;
                            const int64_t m1 = nk_shift_ready(p, s->OW, mdone, len, qd, SB);
                            nk_shift_store(s, p, tile, yrun, mdone, m1);
                            mdone = m1;
                        }
                    }
                    md[im] = mdone;
                    continue;
                }
                if (wide && p->rowt) { /* row-aligned tiles of 7-14 pixels */
                    for (int64_t r = 0; r < rows; r++)
                        for (int64_t c0 = 0, t; c0 < s->OW; c0 += t) {
                            t = nk_shift_tile_len(s->OW - c0);
                            const int64_t ir = r * p->Wg + c0;
                            nk_conv_ukr_f32_rx32_shift_avx512((int)t, (int)sw, kc, xp + sw * ir,
                                                              off + p0, wb + jc * kc,
                                                              tile + ir * Np + jc, Np, &args);
                            if (fin) {
                                const int64_t m1 = nk_shift_ready(p, s->OW, mdone, len, ir + t, SB);
                                nk_shift_store(s, p, tile, yrun, mdone, m1);
                                mdone = m1;
                            }
                        }
                    md[im] = mdone;
                    continue;
                }
                if (!wide && p->row6) { /* ceil(OW/6) tiles of 4-6 real pixels a row */
                    const int64_t nt6 = nk_ceil_div(s->OW, 6), base = s->OW / nt6;
                    const int64_t extra = s->OW % nt6;
                    for (int64_t r = 0; r < rows; r++)
                        for (int64_t i = 0, c0 = 0; i < nt6; i++) {
                            const int64_t t = base + (i < extra), ir = r * p->Wg + c0;
                            const float *ai = xp + ir, *bi = wb + jc * kc;
                            float *ci = tile + ir * Np + jc;
                            if (t == 6)
                                nk_conv_ukr_f32_6x16_shift_avx2(kc, ai, off + p0, bi, ci, Np,
                                                                 &args);
                            else if (t == 5)
                                nk_conv_ukr_f32_5x16_shift_avx2(kc, ai, off + p0, bi, ci, Np,
                                                                 &args);
                            else
                                nk_conv_ukr_f32_4x16_shift_avx2(kc, ai, off + p0, bi, ci, Np,
                                                                 &args);
                            c0 += t;
                            if (fin) {
                                const int64_t m1 = nk_shift_ready(p, s->OW, mdone, len, ir + t, SB);
                                nk_shift_store_avx2(s, p, tile, yrun, mdone, m1);
                                mdone = m1;
                            }
                        }
                    md[im] = mdone;
                    continue;
                }
                for (int64_t ir = 0; ir < npix; ir += MR) {
                    nk_shift_ukr(wide, sw, kc, nrc, xp + sw * ir, off + p0, wb + jc * kc,
                                 tile + ir * Np + jc, Np, &args);
                    if (fin) {
                        const int64_t m1 = nk_shift_ready(p, s->OW, mdone, len, ir + MR, SB);
                        if (wide) nk_shift_store(s, p, tile, yrun, mdone, m1);
                        else nk_shift_store_avx2(s, p, tile, yrun, mdone, m1);
                        mdone = m1;
                    }
                }
                md[im] = mdone;
            }
        }
    }
}
#endif

/* Test hook: 0 sends every shape to the im2col path (to compare bits). */
static int nk_shift_on = 1;
void nk_conv_shift_enable(int on) { __atomic_store_n(&nk_shift_on, on != 0, __ATOMIC_RELAXED); }
static int nk_shift_enabled(void) { return __atomic_load_n(&nk_shift_on, __ATOMIC_RELAXED); }

int nk_conv_bwd_data_phases_ok(const nk_conv2d_shape *s) {
    /* each phase is a stride-1 forward with C_in/groups output channels:
     * >= 12 of them take the shifted-rows path at both levels (measured,
     * down3x3s2 dx: 1.2x the column form at the AVX2 level) */
    return nk_isa_level() >= NK_ISA_AVX2 && (s->stride_h > 1 || s->stride_w > 1) &&
           s->dil_h == 1 && s->dil_w == 1 && s->C_in / s->groups >= 12 && s->kH <= 64 &&
           s->kW <= 64 && s->stride_h <= s->kH && s->stride_w <= s->kW;
}

int nk_conv_fwd_shift_row_tiles(const nk_conv2d_shape *s) {
    nk_shift_plan p;
    return nk_conv_fwd_shift_ok(s) && nk_shift_make_plan(s, &p) && p.rowt;
}

int nk_conv_fwd_shift_images_per_task(const nk_conv2d_shape *s) {
    nk_shift_plan p;
    return nk_conv_fwd_shift_ok(s) && nk_shift_make_plan(s, &p) ? (int)p.ipt : 0;
}

int nk_conv_fwd_shift_stream(const nk_conv2d_shape *s) {
    nk_shift_plan p;
    return nk_conv_fwd_shift_ok(s) && nk_isa_level() == NK_ISA_AVX512 &&
           nk_shift_make_plan(s, &p) && p.stream;
}

int nk_conv_fwd_shift_row6(const nk_conv2d_shape *s) {
    nk_shift_plan p;
    return nk_conv_fwd_shift_ok(s) && nk_isa_level() == NK_ISA_AVX2 &&
           nk_shift_make_plan(s, &p) && p.row6;
}

int nk_conv_fwd_shift_ok(const nk_conv2d_shape *s) {
    nk_shift_plan p;
#if NK_X86_DISPATCH
    /* AVX2 level: stride 1 only (measured at the AVX2 level on this
     * machine's cores: +8..26% on the 3x3 / dilated layers, but -6% on the
     * 3x3/s2 layer and +3% on the stem, where im2col / the direct kernel
     * stay) */
    const nk_isa level = nk_isa_level();
    if (level == NK_ISA_AVX2 && (s->stride_h != 1 || s->stride_w != 1)) return 0;
    return nk_shift_enabled() && level >= NK_ISA_AVX2 && nk_shift_make_plan(s, &p);
#else
    (void)s; (void)p;
    return 0;
#endif
}

#if NK_X86_DISPATCH
/* Backward-data's weights, packed straight from w (C_out, C_in/G, kH, kW):
 * the stride-1 dx is the forward of dy with w flipped and transposed,
 * wt[c][k][t] = w[k][c][kk-1-t], so row c, depth q = k*kk + t of one group's
 * packed matrix is w[k][c][kk-1-q%kk] (a flipped copy of w first cost a
 * read and a write of all the weights: 11% of the 512-channel 7x7 layer's
 * backward-data).  A strided layer's output phases (nk_conv_igemm.c) use
 * sub-kernels: tap t of the phase is w's tap[t]. */
typedef struct nk_shift_flip_ctx {
    const float *w;     /* the group's weights */
    int64_t cig;        /* w's C_in/G: the packed matrix's rows */
    int64_t kk;         /* taps of the packed matrix's kernel */
    int64_t kko;        /* taps of w's kernel (kH*kW) */
    const int64_t *tap; /* w's tap for each tap t < kk; NULL: kk - 1 - t */
} nk_shift_flip_ctx;

/* w's tap of tap t of the packed matrix's kernel */
static inline int64_t nk_shift_flip_tap(const nk_shift_flip_ctx *cx, int64_t t) {
    return cx->tap ? cx->tap[t] : cx->kk - 1 - t;
}

/* 16 rows c0.. at the AVX-512 level: one gather of 16 values (w's stride
 * kko) per depth step, from depth (k, t) on */
NK_TARGET_AVX512 static void nk_shift_flip16_avx512(const nk_shift_flip_ctx *cx, int64_t c0,
                                                    int64_t k, int64_t t, int64_t kc,
                                                    float *d) {
    const int64_t kko = cx->kko;
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                             11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)kko));
    for (int64_t q = 0; q < kc; q++, d += 16) {
        const float *src = cx->w + (k * cx->cig + c0) * kko + nk_shift_flip_tap(cx, t);
        _mm512_store_ps(d, _mm512_i32gather_ps(idx, src, 4));
        if (++t == cx->kk) {
            t = 0;
            k++;
        }
    }
}

/* The same at the AVX2 level: two gathers of 8 */
NK_TARGET_AVX2 static void nk_shift_flip16_avx2(const nk_shift_flip_ctx *cx, int64_t c0,
                                                int64_t k, int64_t t, int64_t kc, float *d) {
    const int64_t kko = cx->kko;
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32((int)kko));
    for (int64_t q = 0; q < kc; q++, d += 16) {
        const float *src = cx->w + (k * cx->cig + c0) * kko + nk_shift_flip_tap(cx, t);
        _mm256_store_ps(d, _mm256_i32gather_ps(src, idx, 4));
        _mm256_store_ps(d + 8, _mm256_i32gather_ps(src + 8 * kko, idx, 4));
        if (++t == cx->kk) {
            t = 0;
            k++;
        }
    }
}

static void nk_shift_pack_flip(const void *vctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                               int64_t w, float *dst) {
    const nk_shift_flip_ctx *cx = (const nk_shift_flip_ctx *)vctx;
    const int64_t kk = cx->kk, kko = cx->kko, npan = nk_ceil_div(mn, w);
    for (int64_t pn = 0; pn < npan; pn++) {
        float *d = dst + pn * kc * w;
        const int64_t c0 = i0 + pn * w, nc = nk_min_i64(w, mn - pn * w);
        if (w == 16 && nc == 16 && 16 * kko < ((int64_t)1 << 31)) { /* whole panels */
            if (nk_isa_level() == NK_ISA_AVX512)
                nk_shift_flip16_avx512(cx, c0, p0 / kk, p0 % kk, kc, d);
            else
                nk_shift_flip16_avx2(cx, c0, p0 / kk, p0 % kk, kc, d);
            continue;
        }
        int64_t k = p0 / kk, t = p0 % kk;
        for (int64_t q = 0; q < kc; q++, d += w) {
            const float *src = cx->w + (k * cx->cig + c0) * kko + nk_shift_flip_tap(cx, t);
            int64_t ii = 0;
            for (; ii < nc; ii++) d[ii] = src[ii * kko];
            for (; ii < w; ii++) d[ii] = 0.0f;
            if (++t == kk) {
                t = 0;
                k++;
            }
        }
    }
}

/* The forward on shape s; flip: w is the original layer's weights (kko
 * taps a kernel), to be flipped and transposed (backward-data; tap: see
 * nk_shift_flip_ctx), else s's own. */
static int nk_shift_fwd(const nk_conv2d_shape *s, const float *x, const float *w, int flip,
                        int64_t kko, const int64_t *tap, const float *bias, float *y,
                        int nthreads, nk_status *status) {
    nk_shift_plan p;
    if (!nk_conv_fwd_shift_ok(s) || !nk_shift_make_plan(s, &p)) return 0;
    const int64_t G = p.G, Np = p.Np, K = p.K, kk = s->kH * s->kW;
    const int64_t nchunk = nk_ceil_div(s->N, p.ipt), ntasks = nchunk * G * p.nch;
    const int nt = nk_conv_threads(s, ntasks, nthreads);

    /* shared: packed weights (per group and depth block, 16-channel
     * panels), offset table, zero-padded bias; per thread: xp and the tile
     * of each of a task's images */
    int64_t ae, per_e;
    size_t ab, ob, bb, per, pb;
    if (nk_mul_i64(G * Np, K, &ae) || nk_bytes(ae, sizeof(float), &ab) ||
        nk_bytes(K, sizeof(int64_t), &ob) || nk_bytes(G * Np, sizeof(float), &bb) ||
        nk_mul_i64(p.ipt, p.xstride + p.tstride, &per_e) ||
        nk_bytes(per_e, sizeof(float), &per)) {
        *status = NK_ERR_OVERFLOW;
        return 1;
    }
    ab = nk_shift_round64(ab);
    ob = nk_shift_round64(ob);
    bb = nk_shift_round64(bb);
    per = nk_shift_round64(per);
    pb = ab + ob + bb;
    char *ws = nk_shift_alloc(pb, per, nt, status);
    if (!ws) return 1;
    float *wpk = (float *)ws;
    int64_t *off = (int64_t *)(ws + ab);
    float *bias_pad = bias ? (float *)(ws + ab + ob) : NULL;
    if (bias_pad)
        for (int64_t g = 0; g < G; g++)
            for (int64_t o = 0; o < Np; o++)
                bias_pad[g * Np + o] = o < p.Cog ? bias[g * p.Cog + o] : 0.0f;
    for (int64_t q = 0; q < K; q++) {
        const int64_t c = q / kk, kh = (q % kk) / s->kW, kw = q % s->kW;
        off[q] = p.strided ? (c * s->kH + kh) * p.PL + kw * s->dil_w
                           : c * p.PL + kh * s->dil_h * p.Wx + kw * s->dil_w;
    }
    char *pws = ws + pb;
#pragma omp parallel num_threads(nt)
    {
        char *mine = pws + (size_t)nk_thread_num() * per;
        float *xp = (float *)mine, *tile = xp + p.ipt * p.xstride;
        /* the weights' panels, by (group, depth block), before any task */
#pragma omp for schedule(static)
        for (int64_t u = 0; u < G * p.nkb; u++) {
            const int64_t g = u / p.nkb, p0 = (u % p.nkb) * p.kcb, kc = nk_min_i64(p.kcb, K - p0);
            const nk_shift_flip_ctx fx = {w + g * p.Cog * p.Cig * kko, p.Cog, kk, kko, tap};
            const nk_gemm_operand_f32 Wop =
                flip ? (nk_gemm_operand_f32){NULL, 0, 0, nk_shift_pack_flip, &fx, NULL}
                     : (nk_gemm_operand_f32){w + g * p.Cog * K, K, 1, NULL, NULL, NULL};
            nk_gemm_pack_f32(&Wop, 0, p.Cog, p0, kc, NK_GEMM_NR_F32, wpk + g * Np * K + Np * p0);
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t n0 = t / (G * p.nch) * p.ipt, g = (t / p.nch) % G, ch = t % p.nch;
            nk_shift_task(s, &p, x, wpk, off, bias_pad, y, n0, g, ch, xp, tile);
        }
        if (p.stream) _mm_sfence(); /* order the non-temporal stores */
    }
    nk_aligned_free(ws);
    *status = NK_OK;
    return 1;
}
#endif

int nk_conv_fwd_shift_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                          const float *bias, float *y, int nthreads, nk_status *status) {
#if NK_X86_DISPATCH
    return nk_shift_fwd(s, x, w, 0, 0, NULL, bias, y, nthreads, status);
#else
    (void)s; (void)x; (void)w; (void)bias; (void)y; (void)nthreads; (void)status;
    return 0;
#endif
}

int nk_conv_bwd_data_shift_f32(const nk_conv2d_shape *t, const float *dy, const float *w,
                               int64_t kko, const int64_t *tap, float *dx, int nthreads,
                               nk_status *status) {
#if NK_X86_DISPATCH
    return nk_shift_fwd(t, dy, w, 1, kko, tap, NULL, dx, nthreads, status);
#else
    (void)t; (void)dy; (void)w; (void)kko; (void)tap; (void)dx; (void)nthreads; (void)status;
    return 0;
#endif
}

/* ---- weight gradient (stride_h any, stride_w 1 or 2) ----
 *
 * dW[o, t] = sum over images n and output pixels (oh, ow) of
 *            dy[n, o, oh, ow] * xp_n[off[t] + oh*sh*Wp + ow*sw]
 * with xp_n the zero-padded image (all the rows any tap reads:
 * Hp = (OH-1)*sh + dh*(kH-1) + 1, row length Wp likewise) and
 * off[t] = c*Hp*Wp + kh*dh*Wp + kw*dw.  The micro-kernel
 * (nk_conv_ukr_dw_impl.h) computes a tile of dW^T -- 6 taps x 64 channels
 * at the AVX-512 level, 6 x 16 at AVX2, the same FMA chains and so the same
 * bits -- over a band of output rows: six rows of xp are broadcast in place
 * (every second value when sw = 2), and dy, transposed band by band to
 * pixel-major rows of Np channels (16 x 16 or 8 x 8 register transposes),
 * is the vector operand.  The band (about NK_SHIFT_DW_BAND floats of dy^T) stays
 * in L2 while every tap block runs over it; a whole large image would not
 * (the 7x7/s2 stem: 3.2 MB of dy^T per image).  Only real output pixels
 * enter the sums, so the padding columns of xp never meet a zero of dy (an
 * Inf or NaN in x reaches exactly the dW entries it reaches in the
 * reference).
 *
 * Order: every dW element is one FMA chain over the images of a fixed batch
 * chunk (in order) and their pixels (in order; a band boundary only stores
 * and reloads the accumulators); the chunks' partial sums are added in
 * chunk order.  The chunks and the tap blocks depend on the shape only, so
 * the bits do not depend on the thread count.  This path replaces an
 * im2col-transpose packing that took 12-18% of a 3x3 layer's backward, and
 * for the stem the im2col panels themselves (1.8 M floats per image).
 * Measured against that im2col path at the AVX2 level (1 thread, min of 4
 * alternations): 1.17-1.21x on the 56x56 3x3 layers, 1.34x on the stem,
 * 1.39x on dilation 4, 2.2x on LeNet c2, 1.05x / 1.01x on the 28-wide
 * layers, and 0.96x on res3x3-14 (both run at ~100-106 GFLOP/s, ~78% of
 * the AVX2 peak; there the im2col GEMM is as fast). */
#define NK_SHIFT_DW_PART ((int64_t)1 << 20)
#define NK_SHIFT_DW_BAND ((int64_t)1 << 16)

typedef struct nk_shift_dw_plan {
    int64_t G, Cig, Cog, kk, Kcol, Kp, Np, Wp, Hp, PL, P, RB;
    int64_t nbc, ipc, ntb, TB;
} nk_shift_dw_plan;

static int nk_shift_dw_make_plan(const nk_conv2d_shape *s, nk_shift_dw_plan *p) {
    const int64_t sh = s->stride_h, sw = s->stride_w;
    if (sh < 1 || sw < 1 || sw > 2) return 0;
    if (sh == 1 && sw == 1 && s->kH == 1 && s->kW == 1) return 0; /* a plain GEMM already */
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    if (s->N < 1 || Cog < 16 || Cig < 1 || s->OH < 1 || s->OW < 1) return 0;
    const int64_t big = (int64_t)1 << 30;
    if (s->OW >= big || s->OH >= big || sh >= big || s->dil_w * s->kW >= big ||
        s->dil_h * s->kH >= big || Cig >= big || Cog >= big || s->kH * s->kW >= big)
        return 0;
    const int64_t Wp = (s->OW - 1) * sw + s->dil_w * (s->kW - 1) + 1;
    const int64_t Hp = (s->OH - 1) * sh + s->dil_h * (s->kH - 1) + 1;
    const int64_t Np = nk_shift_round(Cog, 16), kk = s->kH * s->kW;
    /* bands of RB output rows: RB*OW*min(Np, 64) ~ NK_SHIFT_DW_BAND */
    const int64_t RB =
        nk_max_i64(1, nk_min_i64(s->OH, NK_SHIFT_DW_BAND / (s->OW * nk_min_i64(Np, 64))));
    int64_t PL, xe, P, de, Kcol, part;
    if (nk_mul_i64(Hp, Wp, &PL) || nk_mul_i64(Cig, PL, &xe) || nk_mul_i64(s->OH, s->OW, &P) ||
        nk_mul_i64(RB * s->OW, Np, &de) || nk_mul_i64(Cig, kk, &Kcol) || Kcol >= big)
        return 0;
    if (xe > NK_SHIFT_MAX_ELEMS || de > NK_SHIFT_MAX_ELEMS) return 0;
    const int64_t Kp = nk_shift_round(Kcol, 6);
    if (nk_mul_i64(G * Kp, Np, &part) || part > NK_SHIFT_MAX_ELEMS) return 0;
    /* batch chunks (each a partial dW^T), then tap blocks if still < 4 tasks */
    int64_t nbc = nk_min_i64(s->N, 4);
    while (nbc > 1 && nbc * part > NK_SHIFT_DW_PART) nbc--;
    const int64_t ipc = nk_ceil_div(s->N, nbc);
    nbc = nk_ceil_div(s->N, ipc);
    int64_t ntb = 1;
    if (G * nbc < 4) ntb = nk_min_i64(nk_ceil_div(4, G * nbc), Kp / 6);
    const int64_t TB = nk_shift_round(nk_ceil_div(Kp, ntb), 6);
    ntb = nk_ceil_div(Kp, TB);
    /* A task revisits each tile of its partial dW^T (TB x Np) once per
     * image and band.  When that slice outgrows a core's L2 share (> 256 K
     * floats) and a visit is short (a band of < 100 pixels), the revisits
     * dominate and the im2col GEMM is faster.  Measured, 1 thread, AVX-512
     * (AVX2): the 512-channel 7x7 layer (590 K floats a task, 49 pixels)
     * 12.2 vs 16.3 ms (16.8 vs 21.1), the 256 -> 512 14 -> 7 downsample
     * (295 K) 5.5 vs 6.5 (8.2 vs 9.9), 384 channels on 7x7 (331 K) 5.6 vs
     * 6.7; at 147 K floats (256 channels on 7x7, on 10x10) or 196+ pixels
     * (512 channels on 14x14) the two are within 5%, and below that this
     * path wins (128 channels on 7x7: 0.81 vs 0.99 ms). */
    if (RB * s->OW < 100 && TB * Np > ((int64_t)1 << 18)) return 0;
    p->G = G; p->Cig = Cig; p->Cog = Cog; p->kk = kk; p->Kcol = Kcol; p->Kp = Kp;
    p->Np = Np; p->Wp = Wp; p->Hp = Hp; p->PL = PL; p->P = P;
    p->RB = RB;
    p->nbc = nbc; p->ipc = ipc; p->ntb = ntb; p->TB = TB;
    return 1;
}

#if NK_X86_DISPATCH
/* dyT <- dy[o][q] transposed, for the Cog channels of one (image, group)
 * and the P pixels q of a band (channel o at dy + o*ld): blocks of 64
 * channels (the last one Np % 64 if not 0), block jc at dyT + jc*P holding
 * rows q of its width; zero past Cog.  One block is what a micro-kernel
 * call streams, so it is contiguous. */
NK_TARGET_AVX512 static void nk_shift_dy_t(const float *dy, int64_t ld, int64_t Cog, int64_t P,
                                           int64_t Np, float *dyT) {
    __m512 v[16];
    for (int64_t q0 = 0; q0 < P; q0 += 16) {
        const int64_t nq = nk_min_i64(16, P - q0);
        const __mmask16 mk = (__mmask16)((1u << nq) - 1u);
        for (int64_t o0 = 0; o0 < Np; o0 += 16) {
            for (int64_t i = 0; i < 16; i++)
                v[i] = o0 + i < Cog ? _mm512_maskz_loadu_ps(mk, dy + (o0 + i) * ld + q0)
                                    : _mm512_setzero_ps();
            nk_tr16_avx512(v);
            const int64_t jc = o0 & ~(int64_t)63, wb = nk_min_i64(64, Np - jc);
            float *d = dyT + jc * P + q0 * wb + (o0 - jc);
            for (int64_t j = 0; j < nq; j++) _mm512_store_ps(d + j * wb, v[j]);
        }
    }
}

/* The same at the AVX2 level (8 x 8 register transposes). */
NK_TARGET_AVX2 static void nk_shift_dy_t_avx2(const float *dy, int64_t ld, int64_t Cog, int64_t P,
                                              int64_t Np, float *dyT) {
    __m256 v[8];
    for (int64_t q0 = 0; q0 < P; q0 += 8) {
        const int64_t nq = nk_min_i64(8, P - q0);
        for (int64_t o0 = 0; o0 < Np; o0 += 8) {
            for (int64_t i = 0; i < 8; i++) {
                if (o0 + i >= Cog) {
                    v[i] = _mm256_setzero_ps();
                } else if (nq == 8) {
                    v[i] = _mm256_loadu_ps(dy + (o0 + i) * ld + q0);
                } else {
                    float t[8] = {0};
                    memcpy(t, dy + (o0 + i) * ld + q0, (size_t)nq * sizeof(float));
                    v[i] = _mm256_loadu_ps(t);
                }
            }
            nk_tr8_avx2(v);
            const int64_t jc = o0 & ~(int64_t)63, wb = nk_min_i64(64, Np - jc);
            float *d = dyT + jc * P + q0 * wb + (o0 - jc);
            for (int64_t j = 0; j < nq; j++) _mm256_store_ps(d + j * wb, v[j]);
        }
    }
}

/* dW rows d + o*ld, o < no (<= 64), columns [0, nj) (nj <= 16; AVX2: <= 8)
 * <- rows j < nj of a block of dW^T (ldc channels a row at c), by 16 x 16
 * (8 x 8) register transposes.  Used for a finished tile of one batch
 * chunk, stored from L1 right after the micro-kernel instead of by a
 * memory-bound pass over all of dW^T afterwards (res3x3-14's dW, 2.4 MB of
 * it: ~3% faster), and for the chunks' sums below. */
NK_TARGET_AVX512 static void nk_shift_dw_put_avx512(const float *c, int64_t ldc, int64_t nj,
                                                    int64_t no, float *d, int64_t ld) {
    const __mmask16 mk = (__mmask16)((1u << nj) - 1u);
    __m512 v[16];
    for (int64_t o0 = 0; o0 < no; o0 += 16) {
        for (int64_t j = 0; j < 16; j++)
            v[j] = j < nj ? _mm512_load_ps(c + j * ldc + o0) : _mm512_setzero_ps();
        nk_tr16_avx512(v);
        for (int64_t o = 0; o < nk_min_i64(16, no - o0); o++)
            _mm512_mask_storeu_ps(d + (o0 + o) * ld, mk, v[o]);
    }
}

/* The same at the AVX2 level (8 x 8 transposes). */
NK_TARGET_AVX2 static void nk_shift_dw_put_avx2(const float *c, int64_t ldc, int64_t nj,
                                                int64_t no, float *d, int64_t ld) {
    const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nj),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 v[8];
    for (int64_t o0 = 0; o0 < no; o0 += 8) {
        for (int64_t j = 0; j < 8; j++)
            v[j] = j < nj ? _mm256_load_ps(c + j * ldc + o0) : _mm256_setzero_ps();
        nk_tr8_avx2(v);
        for (int64_t o = 0; o < nk_min_i64(8, no - o0); o++)
            _mm256_maskstore_ps(d + (o0 + o) * ld, mk, v[o]);
    }
}

/* dW[g, :, t0:t0+nt] (nt <= 64 taps) <- the sum, in chunk order, of the
 * chunks' partial dW^T (rows t < Kp of Np channels; chunk bc at
 * part + bc*G*Kp*Np), a block of VL taps x VL channels at a time (VL = 16,
 * AVX2: 8): the tap block's rows are read once, contiguously, summed into a
 * small buffer and put into dW.  Every element is added in the order of the
 * scalar loop it replaces. */
static void nk_shift_dw_sum(const nk_shift_dw_plan *p, const float *part, int64_t g, int64_t t0,
                            int64_t nt, int wide, float *dw) {
    const int64_t Np = p->Np, Kcol = p->Kcol, Cog = p->Cog, cs = p->G * p->Kp * Np;
    const int64_t VL = wide ? 16 : 8;
    _Alignas(64) float blk[16 * 16];
    for (int64_t o0 = 0; o0 < Cog; o0 += VL)
        for (int64_t t1 = t0; t1 < t0 + nt; t1 += VL) {
            const int64_t n = nk_min_i64(VL, t0 + nt - t1);
            for (int64_t i = 0; i < n; i++) {
                const float *src = part + (g * p->Kp + t1 + i) * Np + o0;
                float *b = blk + i * VL;
                for (int64_t l = 0; l < VL; l++) b[l] = src[l];
                for (int64_t bc = 1; bc < p->nbc; bc++)
                    for (int64_t l = 0; l < VL; l++) b[l] += src[bc * cs + l];
            }
            float *d = dw + (g * Cog + o0) * Kcol + t1;
            if (wide) nk_shift_dw_put_avx512(blk, VL, n, nk_min_i64(VL, Cog - o0), d, Kcol);
            else nk_shift_dw_put_avx2(blk, VL, n, nk_min_i64(VL, Cog - o0), d, Kcol);
        }
}

static const nk_conv_dw_ukr_fn nk_shift_dw_ukr[2][5] = {
    {NULL, nk_conv_ukr_f32_6x1v_dw_avx512, nk_conv_ukr_f32_6x2v_dw_avx512,
     nk_conv_ukr_f32_6x3v_dw_avx512, nk_conv_ukr_f32_6x4v_dw_avx512},
    {NULL, nk_conv_ukr_f32_6x1v_dw_s2_avx512, nk_conv_ukr_f32_6x2v_dw_s2_avx512,
     nk_conv_ukr_f32_6x3v_dw_s2_avx512, nk_conv_ukr_f32_6x4v_dw_s2_avx512}};

/* One task: rows [t0, t1) of the partial dW^T (Kp x Np) of batch chunk bc,
 * group g. */
static void nk_shift_dw_task(const nk_conv2d_shape *s, const nk_shift_dw_plan *p,
                             const float *dy, const float *x, const int64_t *off, int64_t bc,
                             int64_t g, int64_t tb, float *part, float *xp, float *dyT,
                             float *dw) {
    const int64_t t0 = tb * p->TB, t1 = nk_min_i64(p->Kp, t0 + p->TB);
    const int64_t c0 = t0 / p->kk, c1 = nk_min_i64(p->Cig, nk_ceil_div(t1, p->kk));
    const int64_t n0 = bc * p->ipc, n1 = nk_min_i64(s->N, n0 + p->ipc), Np = p->Np;
    float *pg = part + (bc * p->G + g) * p->Kp * Np;
    for (int64_t n = n0; n < n1; n++) {
        nk_shift_fill(s, x + ((n * s->C_in + g * p->Cig + c0) * s->H) * s->W, c1 - c0, 0,
                      p->Hp, p->Wp, xp);
        /* a band of dy, transposed, stays in L2 while every tap block runs
         * over it */
        const int64_t rs = s->stride_h * p->Wp, OW = s->OW;
        const int wide = nk_isa_level() == NK_ISA_AVX512;
        const nk_conv_dw_ukr_fn *ukr = nk_shift_dw_ukr[s->stride_w - 1];
        const nk_conv_dw_ukr_fn ukr2 =
            s->stride_w == 1 ? nk_conv_ukr_f32_6x16_dw_avx2 : nk_conv_ukr_f32_6x16_dw_s2_avx2;
        for (int64_t r0 = 0; r0 < s->OH; r0 += p->RB) {
            const int64_t nr = nk_min_i64(p->RB, s->OH - r0), bp = nr * OW;
            const float *dyb = dy + (n * s->C_out + g * p->Cog) * p->P + r0 * OW;
            if (wide) nk_shift_dy_t(dyb, p->P, p->Cog, bp, Np, dyT);
            else nk_shift_dy_t_avx2(dyb, p->P, p->Cog, bp, Np, dyT);
            for (int64_t jc = 0; jc < Np; jc += 64) {
                const int64_t wb = nk_min_i64(64, Np - jc);
                /* AVX-512: the whole block per call; AVX2: 16 channels */
                for (int64_t sb = 0; sb < wb; sb += wide ? wb : 16) {
                    for (int64_t tq = t0; tq < t1; tq += 6) {
                        /* rows past the last tap repeat it (computed, never read) */
                        const float *arow[6];
                        for (int j = 0; j < 6; j++)
                            arow[j] = xp - c0 * p->PL + off[nk_min_i64(tq + j, p->Kcol - 1)] +
                                      r0 * rs;
                        float *c = pg + tq * Np + jc + sb;
                        const int first = n == n0 && r0 == 0;
                        if (wide) ukr[wb / 16](nr, OW, rs, arow, dyT + jc * bp, wb, c, Np, first);
                        else ukr2(nr, OW, rs, arow, dyT + jc * bp + sb, wb, c, Np, first);
                        if (p->nbc == 1 && n == n1 - 1 && r0 + nr == s->OH && tq < p->Kcol &&
                            jc + sb < p->Cog) { /* final: straight into dW */
                            const int64_t nj = nk_min_i64(6, p->Kcol - tq);
                            const int64_t no = nk_min_i64(wide ? wb : 16, p->Cog - jc - sb);
                            float *d = dw + (g * p->Cog + jc + sb) * p->Kcol + tq;
                            if (wide) nk_shift_dw_put_avx512(c, Np, nj, no, d, p->Kcol);
                            else nk_shift_dw_put_avx2(c, Np, nj, no, d, p->Kcol);
                        }
                    }
                }
            }
        }
    }
}
#endif

int nk_conv_bwd_weight_shift_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                 float *dw, int nthreads, nk_status *status) {
#if NK_X86_DISPATCH
    nk_shift_dw_plan p;
    if (!nk_conv_bwd_weight_shift_ok(s) || !nk_shift_dw_make_plan(s, &p)) return 0;
    const int64_t G = p.G, Np = p.Np, Kp = p.Kp, Kcol = p.Kcol;
    const int64_t ntasks = p.nbc * G * p.ntb;
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    /* shared: the chunks' partial dW^T and the tap offsets; per thread: xp
     * and dyT */
    int64_t pe = p.nbc * G * Kp * Np, xe = p.Cig * p.PL + 16, de = p.RB * s->OW * Np;
    size_t pb, ob, per;
    if (nk_bytes(pe, sizeof(float), &pb) || nk_bytes(Kcol, sizeof(int64_t), &ob) ||
        nk_bytes(nk_shift_round(xe, 16) + de, sizeof(float), &per)) {
        *status = NK_ERR_OVERFLOW;
        return 1;
    }
    pb = nk_shift_round64(pb);
    ob = nk_shift_round64(ob);
    per = nk_shift_round64(per);
    char *ws = nk_shift_alloc(pb + ob, per, nt, status);
    if (!ws) return 1;
    float *part = (float *)ws;
    int64_t *off = (int64_t *)(ws + pb);
    pb += ob; /* the threads' buffers follow */
    for (int64_t t = 0; t < Kcol; t++) {
        const int64_t c = t / p.kk, kh = (t % p.kk) / s->kW, kw = t % s->kW;
        off[t] = c * p.PL + kh * s->dil_h * p.Wp + kw * s->dil_w;
    }
#pragma omp parallel num_threads(nt)
    {
        char *mine = ws + pb + (size_t)nk_thread_num() * per;
        float *xp = (float *)mine, *dyT = xp + nk_shift_round(xe, 16);
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t bc = t / (G * p.ntb), g = (t / p.ntb) % G, tb = t % p.ntb;
            nk_shift_dw_task(s, &p, dy, x, off, bc, g, tb, part, xp, dyT, dw);
        }
        /* several chunks: dW[g, o, t] = their partial sums, in chunk order
         * (the partials are dW^T), by blocks of 64 taps; one chunk's tasks
         * stored dW themselves */
        const int64_t ntb64 = p.nbc > 1 ? nk_ceil_div(Kcol, 64) : 0;
        const int wide = nk_isa_level() == NK_ISA_AVX512;
#pragma omp for schedule(static)
        for (int64_t gb = 0; gb < G * ntb64; gb++) {
            const int64_t g = gb / ntb64, t0 = (gb % ntb64) * 64, n = nk_min_i64(64, Kcol - t0);
            nk_shift_dw_sum(&p, part, g, t0, n, wide, dw);
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
    return 1;
#else
    (void)s; (void)dy; (void)x; (void)dw; (void)nthreads; (void)status;
    return 0;
#endif
}

int nk_conv_bwd_weight_shift_ok(const nk_conv2d_shape *s) {
    nk_shift_dw_plan p;
#if NK_X86_DISPATCH
    return nk_shift_enabled() && nk_isa_level() >= NK_ISA_AVX2 && nk_shift_dw_make_plan(s, &p);
#else
    (void)s; (void)p;
    return 0;
#endif
}
