/* nk_conv_direct_avx2.c -- direct float32 forward convolution for small
 * layers (few output channels and a short reduction: LeNet's c1/c2), AVX2.
 *
 * Why: with Cog <= 16 and Cig*kH*kW <= 256, implicit GEMM spends more time
 * building im2col panels than multiplying (each packed value feeds only
 * Cog*2 flops).  Here nothing is packed per pixel: the register tile is
 * 16 output channels x 6 output pixels (12 accumulators; 8 x 12 for
 * Cog <= 8), and every tap does 2 (1) weight loads, 6 (12) broadcasts of
 * input values read straight from a zero-padded copy of the image, and
 * 12 FMAs -- the same instruction mix as the GEMM micro-kernel.  For
 * Cog <= 6 at stride_w 1 the tile is 6 channels x 16 pixels of a row (2
 * input loads, 6 weight broadcasts), for depths up to NK_DIRECT_MAX_K_PX
 * (a decoder's last layer, e.g. 256 channels x 3x3 -> 3: 2.7x the im2col
 * GEMM, whose panels would be 3 rows tall, at the AVX2 level, 3.4x at
 * AVX-512).  At the AVX-512 level 16 x 12 (nk_conv_direct_avx512.c) and
 * Cog x rows x 16 pixels (nk_conv_direct_px_avx512.c; also the 8 x 12
 * kernel's layers at stride_w 1, as 8 x 3 x 16: the 8-channel groups of
 * ResNeXt, 8 x 256 x 28 x 28 in 32 groups 5.4 -> 2.2 ms at 1 thread)
 * replace them with the same bits.
 *
 * Memory: per thread one padded image group, Cig * Hp * Wp (+ slack)
 * floats, Hp = (OH-1)*sh + (kH-1)*dh + 1 (Wp likewise), and a 6 x 16 tile;
 * plus the weights repacked once, Cout rounded up to 16 x Cig*kH*kW.
 * Tasks are (image, group) pairs; each output value is one fixed sum, so
 * the result does not depend on the thread count.
 */
#include <string.h>
#include "nk_conv.h"
#include "nk_runtime.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define NK_DIRECT_MAX_K 256
#define NK_DIRECT_MAX_COG 16
#define NK_DIRECT_MAX_COG_STRIDED 64

int nk_conv_direct_ok(const nk_conv2d_shape *s) {
    const int64_t Cig = s->C_in / s->groups, Cog = s->C_out / s->groups;
    const int64_t K = Cig * s->kH * s->kW;
    const int px = s->stride_w == 1 && Cog <= 6;
    /* strided layers with a short reduction (the 7x7/s2 stem) also for more
     * output channels, in blocks of 16: gathers would cost more there */
    const int64_t max_cog = s->stride_w > 1 ? NK_DIRECT_MAX_COG_STRIDED : NK_DIRECT_MAX_COG;
    if (Cog > max_cog || K > (px ? NK_DIRECT_MAX_K_PX : NK_DIRECT_MAX_K)) return 0;
    if (s->OW < 6) return 0;
    /* padded-image bound: keep the per-thread copy modest */
    const int64_t Hp = (s->OH - 1) * s->stride_h + (s->kH - 1) * s->dil_h + 1;
    const int64_t Wp = (s->OW - 1) * s->stride_w + (s->kW - 1) * s->dil_w + 1;
    if (Hp > ((int64_t)1 << 14) || Wp > ((int64_t)1 << 14) || Cig * Hp * Wp > ((int64_t)1 << 24))
        return 0;
    return 1;
}

/* 9-16 channels a group at stride_w 1, AVX-512 level (the 16 x 12 kernel's
 * layers, "kind 2" below): two blocks of 8 channels x 3 rows x 16 pixels
 * when 16-pixel tiles compute fewer pixels a row than 12-pixel ones and
 * the short-row tiles do not apply.  Measured, 1 thread, 16 -> 16 channels
 * 3x3 (ResNeXt groups): 14 wide 2.90 -> 1.91 ms, 28 wide 3.78 -> 3.41; but
 * 12 wide 1.50 -> 1.72 and 56 wide 6.81 -> 7.33, hence the rule. */
static int nk_conv_direct_px16(const nk_conv2d_shape *s) {
    const int64_t Cog = s->C_out / s->groups;
    /* (strided layers with >= 12 channels take the shifted rows first) */
    return Cog > 8 && Cog <= 16 && s->stride_w == 1 && !nk_conv_fwd_direct_rows_ok(s) &&
           16 * nk_ceil_div(s->OW, 16) < 12 * nk_ceil_div(s->OW, 12) &&
           !(s->stride_h > 1 && nk_conv_fwd_shift_ok(s));
}

int nk_conv_fwd_direct_px_ok(const nk_conv2d_shape *s) {
#if NK_X86_DISPATCH
    const int64_t Cog = s->C_out / s->groups;
    return nk_isa_level() == NK_ISA_AVX512 && nk_conv_direct_ok(s) &&
           ((s->stride_w == 1 && (Cog <= 8 || nk_conv_direct_px16(s))) ||
            (s->stride_w == 2 && Cog <= 8));
#else
    (void)s;
    return 0;
#endif
}

int nk_conv_fwd_direct_rows_ok(const nk_conv2d_shape *s) {
#if NK_X86_DISPATCH
    const int64_t Cog = s->C_out / s->groups, RW = nk_conv_direct_rows_avx512(s->OW);
    const int strided = s->stride_h > 1 || s->stride_w > 1;
    /* the 16-channel kernel (Cog > 8, or Cog > 6 with stride_w > 1) */
    return nk_isa_level() == NK_ISA_AVX512 && nk_conv_direct_ok(s) && s->stride_w == 1 &&
           Cog > 8 && RW > 0 && s->OH >= RW && !(strided && nk_conv_fwd_shift_ok(s));
#else
    (void)s;
    return 0;
#endif
}

#if NK_X86_DISPATCH
#include <immintrin.h>

/* The zero-padded image group split by column parity, for column stride 2:
 * xp[c][e][r][q] = x[c][r - ph][2q + e - pw] (0 outside the image), rows of
 * Wq values (a multiple of 16), Hp rows a plane.  Each padded row is built
 * in row (2*Wq floats) and split 32 values at a time by two permutes. */
__attribute__((target("avx512f,avx2,fma"))) static void nk_direct_pad_split(
    const nk_conv2d_shape *s, const float *xg, int64_t Cig, int64_t Hp, int64_t Wq,
    float *row, float *xp) {
    const int64_t HW = s->H * s->W, W = s->W, pw = s->pad_w, Wr = 2 * Wq;
    const int64_t j0 = nk_min_i64(Wr, nk_max_i64(0, pw));
    const int64_t j1 = nk_min_i64(Wr, nk_max_i64(j0, W + pw));
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    memset(row, 0, (size_t)Wr * sizeof(float));
    for (int64_t c = 0; c < Cig; c++)
        for (int64_t r = 0; r < Hp; r++) {
            float *de = xp + (c * 2 * Hp + r) * Wq, *dd = de + Hp * Wq;
            const int64_t ih = r - s->pad_h;
            if (ih < 0 || ih >= s->H || j1 <= j0) {
                memset(de, 0, (size_t)Wq * sizeof(float));
                memset(dd, 0, (size_t)Wq * sizeof(float));
                continue;
            }
            /* row[j] = x[ih][j - pw]; the zeros outside [j0, j1) stay */
            memcpy(row + j0, xg + c * HW + ih * W + (j0 - pw),
                   (size_t)(j1 - j0) * sizeof(float));
            for (int64_t q = 0; q < Wq; q += 16) {
                const __m512 a = _mm512_loadu_ps(row + 2 * q);
                const __m512 b = _mm512_loadu_ps(row + 2 * q + 16);
                _mm512_storeu_ps(de + q, _mm512_permutex2var_ps(a, ev, b));
                _mm512_storeu_ps(dd + q, _mm512_permutex2var_ps(a, od, b));
            }
        }
    memset(xp + Cig * 2 * Hp * Wq, 0, 16 * sizeof(float));
}

/* 16 channels x 6 pixels.  xr: padded input at (row of oh, column of the
 * first pixel), wp: [c][kh][kw][16]; out: tile[6][16]. */
NK_TARGET_AVX2 static void nk_direct_16x6(const float *xr, int64_t Wp, int64_t HWp, int64_t sw,
                                          int64_t dh, int64_t dw, int64_t Cig, int64_t kH,
                                          int64_t kW, const float *wp, const float *bias,
                                          float *out) {
    __m256 a00 = _mm256_loadu_ps(bias), a01 = _mm256_loadu_ps(bias + 8);
    __m256 a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
    __m256 a40 = a00, a41 = a01, a50 = a00, a51 = a01;
    const int64_t s1 = sw, s2 = 2 * sw, s3 = 3 * sw, s4 = 4 * sw, s5 = 5 * sw;
    for (int64_t c = 0; c < Cig; c++) {
        for (int64_t kh = 0; kh < kH; kh++) {
            const float *xk = xr + c * HWp + kh * dh * Wp;
            for (int64_t kw = 0; kw < kW; kw++, xk += dw, wp += 16) {
                const __m256 w0 = _mm256_loadu_ps(wp), w1 = _mm256_loadu_ps(wp + 8);
                __m256 b = _mm256_broadcast_ss(xk);
                a00 = _mm256_fmadd_ps(w0, b, a00); a01 = _mm256_fmadd_ps(w1, b, a01);
                b = _mm256_broadcast_ss(xk + s1);
                a10 = _mm256_fmadd_ps(w0, b, a10); a11 = _mm256_fmadd_ps(w1, b, a11);
                b = _mm256_broadcast_ss(xk + s2);
                a20 = _mm256_fmadd_ps(w0, b, a20); a21 = _mm256_fmadd_ps(w1, b, a21);
                b = _mm256_broadcast_ss(xk + s3);
                a30 = _mm256_fmadd_ps(w0, b, a30); a31 = _mm256_fmadd_ps(w1, b, a31);
                b = _mm256_broadcast_ss(xk + s4);
                a40 = _mm256_fmadd_ps(w0, b, a40); a41 = _mm256_fmadd_ps(w1, b, a41);
                b = _mm256_broadcast_ss(xk + s5);
                a50 = _mm256_fmadd_ps(w0, b, a50); a51 = _mm256_fmadd_ps(w1, b, a51);
            }
        }
    }
    _mm256_storeu_ps(out + 0, a00); _mm256_storeu_ps(out + 8, a01);
    _mm256_storeu_ps(out + 16, a10); _mm256_storeu_ps(out + 24, a11);
    _mm256_storeu_ps(out + 32, a20); _mm256_storeu_ps(out + 40, a21);
    _mm256_storeu_ps(out + 48, a30); _mm256_storeu_ps(out + 56, a31);
    _mm256_storeu_ps(out + 64, a40); _mm256_storeu_ps(out + 72, a41);
    _mm256_storeu_ps(out + 80, a50); _mm256_storeu_ps(out + 88, a51);
}

/* 8 channels x 12 pixels; out: tile[12][8]. */
NK_TARGET_AVX2 static void nk_direct_8x12(const float *xr, int64_t Wp, int64_t HWp, int64_t sw,
                                          int64_t dh, int64_t dw, int64_t Cig, int64_t kH,
                                          int64_t kW, const float *wp, const float *bias,
                                          float *out) {
    const __m256 b0 = _mm256_loadu_ps(bias);
    __m256 c0 = b0, c1 = b0, c2 = b0, c3 = b0, c4 = b0, c5 = b0;
    __m256 c6 = b0, c7 = b0, c8 = b0, c9 = b0, c10 = b0, c11 = b0;
    for (int64_t c = 0; c < Cig; c++) {
        for (int64_t kh = 0; kh < kH; kh++) {
            const float *xk = xr + c * HWp + kh * dh * Wp;
            for (int64_t kw = 0; kw < kW; kw++, xk += dw, wp += 8) {
                const __m256 w0 = _mm256_loadu_ps(wp);
#define NK_DIRECT_STEP(acc, i) acc = _mm256_fmadd_ps(w0, _mm256_broadcast_ss(xk + (i) * sw), acc)
                NK_DIRECT_STEP(c0, 0); NK_DIRECT_STEP(c1, 1); NK_DIRECT_STEP(c2, 2);
                NK_DIRECT_STEP(c3, 3); NK_DIRECT_STEP(c4, 4); NK_DIRECT_STEP(c5, 5);
                NK_DIRECT_STEP(c6, 6); NK_DIRECT_STEP(c7, 7); NK_DIRECT_STEP(c8, 8);
                NK_DIRECT_STEP(c9, 9); NK_DIRECT_STEP(c10, 10); NK_DIRECT_STEP(c11, 11);
#undef NK_DIRECT_STEP
            }
        }
    }
    const __m256 acc[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    for (int i = 0; i < 12; i++) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

/* Stride-1 variant vectorised over output pixels: 6 channels x 16 pixels
 * (12 accumulators), per tap 2 contiguous input loads, 6 weight broadcasts,
 * 12 FMAs; rows are stored directly (masked at the row end).  xr: padded
 * input at (row of oh, column ow0); wq: [c][kh][kw][6]; bias: [6]. */
NK_TARGET_AVX2 static void nk_direct_px6x16(const float *xr, int64_t Wp, int64_t HWp, int64_t dh,
                                            int64_t dw, int64_t Cig, int64_t kH, int64_t kW,
                                            const float *wq, const float *bias, float *y,
                                            int64_t P, int64_t nch, int64_t np) {
    /* twelve named accumulators: an array would be kept in memory */
    __m256 a00 = _mm256_set1_ps(bias[0]), a01 = a00, a10 = _mm256_set1_ps(bias[1]), a11 = a10;
    __m256 a20 = _mm256_set1_ps(bias[2]), a21 = a20, a30 = _mm256_set1_ps(bias[3]), a31 = a30;
    __m256 a40 = _mm256_set1_ps(bias[4]), a41 = a40, a50 = _mm256_set1_ps(bias[5]), a51 = a50;
    for (int64_t c = 0; c < Cig; c++) {
        for (int64_t kh = 0; kh < kH; kh++) {
            const float *xk = xr + c * HWp + kh * dh * Wp;
            for (int64_t kw = 0; kw < kW; kw++, xk += dw, wq += 6) {
                const __m256 x0 = _mm256_loadu_ps(xk), x1 = _mm256_loadu_ps(xk + 8);
                __m256 wv = _mm256_broadcast_ss(wq);
                a00 = _mm256_fmadd_ps(wv, x0, a00); a01 = _mm256_fmadd_ps(wv, x1, a01);
                wv = _mm256_broadcast_ss(wq + 1);
                a10 = _mm256_fmadd_ps(wv, x0, a10); a11 = _mm256_fmadd_ps(wv, x1, a11);
                wv = _mm256_broadcast_ss(wq + 2);
                a20 = _mm256_fmadd_ps(wv, x0, a20); a21 = _mm256_fmadd_ps(wv, x1, a21);
                wv = _mm256_broadcast_ss(wq + 3);
                a30 = _mm256_fmadd_ps(wv, x0, a30); a31 = _mm256_fmadd_ps(wv, x1, a31);
                wv = _mm256_broadcast_ss(wq + 4);
                a40 = _mm256_fmadd_ps(wv, x0, a40); a41 = _mm256_fmadd_ps(wv, x1, a41);
                wv = _mm256_broadcast_ss(wq + 5);
                a50 = _mm256_fmadd_ps(wv, x0, a50); a51 = _mm256_fmadd_ps(wv, x1, a51);
            }
        }
    }
    const __m256 a[6][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)np), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)np - 8), lane);
    for (int64_t o = 0; o < nch; o++) {
        _mm256_maskstore_ps(y + o * P, m0, a[o][0]);
        _mm256_maskstore_ps(y + o * P + 8, m1, a[o][1]);
    }
}

/* Zero-padded copy of one image group: xp[c][r][q] = x[c][r - ph][q - pw]
 * (padding may be negative: the gather form of bwd_data), then `slack`
 * zeros for the reads past the last row. */
static void nk_direct_pad_copy(const nk_conv2d_shape *s, const float *xg, int64_t Cig,
                               int64_t Hp, int64_t Wp, int64_t slack, float *xp) {
    const int64_t HW = s->H * s->W;
    if (s->pad_w == 0 && Wp == s->W) { /* whole rows: one copy per channel */
        const int64_t r0 = nk_min_i64(Hp, nk_max_i64(0, s->pad_h));
        const int64_t r1 = nk_min_i64(Hp, nk_max_i64(r0, s->H + s->pad_h));
        for (int64_t c = 0; c < Cig; c++) {
            float *d = xp + c * Hp * Wp;
            memset(d, 0, (size_t)(r0 * Wp) * sizeof(float));
            memcpy(d + r0 * Wp, xg + c * HW + (r0 - s->pad_h) * Wp,
                   (size_t)((r1 - r0) * Wp) * sizeof(float));
            memset(d + r1 * Wp, 0, (size_t)((Hp - r1) * Wp) * sizeof(float));
        }
        memset(xp + Cig * Hp * Wp, 0, (size_t)slack * sizeof(float));
        return;
    }
    for (int64_t c = 0; c < Cig; c++)
        for (int64_t r = 0; r < Hp; r++) {
            float *d = xp + (c * Hp + r) * Wp;
            const int64_t ih = r - s->pad_h;
            if (ih < 0 || ih >= s->H) {
                memset(d, 0, (size_t)Wp * sizeof(float));
                continue;
            }
            const float *src = xg + c * HW + ih * s->W;
            const int64_t lo = nk_min_i64(Wp, nk_max_i64(0, s->pad_w));
            const int64_t hi = nk_min_i64(Wp, nk_max_i64(lo, s->W + s->pad_w));
            memset(d, 0, (size_t)lo * sizeof(float));
            memcpy(d + lo, src + (lo - s->pad_w), (size_t)(hi - lo) * sizeof(float));
            memset(d + hi, 0, (size_t)(Wp - hi) * sizeof(float));
        }
    memset(xp + Cig * Hp * Wp, 0, (size_t)slack * sizeof(float));
}

int nk_conv_fwd_direct_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                           const float *bias, float *y, int nthreads, nk_status *status) {
    if (nk_isa_active() != NK_ISA_AVX2 || !nk_conv_direct_ok(s)) return 0;
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    const int64_t kk = s->kH * s->kW, K = Cig * kk, P = s->OH * s->OW, HW = s->H * s->W;
    const int64_t sh = s->stride_h, sw = s->stride_w, dh = s->dil_h, dw = s->dil_w;
    /* kernel: 0 = 6 channels x 16 pixels (stride 1, Cog <= 6), 1 = 8 x 12, 2 = 16 x 6 */
    const int kind = (sw == 1 && Cog <= 6) ? 0 : Cog <= 8 ? 1 : 2;
    /* at the AVX-512 level, same bits: kind 2 as 16 x 12, or whole rows of
     * 6-11 pixels (nk_conv_direct_avx512.c); kind 0 as Cog x RM rows x 16
     * pixels (nk_conv_direct_px_avx512.c) */
    const int wide = kind == 2 && nk_isa_level() == NK_ISA_AVX512;
    const int pxw = kind == 0 && nk_isa_level() == NK_ISA_AVX512;
    /* kind 1 at stride_w 1 likewise as 8 channels x 3 rows x 16 pixels */
    const int px8 = kind == 1 && sw == 1 && nk_isa_level() == NK_ISA_AVX512;
    const int rows_ok = wide && nk_conv_fwd_direct_rows_ok(s);
    /* and kind 2 (9-16 channels) at stride_w 1 as two blocks of 8 x 3 x 16
     * when that computes fewer pixels (nk_conv_direct_px16) */
    const int px16 = wide && nk_conv_direct_px16(s);
    /* and kind 1 at stride_w 2 as 8 x 3 x 16 over the padded input split
     * into even and odd columns (Wq values a row, 2 planes a channel):
     * ResNeXt-style 8 x 256 x 56 x 56 in 32 groups of 8, stride 2, 7.8 ->
     * 3.9 ms at 1 thread (torch ~6) */
    const int px8s2 = kind == 1 && sw == 2 && nk_isa_level() == NK_ISA_AVX512;
    const int64_t RM = pxw ? nk_conv_direct_px_rows_avx512(Cog) : px8 || px16 || px8s2 ? 3 : 1;
    const int64_t OCB = kind == 0 ? 6 : kind == 1 ? 8 : 16;
    const int64_t NPIX = kind == 0 ? 16 : kind == 1 ? 12 : wide ? 12 : 6;
    const int64_t NOB = nk_ceil_div(Cog, OCB); /* output-channel blocks (kind 2) */
    const int64_t Hp = (s->OH - 1) * sh + (s->kH - 1) * dh + 1;
    const int64_t Wp = (s->OW - 1) * sw + (s->kW - 1) * dw + 1;
    /* slack: the last pixel block may read up to NPIX-1 strides past a row */
    const int64_t slack = NPIX * sw + 16;
    const int64_t Wq = 16 * nk_ceil_div(16 * nk_ceil_div(s->OW, 16) + (s->kW - 1) * dw / 2 + 1,
                                        16);
    const int64_t xpe = px8s2 ? Cig * 2 * Hp * Wq + 16 + 2 * Wq : Cig * Hp * Wp + slack;
    const int64_t wpe = G * NOB * OCB * K;
    const int64_t ntasks = s->N * G;
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    size_t per = (size_t)((xpe + NPIX * OCB + 16) * (int64_t)sizeof(float) + 63) & ~(size_t)63;
    size_t wbytes = (size_t)((wpe + 2 * NOB * OCB * G) * (int64_t)sizeof(float) + 63) & ~(size_t)63;
    char *ws = nk_aligned_alloc(wbytes + (size_t)nt * per);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return 1;
    }
    /* weights: wp[g][ob][c][kh][kw][OCB] (zero lanes past Cog); bias: [g][ob][OCB] */
    float *wp = (float *)ws, *bp = wp + wpe;
    for (int64_t g = 0; g < G; g++)
        for (int64_t ob = 0; ob < NOB; ob++) {
            float *wo = wp + (g * NOB + ob) * K * OCB, *bo = bp + (g * NOB + ob) * OCB;
            for (int64_t q = 0; q < K; q++)
                for (int64_t l = 0; l < OCB; l++) {
                    const int64_t o = ob * OCB + l;
                    wo[q * OCB + l] = o < Cog ? w[(g * Cog + o) * K + q] : 0.0f;
                }
            for (int64_t l = 0; l < OCB; l++) {
                const int64_t o = ob * OCB + l;
                bo[l] = (bias && o < Cog) ? bias[g * Cog + o] : 0.0f;
            }
        }
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        const int tid = omp_get_thread_num();
#else
        const int tid = 0;
#endif
        float *xp = (float *)(ws + wbytes + (size_t)tid * per);
        float *tile = xp + xpe;
        /* tasks of equal size: contiguous blocks of them per thread (one
         * task at a time, dynamically, had two threads write neighbouring
         * output planes, which share cache lines when P % 16 != 0: the
         * depthwise 8x512x14x14 forward took 0.77 ms at 2 threads, 0.73 at 1) */
#pragma omp for schedule(static)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t n = t / G, g = t % G;
            float *yg = y + (n * s->C_out + g * Cog) * P;
            if (px8s2) {
                nk_direct_pad_split(s, x + (n * s->C_in + g * Cig) * HW, Cig, Hp, Wq,
                                    xp + Cig * 2 * Hp * Wq + 16, xp);
                const float *wg = wp + g * K * OCB, *bg = bp + g * OCB;
                for (int64_t oh0 = 0; oh0 < s->OH; oh0 += RM)
                    for (int64_t ow0 = 0; ow0 < s->OW; ow0 += 16)
                        nk_conv_direct_f32_px8s2_avx512(
                            xp + oh0 * sh * Wq + ow0, sh * Wq, Wq, 2 * Hp * Wq, Hp * Wq, dh, dw,
                            Cig, s->kH, s->kW, wg, bg, yg + oh0 * s->OW + ow0, P, s->OW, Cog,
                            nk_min_i64(RM, s->OH - oh0), nk_min_i64(16, s->OW - ow0));
                continue;
            }
            nk_direct_pad_copy(s, x + (n * s->C_in + g * Cig) * HW, Cig, Hp, Wp, slack, xp);
            if (pxw || px8) { /* kinds 0 and 1 at the AVX-512 level: RM rows x 16 pixels */
                const float *wg = wp + g * K * OCB, *bg = bp + g * OCB;
                for (int64_t oh0 = 0; oh0 < s->OH; oh0 += RM)
                    for (int64_t ow0 = 0; ow0 < s->OW; ow0 += 16)
                        if (pxw)
                            nk_conv_direct_f32_px_avx512(
                                xp + oh0 * sh * Wp + ow0, sh * Wp, Wp, Hp * Wp, dh, dw, Cig,
                                s->kH, s->kW, wg, bg, yg + oh0 * s->OW + ow0, P, s->OW, Cog,
                                nk_min_i64(RM, s->OH - oh0), nk_min_i64(16, s->OW - ow0));
                        else
                            nk_conv_direct_f32_px8_avx512(
                                xp + oh0 * sh * Wp + ow0, sh * Wp, Wp, Hp * Wp, dh, dw, Cig,
                                s->kH, s->kW, wg, bg, yg + oh0 * s->OW + ow0, P, s->OW, Cog,
                                nk_min_i64(RM, s->OH - oh0), nk_min_i64(16, s->OW - ow0), 8);
                continue;
            }
            if (px16) { /* NOB == 1: Cog <= 16 at stride_w 1 */
                const float *wg = wp + g * K * OCB, *bg = bp + g * OCB;
                for (int64_t oh0 = 0; oh0 < s->OH; oh0 += RM)
                    for (int64_t ow0 = 0; ow0 < s->OW; ow0 += 16)
                        for (int64_t o0 = 0; o0 < Cog; o0 += 8)
                            nk_conv_direct_f32_px8_avx512(
                                xp + oh0 * sh * Wp + ow0, sh * Wp, Wp, Hp * Wp, dh, dw, Cig,
                                s->kH, s->kW, wg + o0, bg + o0, yg + o0 * P + oh0 * s->OW + ow0,
                                P, s->OW, nk_min_i64(8, Cog - o0), nk_min_i64(RM, s->OH - oh0),
                                nk_min_i64(16, s->OW - ow0), 16);
                continue;
            }
            /* short rows at the AVX-512 level: whole rows per tile, the
             * rows left over (OH % RW) by the 16 x 12 kernel below */
            const int64_t RW = rows_ok ? nk_conv_direct_rows_avx512(s->OW) : 0;
            const int64_t oh_rows = RW ? s->OH / RW * RW : 0;
            for (int64_t oh = 0; oh < oh_rows; oh += RW)
                for (int64_t ob = 0; ob < NOB; ob++)
                    nk_conv_direct_f32_rows_avx512(
                        xp + oh * sh * Wp, sh * Wp, Wp, Hp * Wp, dh, dw, Cig, s->kH, s->kW,
                        wp + (g * NOB + ob) * K * OCB, bp + (g * NOB + ob) * OCB,
                        yg + ob * OCB * P + oh * s->OW, P, s->OW,
                        nk_min_i64(OCB, Cog - ob * OCB));
            for (int64_t oh = oh_rows; oh < s->OH; oh++) {
                const float *xrow = xp + oh * sh * Wp;
                for (int64_t ob = 0; ob < NOB; ob++) {
                    const float *wg = wp + (g * NOB + ob) * K * OCB, *bg = bp + (g * NOB + ob) * OCB;
                    const int64_t nch = nk_min_i64(OCB, Cog - ob * OCB);
                    float *yb = yg + ob * OCB * P + oh * s->OW;
                    for (int64_t ow0 = 0; ow0 < s->OW; ow0 += NPIX) {
                        const int64_t np = nk_min_i64(NPIX, s->OW - ow0);
                        float *yo = yb + ow0;
                        if (kind == 0) {
                            nk_direct_px6x16(xrow + ow0, Wp, Hp * Wp, dh, dw, Cig, s->kH, s->kW,
                                             wg, bg, yo, P, nch, np);
                            continue;
                        }
                        if (wide) {
                            nk_conv_direct_f32_16x12_avx512(xrow + ow0 * sw, Wp, Hp * Wp, sw, dh,
                                                            dw, Cig, s->kH, s->kW, wg, bg, yo, P,
                                                            nch, np);
                            continue;
                        }
                        if (kind == 2)
                            nk_direct_16x6(xrow + ow0 * sw, Wp, Hp * Wp, sw, dh, dw, Cig, s->kH,
                                           s->kW, wg, bg, tile);
                        else
                            nk_direct_8x12(xrow + ow0 * sw, Wp, Hp * Wp, sw, dh, dw, Cig, s->kH,
                                           s->kW, wg, bg, tile);
                        for (int64_t l = 0; l < nch; l++)
                            for (int64_t i = 0; i < np; i++) yo[l * P + i] = tile[i * OCB + l];
                    }
                }
            }
        }
    }
    nk_aligned_free(ws);
    *status = NK_OK;
    return 1;
}

#else
int nk_conv_fwd_direct_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                           const float *bias, float *y, int nthreads, nk_status *status) {
    (void)s; (void)x; (void)w; (void)bias; (void)y; (void)nthreads; (void)status;
    return 0;
}
#endif

/* ---- direct float32 weight gradient for small stride-1 layers ----------
 * dW[o, c, kh, kw] = sum_n sum_{oh, ow} dy[n, o, oh, ow] * x[n, c, oh - ph + kh*dh, ow - pw + kw*dw]
 * Vectorised over 8 output columns; per (output channel pair, c, kh) the
 * accumulators (2 x kW vectors) run over a whole batch chunk, each step
 * loading 2 dy vectors and kW input vectors (masked loads do the zero
 * padding; rows outside the input are skipped) for 2*kW FMAs.  Lanes are
 * summed at the end in a fixed order.  At the AVX-512 level 4 output
 * channels x 6 taps of 16-pixel partial sums instead (nk_dw_direct_task_avx512
 * below; other last bits than the AVX2 level's).  Tasks: fixed batch chunks
 * (<= 4) x groups; partial sums added in chunk order: bits independent of
 * threads.  Memory: the partial sums, <= 4 * |w| floats; at AVX-512 per
 * thread a padded image group and Cog x taps x 16 floats of lane sums. */
#define NK_DW_MAX_KW 5
#define NK_DW_MAX_NV 64 /* output rows up to 512 pixels */

int nk_conv_bwd_weight_direct_ok(const nk_conv2d_shape *s) {
    const int64_t Cig = s->C_in / s->groups, Cog = s->C_out / s->groups;
    /* measured: wins over implicit GEMM for LeNet c1 (1 input channel, 28
     * wide), loses for c2 (10 wide: a 2-lane second vector); for <= 8
     * output channels also with a deep reduction, where the GEMM's rows are
     * the few output channels (1-3 channels from 16-128, 3x3, 28-32 wide:
     * 2.0-4.4x; 8 channels 1.2-1.4x; 12 channels 0.8x) */
    return s->stride_h == 1 && s->stride_w == 1 && Cog <= 16 &&
           (Cig * s->kH * s->kW <= 128 || (Cog <= 8 && Cig * s->kH * s->kW <= 4096)) &&
           s->kW <= NK_DW_MAX_KW && s->OW >= 16 && s->OW <= 8 * NK_DW_MAX_NV && s->W < ((int64_t)1 << 28) &&
           s->pad_w < ((int64_t)1 << 28);
}

#if NK_X86_DISPATCH
NK_TARGET_AVX2 static void nk_dw_direct_task(const nk_conv2d_shape *s, const float *dy,
                                             const float *x, int64_t n0, int64_t n1, int64_t g,
                                             float *out /* [Cog][Cig][kH][kW] */) {
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    const int64_t P = s->OH * s->OW, HW = s->H * s->W, kW = s->kW, kk = s->kH * kW;
    const int64_t nv = nk_ceil_div(s->OW, 8);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    /* masks per output vector: dy lanes inside the row, and per tap column
     * the input lanes with 0 <= col0 + lane < W */
    __m256i dmask[NK_DW_MAX_NV], xmask[NK_DW_MAX_NV * NK_DW_MAX_KW];
    for (int64_t v = 0; v < nv; v++) {
        dmask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(s->OW - v * 8)), lane);
        for (int64_t kw = 0; kw < NK_DW_MAX_KW; kw++) {
            const int64_t col0 = v * 8 - s->pad_w + kw * s->dil_w;
            xmask[v * NK_DW_MAX_KW + kw] = kw >= kW ? _mm256_setzero_si256() : _mm256_and_si256(
                _mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int32_t)(-col0 - 1))),
                _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(s->W - col0)), lane));
        }
    }
    const int64_t dwb = s->dil_w * (int64_t)sizeof(float);
    for (int64_t o0 = 0; o0 < Cog; o0 += 2) {
        const int two = o0 + 1 < Cog;
        for (int64_t c = 0; c < Cig; c++)
            for (int64_t kh = 0; kh < s->kH; kh++) {
                __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00;
                __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00;
                for (int64_t n = n0; n < n1; n++) {
                    const float *d0 = dy + (n * s->C_out + g * Cog + o0) * P;
                    const float *d1 = two ? d0 + P : d0;
                    const float *xc = x + (n * s->C_in + g * Cig + c) * HW;
                    for (int64_t oh = 0; oh < s->OH; oh++) {
                        const int64_t ih = oh - s->pad_h + kh * s->dil_h;
                        if (ih < 0 || ih >= s->H) continue;
                        const uintptr_t xrow = (uintptr_t)(xc + ih * s->W);
                        for (int64_t v = 0; v < nv; v++) {
                            const int64_t ow = v * 8;
                            const __m256 y0 = _mm256_maskload_ps(d0 + oh * s->OW + ow, dmask[v]);
                            const __m256 y1 = _mm256_maskload_ps(d1 + oh * s->OW + ow, dmask[v]);
                            /* only unmasked lanes (inside the row) are read */
                            const uintptr_t xb = xrow + (uintptr_t)((ow - s->pad_w) * (int64_t)sizeof(float));
                            const __m256i *xm = xmask + v * NK_DW_MAX_KW;
                            __m256 xv;
#define NK_DW_TAP(k, A0, A1)                                                                  \
    if (k < kW) {                                                                          \
        xv = _mm256_maskload_ps((const float *)(xb + (uintptr_t)(k * dwb)), xm[k]);        \
        A0 = _mm256_fmadd_ps(y0, xv, A0);                                                  \
        A1 = _mm256_fmadd_ps(y1, xv, A1);                                                  \
    }
                            NK_DW_TAP(0, a00, a10)
                            NK_DW_TAP(1, a01, a11)
                            NK_DW_TAP(2, a02, a12)
                            NK_DW_TAP(3, a03, a13)
                            NK_DW_TAP(4, a04, a14)
#undef NK_DW_TAP
                        }
                    }
                }
                const __m256 a0[NK_DW_MAX_KW] = {a00, a01, a02, a03, a04};
                const __m256 a1[NK_DW_MAX_KW] = {a10, a11, a12, a13, a14};
                for (int64_t kw = 0; kw < kW; kw++) {
                    float l0[8], l1[8];
                    _mm256_storeu_ps(l0, a0[kw]);
                    _mm256_storeu_ps(l1, a1[kw]);
                    const float s0 = ((l0[0] + l0[1]) + (l0[2] + l0[3])) + ((l0[4] + l0[5]) + (l0[6] + l0[7]));
                    const float s1 = ((l1[0] + l1[1]) + (l1[2] + l1[3])) + ((l1[4] + l1[5]) + (l1[6] + l1[7]));
                    out[((o0 * Cig + c) * s->kH + kh) * kW + kw] = s0;
                    if (two) out[(((o0 + 1) * Cig + c) * s->kH + kh) * kW + kw] = s1;
                }
            }
    }
    (void)kk;
}

/* The AVX-512 level's task: 16-pixel partial sums of 4 output channels x 6
 * taps at a time (nk_conv_ukr_f32_dw_px_avx512.c) over a zero-padded copy
 * of each image group, then added across lanes.  ws: the padded copy
 * (Cig x Hp x Wp + 16 floats) and the partial sums (Cog rounded up to 4 x
 * taps rounded up to 6 x 16 floats).  Measured, 1 thread, ResNeXt-style
 * 8 x 256 x 28 x 28 in 32 groups of 8: 7.2 -> 3.6 ms; LeNet c1 0.33 ->
 * 0.27. */
static void nk_dw_direct_task_avx512(const nk_conv2d_shape *s, const float *dy, const float *x,
                                     int64_t n0, int64_t n1, int64_t g, float *out, float *ws) {
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    const int64_t P = s->OH * s->OW, HW = s->H * s->W, kW = s->kW, kk = s->kH * kW;
    const int64_t K = Cig * kk, Cog4 = nk_ceil_div(Cog, 4) * 4, K6 = nk_ceil_div(K, 6) * 6;
    const int64_t Hp = s->OH + (s->kH - 1) * s->dil_h, Wp = s->OW + (kW - 1) * s->dil_w;
    float *xp = ws, *acc = ws + Cig * Hp * Wp + 16;
    memset(acc, 0, (size_t)(Cog4 * K6 * 16) * sizeof(float));
    for (int64_t n = n0; n < n1; n++) {
        nk_direct_pad_copy(s, x + (n * s->C_in + g * Cig) * HW, Cig, Hp, Wp, 16, xp);
        const float *dyg = dy + (n * s->C_out + g * Cog) * P;
        for (int64_t o0 = 0; o0 < Cog4; o0 += 4) {
            const float *d[4]; /* channels past Cog: any plane, sums unused */
            for (int64_t o = 0; o < 4; o++) d[o] = dyg + nk_min_i64(o0 + o, Cog - 1) * P;
            for (int64_t t0 = 0; t0 < K6; t0 += 6) {
                const float *xt[6];
                for (int64_t i = 0; i < 6; i++) {
                    const int64_t t = nk_min_i64(t0 + i, K - 1), r = t % kk;
                    xt[i] = xp + (t / kk) * Hp * Wp + (r / kW) * s->dil_h * Wp +
                            (r % kW) * s->dil_w;
                }
                nk_conv_ukr_f32_dw_px4x6_avx512(s->OH, s->OW, d, xt, Wp,
                                                acc + (o0 * K6 + t0 * 4) * 16);
            }
        }
    }
    /* acc holds, per (o-block, t-block), [4][6][16]; out[o * K + t] */
    for (int64_t o = 0; o < Cog; o++)
        for (int64_t t = 0; t < K; t++) {
            const float *a = acc + ((o / 4 * 4) * K6 + (t / 6 * 6) * 4 + (o % 4) * 6 + t % 6) * 16;
            float l[16];
            for (int i = 0; i < 16; i++) l[i] = a[i];
            for (int w = 8; w >= 1; w /= 2) /* fixed tree: lane i += lane i + w */
                for (int i = 0; i < w; i++) l[i] += l[i + w];
            out[o * K + t] = l[0];
        }
}

int nk_conv_bwd_weight_direct_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                  float *dw, int nthreads, nk_status *status) {
    if (nk_isa_active() != NK_ISA_AVX2 || !nk_conv_bwd_weight_direct_ok(s)) return 0;
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    const int64_t nw = s->C_out * Cig * s->kH * s->kW, wg = Cog * Cig * s->kH * s->kW;
    int64_t nbc = nk_min_i64(s->N, 4);
    const int64_t ipc = nk_ceil_div(s->N, nbc);
    nbc = nk_ceil_div(s->N, ipc);
    const int64_t ntasks = nbc * G;
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    const int wide = nk_isa_level() == NK_ISA_AVX512;
    /* AVX-512: per thread the padded copy and the 16-lane partial sums */
    const int64_t Hp = s->OH + (s->kH - 1) * s->dil_h, Wp = s->OW + (s->kW - 1) * s->dil_w;
    const int64_t wse = wide ? Cig * Hp * Wp + 16 +
                                   nk_ceil_div(Cog, 4) * 4 * nk_ceil_div(wg / Cog, 6) * 6 * 16
                             : 0;
    const size_t per = (size_t)((wse * (int64_t)sizeof(float) + 63) & ~(int64_t)63);
    const size_t pb = nbc > 1 ? (size_t)((nbc * nw * (int64_t)sizeof(float) + 63) & ~(int64_t)63)
                              : 0;
    char *buf = NULL;
    if (pb + (size_t)nt * per) {
        buf = nk_aligned_alloc(pb + (size_t)nt * per);
        if (!buf) {
            *status = NK_ERR_NOMEM;
            return 1;
        }
    }
    float *part = nbc > 1 ? (float *)buf : NULL;
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        const int tid = omp_get_thread_num();
#else
        const int tid = 0;
#endif
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t bc = t / G, g = t % G;
            float *out = (part ? part + bc * nw : dw) + g * wg;
            const int64_t n0 = bc * ipc, n1 = nk_min_i64(s->N, (bc + 1) * ipc);
            if (wide)
                nk_dw_direct_task_avx512(s, dy, x, n0, n1, g, out,
                                         (float *)(buf + pb + (size_t)tid * per));
            else
                nk_dw_direct_task(s, dy, x, n0, n1, g, out);
        }
        if (part) nk_conv_sum_chunks_f32(part, nbc, nw, dw);
    }
    nk_aligned_free(buf);
    *status = NK_OK;
    return 1;
}
#else
int nk_conv_bwd_weight_direct_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                  float *dw, int nthreads, nk_status *status) {
    (void)s; (void)dy; (void)x; (void)dw; (void)nthreads; (void)status;
    return 0;
}
#endif
