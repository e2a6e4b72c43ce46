/* nk_conv_pack_avx2.c -- im2col packing callbacks built on AVX2 masked
 * gathers (used on the AVX2 path; the portable callbacks live in
 * nk_conv_igemm.c).
 *
 * A packed panel holds w rows of the operand side by side, so one depth step
 * p of a panel is a vector of w values:
 *   forward  (im2col):   w output pixels, one tap (c, kh, kw)   -> x[base_pix + off_tap]
 *   bwd_weight (im2col_t): w taps, one output pixel             -> x[off_tap + base_pix]
 * With the per-lane part kept in vector registers across the whole depth
 * loop, each step is: two compares per axis for the zero padding, one masked
 * gather per 8 (f32) or 4 (f64) lanes, one store.  This costs the same for
 * any stride, dilation or row length, which is where copying row segments is
 * slow (short rows: LeNet, 14x14; strided: the 7x7/s2 stem).  Indices are
 * int32: nk_conv_gather_ok checks that they fit.  Masked-off lanes are never
 * read, so padding and the zero rows past the operand's end need no bounds.
 */
#include "nk_conv.h"

int nk_conv_gather_ok(const nk_conv_pack_ctx *c, int64_t N, int64_t C) {
    const int64_t lim = (int64_t)1 << 30;
    int64_t total;
    if (nk_mul_i64(N, c->xs_n, &total) || total >= INT32_MAX) return 0;
    if (C * c->H * c->W > c->xs_n) return 0;
    if (c->OH * c->sh + (c->ph < 0 ? -c->ph : c->ph) + c->kH * c->dh >= lim) return 0;
    if (c->OW * c->sw + (c->pw < 0 ? -c->pw : c->pw) + c->kW * c->dw >= lim) return 0;
    if (c->H >= lim || c->W >= lim) return 0;
    return 1;
}

#if NK_X86_DISPATCH
#include <immintrin.h>
#include "nk_tr8_avx2.h"

#define NK_CONV_MAXW 64
/* keep short copy loops inline (no memcpy/memset calls) */
#if defined(__GNUC__) && !defined(__clang__)
#define NK_CONV_NO_LIBCALLS_AVX __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NK_CONV_NO_LIBCALLS_AVX
#endif

/* Lane state of one panel of the forward operand (w output pixels). */
static void nk_conv_fwd_lanes(const nk_conv_pack_ctx *cx, int64_t j, int64_t np, int64_t w,
                              int32_t *ihb, int32_t *iwb, int32_t *base) {
    const int64_t P = cx->OH * cx->OW;
    int64_t n = j / P, pix = j % P, oh = pix / cx->OW, ow = pix % cx->OW;
    for (int64_t ii = 0; ii < w; ii++) {
        if (ii < np) {
            const int64_t h = oh * cx->sh - cx->ph, v = ow * cx->sw - cx->pw;
            ihb[ii] = (int32_t)h;
            iwb[ii] = (int32_t)v;
            base[ii] = (int32_t)(uint32_t)(uint64_t)(n * cx->xs_n + h * cx->W + v);
            if (++ow == cx->OW) {
                ow = 0;
                if (++oh == cx->OH) {
                    oh = 0;
                    n++;
                }
            }
        } else { /* rows past the end: always masked off */
            ihb[ii] = INT32_MIN / 2;
            iwb[ii] = 0;
            base[ii] = 0;
        }
    }
}

NK_TARGET_AVX2 void nk_conv_pack_im2col_avx2_f32(const void *vctx, int64_t i0, int64_t mn,
                                                 int64_t p0, int64_t kc, int64_t w,
                                                 float *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    if (w % 8 || w > NK_CONV_MAXW) {
        nk_conv_pack_im2col_f32(vctx, i0, mn, p0, kc, w, dst);
        return;
    }
    const float *X = (const float *)cx->x;
    const int64_t HW = cx->H * cx->W, kk = cx->kH * cx->kW, ng = w / 8;
    int32_t ihb[NK_CONV_MAXW], iwb[NK_CONV_MAXW], base[NK_CONV_MAXW];
    const __m256i Hv = _mm256_set1_epi32((int32_t)cx->H), Wv = _mm256_set1_epi32((int32_t)cx->W);
    const __m256i m1 = _mm256_set1_epi32(-1);
    for (int64_t ii0 = 0; ii0 < mn; ii0 += w) {
        float *pd = dst + (ii0 / w) * kc * w;
        nk_conv_fwd_lanes(cx, cx->off + i0 + ii0, nk_min_i64(w, mn - ii0), w, ihb, iwb, base);
        for (int64_t g = 0; g < ng; g++) {
            const __m256i vh = _mm256_loadu_si256((const __m256i *)(ihb + 8 * g));
            const __m256i vw = _mm256_loadu_si256((const __m256i *)(iwb + 8 * g));
            const __m256i vb = _mm256_loadu_si256((const __m256i *)(base + 8 * g));
            int64_t c = p0 / kk, r = p0 % kk;
            int64_t kh = r / cx->kW, kw = r % cx->kW;
            float *d = pd + 8 * g;
            for (int64_t p = 0; p < kc; p++) {
                const int32_t khd = (int32_t)(kh * cx->dh), kwd = (int32_t)(kw * cx->dw);
                const __m256i ih = _mm256_add_epi32(vh, _mm256_set1_epi32(khd));
                const __m256i iw = _mm256_add_epi32(vw, _mm256_set1_epi32(kwd));
                __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(ih, m1), _mm256_cmpgt_epi32(Hv, ih));
                m = _mm256_and_si256(m, _mm256_and_si256(_mm256_cmpgt_epi32(iw, m1),
                                                         _mm256_cmpgt_epi32(Wv, iw)));
                const __m256i idx = _mm256_add_epi32(
                    vb, _mm256_set1_epi32((int32_t)(c * HW + khd * cx->W + kwd)));
                const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), X, idx,
                                                          _mm256_castsi256_ps(m), 4);
                _mm256_storeu_ps(d + p * w, v);
                if (++kw == cx->kW) {
                    kw = 0;
                    if (++kh == cx->kH) {
                        kh = 0;
                        c++;
                    }
                }
            }
        }
    }
}

NK_TARGET_AVX2 void nk_conv_pack_im2col_avx2_f64(const void *vctx, int64_t i0, int64_t mn,
                                                 int64_t p0, int64_t kc, int64_t w,
                                                 double *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    if (w % 4 || w > NK_CONV_MAXW) {
        nk_conv_pack_im2col_f64(vctx, i0, mn, p0, kc, w, dst);
        return;
    }
    const double *X = (const double *)cx->x;
    const int64_t HW = cx->H * cx->W, kk = cx->kH * cx->kW, ng = w / 4;
    int32_t ihb[NK_CONV_MAXW], iwb[NK_CONV_MAXW], base[NK_CONV_MAXW];
    const __m128i Hv = _mm_set1_epi32((int32_t)cx->H), Wv = _mm_set1_epi32((int32_t)cx->W);
    const __m128i m1 = _mm_set1_epi32(-1);
    for (int64_t ii0 = 0; ii0 < mn; ii0 += w) {
        double *pd = dst + (ii0 / w) * kc * w;
        nk_conv_fwd_lanes(cx, cx->off + i0 + ii0, nk_min_i64(w, mn - ii0), w, ihb, iwb, base);
        for (int64_t g = 0; g < ng; g++) {
            const __m128i vh = _mm_loadu_si128((const __m128i *)(ihb + 4 * g));
            const __m128i vw = _mm_loadu_si128((const __m128i *)(iwb + 4 * g));
            const __m128i vb = _mm_loadu_si128((const __m128i *)(base + 4 * g));
            int64_t c = p0 / kk, r = p0 % kk;
            int64_t kh = r / cx->kW, kw = r % cx->kW;
            double *d = pd + 4 * g;
            for (int64_t p = 0; p < kc; p++) {
                const int32_t khd = (int32_t)(kh * cx->dh), kwd = (int32_t)(kw * cx->dw);
                const __m128i ih = _mm_add_epi32(vh, _mm_set1_epi32(khd));
                const __m128i iw = _mm_add_epi32(vw, _mm_set1_epi32(kwd));
                __m128i m = _mm_and_si128(_mm_cmpgt_epi32(ih, m1), _mm_cmpgt_epi32(Hv, ih));
                m = _mm_and_si128(m, _mm_and_si128(_mm_cmpgt_epi32(iw, m1), _mm_cmpgt_epi32(Wv, iw)));
                const __m128i idx =
                    _mm_add_epi32(vb, _mm_set1_epi32((int32_t)(c * HW + khd * cx->W + kwd)));
                const __m256d v = _mm256_mask_i32gather_pd(
                    _mm256_setzero_pd(), X, idx, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(m)), 8);
                _mm256_storeu_pd(d + p * w, v);
                if (++kw == cx->kW) {
                    kw = 0;
                    if (++kh == cx->kH) {
                        kh = 0;
                        c++;
                    }
                }
            }
        }
    }
}

/* Stride-1 forward panels of 16 pixels: the pixels of a panel fall in a
 * few runs along output rows, and for one tap each run reads consecutive
 * input values.  Per tap and run: two masked loads, shifted so that lane k
 * of the panel reads input column iw - ii + k (masked to the run's lanes and
 * the row's bounds, so nothing outside the row is read), OR-ed into the two
 * row registers, which are then stored whole.  Cheaper than a gather. */
NK_TARGET_AVX2 void nk_conv_pack_im2col_rows_avx2_f32(const void *vctx, int64_t i0, int64_t mn,
                                                      int64_t p0, int64_t kc, int64_t w,
                                                      float *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    if (w != 16 || cx->sw != 1) {
        nk_conv_pack_im2col_avx2_f32(vctx, i0, mn, p0, kc, w, dst);
        return;
    }
    const float *X = (const float *)cx->x;
    const int64_t HW = cx->H * cx->W, kk = cx->kH * cx->kW, P = cx->OH * cx->OW;
    const int64_t H = cx->H, W = cx->W;
    const __m256i lane0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i lane1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    int64_t seg_ih[16], seg_iw[16], seg_ii[16];
    __m256i seg_m0[16], seg_m1[16];
    const float *seg_x[16];
    for (int64_t ii0 = 0; ii0 < mn; ii0 += 16) {
        float *pd = dst + (ii0 / 16) * kc * 16;
        const int64_t np = nk_min_i64(16, mn - ii0);
        int64_t j = cx->off + i0 + ii0, ii = 0, ns = 0;
        while (ii < np) {
            const int64_t n = j / P, pix = j % P, oh = pix / cx->OW, ow = pix % cx->OW;
            const int64_t len = nk_min_i64(np - ii, cx->OW - ow);
            seg_ii[ns] = ii;
            seg_ih[ns] = oh * cx->sh - cx->ph;
            seg_iw[ns] = ow - cx->pw;
            seg_x[ns] = X + n * cx->xs_n;
            const __m256i lo = _mm256_set1_epi32((int32_t)ii - 1);
            const __m256i hi = _mm256_set1_epi32((int32_t)(ii + len));
            seg_m0[ns] = _mm256_and_si256(_mm256_cmpgt_epi32(lane0, lo), _mm256_cmpgt_epi32(hi, lane0));
            seg_m1[ns] = _mm256_and_si256(_mm256_cmpgt_epi32(lane1, lo), _mm256_cmpgt_epi32(hi, lane1));
            ns++;
            ii += len;
            j += len;
        }
        int64_t c = p0 / kk, r = p0 % kk;
        int64_t kh = r / cx->kW, kw = r % cx->kW;
        const int full = ns == 1 && np == 16; /* one run covering the panel */
        for (int64_t p = 0; p < kc; p++) {
            __m256 v0 = _mm256_setzero_ps(), v1 = _mm256_setzero_ps();
            const int64_t khd = kh * cx->dh, kwd = kw * cx->dw, xo = c * HW;
            if (full) { /* common case: 16 consecutive inputs, or a zero row */
                const int64_t ih = seg_ih[0] + khd, col0 = seg_iw[0] + kwd;
                if (ih < 0 || ih >= H) {
                    _mm256_storeu_ps(pd + p * 16, v0);
                    _mm256_storeu_ps(pd + p * 16 + 8, v1);
                    goto next_tap;
                }
                if (col0 >= 0 && col0 + 16 <= W) {
                    const float *b = seg_x[0] + xo + ih * W + col0;
                    _mm256_storeu_ps(pd + p * 16, _mm256_loadu_ps(b));
                    _mm256_storeu_ps(pd + p * 16 + 8, _mm256_loadu_ps(b + 8));
                    goto next_tap;
                }
            }
            for (int64_t q = 0; q < ns; q++) {
                const int64_t ih = seg_ih[q] + khd;
                if (ih < 0 || ih >= H) continue;
                /* lane k reads column col0 + k; valid when 0 <= col0 + k < W */
                const int64_t col0 = seg_iw[q] + kwd - seg_ii[q];
                const __m256i lo = _mm256_set1_epi32((int32_t)(-col0 - 1));
                const __m256i hi = _mm256_set1_epi32((int32_t)(W - col0));
                const __m256i m0 = _mm256_and_si256(
                    seg_m0[q], _mm256_and_si256(_mm256_cmpgt_epi32(lane0, lo), _mm256_cmpgt_epi32(hi, lane0)));
                const __m256i m1 = _mm256_and_si256(
                    seg_m1[q], _mm256_and_si256(_mm256_cmpgt_epi32(lane1, lo), _mm256_cmpgt_epi32(hi, lane1)));
                const float *row = seg_x[q] + xo + ih * W; /* valid row start */
                /* base pointer row + col0 may lie outside the row; only
                 * unmasked lanes, all inside the row, are read */
                const float *b = (const float *)((uintptr_t)row + (uintptr_t)(col0 * (int64_t)sizeof(float)));
                v0 = _mm256_or_ps(v0, _mm256_maskload_ps(b, m0));
                v1 = _mm256_or_ps(v1, _mm256_maskload_ps(b + 8, m1));
            }
            _mm256_storeu_ps(pd + p * 16, v0);
            _mm256_storeu_ps(pd + p * 16 + 8, v1);
        next_tap:
            if (++kw == cx->kW) {
                kw = 0;
                if (++kh == cx->kH) {
                    kh = 0;
                    c++;
                }
            }
        }
    }
}

/* Lane state of one panel of the bwd_weight operand (w taps). */
static void nk_conv_dw_lanes(const nk_conv_pack_ctx *cx, int64_t q, int64_t np, int64_t w,
                             int32_t *khd, int32_t *kwd, int32_t *toff) {
    const int64_t kk = cx->kH * cx->kW, HW = cx->H * cx->W;
    for (int64_t ii = 0; ii < w; ii++, q++) {
        if (ii < np) {
            const int64_t c = q / kk, h = (q % kk) / cx->kW * cx->dh, v = q % cx->kW * cx->dw;
            khd[ii] = (int32_t)h;
            kwd[ii] = (int32_t)v;
            toff[ii] = (int32_t)(c * HW + h * cx->W + v);
        } else {
            khd[ii] = INT32_MIN / 2;
            kwd[ii] = 0;
            toff[ii] = 0;
        }
    }
}

NK_TARGET_AVX2 void nk_conv_pack_im2col_t_avx2_f32(const void *vctx, int64_t i0, int64_t mn,
                                                   int64_t p0, int64_t kc, int64_t w,
                                                   float *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    if (w % 8 || w > NK_CONV_MAXW) {
        nk_conv_pack_im2col_t_f32(vctx, i0, mn, p0, kc, w, dst);
        return;
    }
    const float *X = (const float *)cx->x;
    const int64_t P = cx->OH * cx->OW, ng = w / 8;
    int32_t khd[NK_CONV_MAXW], kwd[NK_CONV_MAXW], toff[NK_CONV_MAXW];
    const __m256i Hv = _mm256_set1_epi32((int32_t)cx->H), Wv = _mm256_set1_epi32((int32_t)cx->W);
    const __m256i m1 = _mm256_set1_epi32(-1);
    for (int64_t ii0 = 0; ii0 < mn; ii0 += w) {
        float *pd = dst + (ii0 / w) * kc * w;
        nk_conv_dw_lanes(cx, cx->r0 + i0 + ii0, nk_min_i64(w, mn - ii0), w, khd, kwd, toff);
        for (int64_t g = 0; g < ng; g++) {
            const __m256i vh = _mm256_loadu_si256((const __m256i *)(khd + 8 * g));
            const __m256i vw = _mm256_loadu_si256((const __m256i *)(kwd + 8 * g));
            const __m256i vt = _mm256_loadu_si256((const __m256i *)(toff + 8 * g));
            const int64_t dd = cx->off + p0;
            int64_t n = dd / P, pix = dd % P, oh = pix / cx->OW, ow = pix % cx->OW;
            float *d = pd + 8 * g;
            for (int64_t p = 0; p < kc; p++) {
                const int64_t h = oh * cx->sh - cx->ph, v = ow * cx->sw - cx->pw;
                const __m256i ih = _mm256_add_epi32(vh, _mm256_set1_epi32((int32_t)h));
                const __m256i iw = _mm256_add_epi32(vw, _mm256_set1_epi32((int32_t)v));
                __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(ih, m1), _mm256_cmpgt_epi32(Hv, ih));
                m = _mm256_and_si256(m, _mm256_and_si256(_mm256_cmpgt_epi32(iw, m1),
                                                         _mm256_cmpgt_epi32(Wv, iw)));
                const __m256i idx = _mm256_add_epi32(
                    vt, _mm256_set1_epi32((int32_t)(uint32_t)(uint64_t)(n * cx->xs_n + h * cx->W + v)));
                const __m256 val = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), X, idx,
                                                            _mm256_castsi256_ps(m), 4);
                _mm256_storeu_ps(d + p * w, val);
                if (++ow == cx->OW) {
                    ow = 0;
                    if (++oh == cx->OH) {
                        oh = 0;
                        n++;
                    }
                }
            }
        }
    }
}


#define NK_CONV_DC 64 /* pixels per transposed chunk */

/* Stride-1 bwd_weight panels of 16 taps without gathers: each tap's run of
 * up to NK_CONV_DC pixels is copied row segment by row segment into a
 * 16 x NK_CONV_DC tile (contiguous reads), which 8x8 transposes turn into
 * the panel's [pixel][tap] layout. */
NK_TARGET_AVX2 NK_CONV_NO_LIBCALLS_AVX void nk_conv_pack_im2col_t_rows_avx2_f32(const void *vctx, int64_t i0,
                                                        int64_t mn, int64_t p0, int64_t kc,
                                                        int64_t w, float *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    if (w != 16 || cx->sw != 1) {
        nk_conv_pack_im2col_t_avx2_f32(vctx, i0, mn, p0, kc, w, dst);
        return;
    }
    const float *X = (const float *)cx->x;
    const int64_t P = cx->OH * cx->OW, kk = cx->kH * cx->kW, HW = cx->H * cx->W;
    const int64_t H = cx->H, W = cx->W;
    _Alignas(64) float tile[16 * NK_CONV_DC];
    int64_t seg_t[NK_CONV_DC], seg_len[NK_CONV_DC], seg_ih[NK_CONV_DC], seg_iw[NK_CONV_DC];
    const float *seg_x[NK_CONV_DC];
    for (int64_t ii0 = 0; ii0 < mn; ii0 += 16) {
        float *pd = dst + (ii0 / 16) * kc * 16;
        const int64_t np = nk_min_i64(16, mn - ii0);
        for (int64_t pc = 0; pc < kc; pc += NK_CONV_DC) {
            const int64_t dc = nk_min_i64(NK_CONV_DC, kc - pc);
            /* row segments of this pixel chunk (shared by the 16 taps) */
            int64_t ns = 0, t = 0, dd = cx->off + p0 + pc;
            while (t < dc) {
                const int64_t n = dd / P, pix = dd % P, oh = pix / cx->OW, ow = pix % cx->OW;
                const int64_t len = nk_min_i64(dc - t, cx->OW - ow);
                seg_t[ns] = t;
                seg_len[ns] = len;
                seg_ih[ns] = oh * cx->sh - cx->ph;
                seg_iw[ns] = ow - cx->pw;
                seg_x[ns] = X + n * cx->xs_n;
                ns++;
                t += len;
                dd += len;
            }
            for (int64_t ii = 0; ii < 16; ii++) {
                float *trow = tile + ii * NK_CONV_DC;
                if (ii >= np) {
                    for (int64_t q = 0; q < dc; q++) trow[q] = 0;
                    continue;
                }
                const int64_t qq = cx->r0 + i0 + ii0 + ii, c = qq / kk;
                const int64_t khd = (qq % kk) / cx->kW * cx->dh, kwd = qq % cx->kW * cx->dw;
                for (int64_t q = 0; q < ns; q++) {
                    float *d = trow + seg_t[q];
                    const int64_t len = seg_len[q], ih = seg_ih[q] + khd, iw0 = seg_iw[q] + kwd;
                    if (ih < 0 || ih >= H) {
                        for (int64_t e = 0; e < len; e++) d[e] = 0;
                        continue;
                    }
                    const float *row = seg_x[q] + c * HW + ih * W;
                    const int64_t lo = nk_min_i64(len, nk_max_i64(0, -iw0));
                    const int64_t hi = nk_min_i64(len, nk_max_i64(lo, W - iw0));
                    int64_t e = 0;
                    for (; e < lo; e++) d[e] = 0;
                    for (; e < hi; e++) d[e] = row[iw0 + e];
                    for (; e < len; e++) d[e] = 0;
                }
            }
            /* [tap][pixel] -> [pixel][tap], 8 pixels at a time */
            int64_t q = 0;
            for (; q + 8 <= dc; q += 8) {
                __m256 a[8], b[8];
                for (int k = 0; k < 8; k++) {
                    a[k] = _mm256_load_ps(tile + k * NK_CONV_DC + q);
                    b[k] = _mm256_load_ps(tile + (k + 8) * NK_CONV_DC + q);
                }
                nk_tr8_avx2(a);
                nk_tr8_avx2(b);
                float *o = pd + (pc + q) * 16;
                for (int k = 0; k < 8; k++) {
                    _mm256_storeu_ps(o + k * 16, a[k]);
                    _mm256_storeu_ps(o + k * 16 + 8, b[k]);
                }
            }
            for (; q < dc; q++)
                for (int64_t k = 0; k < 16; k++) pd[(pc + q) * 16 + k] = tile[k * NK_CONV_DC + q];
        }
    }
}

/* Panels of W = 6 or 16 rows of an operand whose rows run along the depth
 * within each image (dy for bwd_weight's A, rows = output channels; x of a
 * 1x1 layer for its B, rows = input channels): per 8 pixels, W row loads,
 * one or two 8x8 transposes, 8 stores of W (W = 6: overlapping 8-wide
 * stores, each next one overwriting the previous one's lanes 6 and 7). */
NK_TARGET_AVX2 static inline __attribute__((always_inline)) void nk_conv_pack_rows_avx2(
    const nk_conv_pack_ctx *cx, int64_t i0, int64_t mn, int64_t p0, int64_t kc, float *dst,
    const int W) {
    const float *X = (const float *)cx->x;
    const int64_t P = cx->OH * cx->OW;
    for (int64_t ii0 = 0; ii0 < mn; ii0 += W) {
        float *pd = dst + (ii0 / W) * kc * W;
        const int64_t np = nk_min_i64(W, mn - ii0);
        const int64_t dd = cx->off + p0;
        int64_t n = dd / P, pix = dd % P, p = 0;
        while (p < kc) {
            const int64_t len = nk_min_i64(kc - p, P - pix);
            const float *src[16];
            for (int64_t r = 0; r < W; r++)
                src[r] = r < np ? X + n * cx->xs_n + (i0 + ii0 + r) * P + pix : NULL;
            int64_t t = 0;
            for (; t + 8 <= len; t += 8) {
                __m256 lo[8], hi[8];
                for (int r = 0; r < 8; r++) {
                    lo[r] = r < W && src[r] ? _mm256_loadu_ps(src[r] + t) : _mm256_setzero_ps();
                    if (W == 16)
                        hi[r] = src[r + 8] ? _mm256_loadu_ps(src[r + 8] + t) : _mm256_setzero_ps();
                }
                nk_tr8_avx2(lo);
                float *o = pd + (p + t) * W;
                if (W == 16) {
                    nk_tr8_avx2(hi);
                    for (int k = 0; k < 8; k++) {
                        _mm256_storeu_ps(o + 16 * k, lo[k]);
                        _mm256_storeu_ps(o + 16 * k + 8, hi[k]);
                    }
                } else {
                    for (int k = 0; k < 7; k++) _mm256_storeu_ps(o + 6 * k, lo[k]);
                    _mm_storeu_ps(o + 42, _mm256_castps256_ps128(lo[7]));
                    _mm_storel_pi((__m64 *)(o + 46), _mm256_extractf128_ps(lo[7], 1));
                }
            }
            for (; t < len; t++)
                for (int64_t r = 0; r < W; r++) pd[(p + t) * W + r] = src[r] ? src[r][t] : 0.0f;
            p += len;
            n++;
            pix = 0;
        }
    }
}

NK_TARGET_AVX2 void nk_conv_pack_dy_avx2_f32(const void *vctx, int64_t i0, int64_t mn,
                                             int64_t p0, int64_t kc, int64_t w, float *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    if (w == 6) nk_conv_pack_rows_avx2(cx, i0, mn, p0, kc, dst, 6);
    else if (w == 16) nk_conv_pack_rows_avx2(cx, i0, mn, p0, kc, dst, 16);
    else nk_conv_pack_dy_f32(vctx, i0, mn, p0, kc, w, dst);
}

NK_TARGET_AVX2 void nk_conv_pack_im2col_t_avx2_f64(const void *vctx, int64_t i0, int64_t mn,
                                                   int64_t p0, int64_t kc, int64_t w,
                                                   double *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    if (w % 4 || w > NK_CONV_MAXW) {
        nk_conv_pack_im2col_t_f64(vctx, i0, mn, p0, kc, w, dst);
        return;
    }
    const double *X = (const double *)cx->x;
    const int64_t P = cx->OH * cx->OW, ng = w / 4;
    int32_t khd[NK_CONV_MAXW], kwd[NK_CONV_MAXW], toff[NK_CONV_MAXW];
    const __m128i Hv = _mm_set1_epi32((int32_t)cx->H), Wv = _mm_set1_epi32((int32_t)cx->W);
    const __m128i m1 = _mm_set1_epi32(-1);
    for (int64_t ii0 = 0; ii0 < mn; ii0 += w) {
        double *pd = dst + (ii0 / w) * kc * w;
        nk_conv_dw_lanes(cx, cx->r0 + i0 + ii0, nk_min_i64(w, mn - ii0), w, khd, kwd, toff);
        for (int64_t g = 0; g < ng; g++) {
            const __m128i vh = _mm_loadu_si128((const __m128i *)(khd + 4 * g));
            const __m128i vw = _mm_loadu_si128((const __m128i *)(kwd + 4 * g));
            const __m128i vt = _mm_loadu_si128((const __m128i *)(toff + 4 * g));
            const int64_t dd = cx->off + p0;
            int64_t n = dd / P, pix = dd % P, oh = pix / cx->OW, ow = pix % cx->OW;
            double *d = pd + 4 * g;
            for (int64_t p = 0; p < kc; p++) {
                const int64_t h = oh * cx->sh - cx->ph, v = ow * cx->sw - cx->pw;
                const __m128i ih = _mm_add_epi32(vh, _mm_set1_epi32((int32_t)h));
                const __m128i iw = _mm_add_epi32(vw, _mm_set1_epi32((int32_t)v));
                __m128i m = _mm_and_si128(_mm_cmpgt_epi32(ih, m1), _mm_cmpgt_epi32(Hv, ih));
                m = _mm_and_si128(m, _mm_and_si128(_mm_cmpgt_epi32(iw, m1), _mm_cmpgt_epi32(Wv, iw)));
                const __m128i idx = _mm_add_epi32(
                    vt, _mm_set1_epi32((int32_t)(uint32_t)(uint64_t)(n * cx->xs_n + h * cx->W + v)));
                const __m256d val = _mm256_mask_i32gather_pd(
                    _mm256_setzero_pd(), X, idx, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(m)), 8);
                _mm256_storeu_pd(d + p * w, val);
                if (++ow == cx->OW) {
                    ow = 0;
                    if (++oh == cx->OH) {
                        oh = 0;
                        n++;
                    }
                }
            }
        }
    }
}

#else /* no x86 dispatch: the portable callbacks */
void nk_conv_pack_dy_avx2_f32(const void *c, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                              int64_t w, float *d) {
    nk_conv_pack_dy_f32(c, i0, mn, p0, kc, w, d);
}
void nk_conv_pack_im2col_t_rows_avx2_f32(const void *c, int64_t i0, int64_t mn, int64_t p0,
                                         int64_t kc, int64_t w, float *d) {
    nk_conv_pack_im2col_t_f32(c, i0, mn, p0, kc, w, d);
}
void nk_conv_pack_im2col_rows_avx2_f32(const void *c, int64_t i0, int64_t mn, int64_t p0,
                                       int64_t kc, int64_t w, float *d) {
    nk_conv_pack_im2col_f32(c, i0, mn, p0, kc, w, d);
}
void nk_conv_pack_im2col_avx2_f32(const void *c, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                                  int64_t w, float *d) {
    nk_conv_pack_im2col_f32(c, i0, mn, p0, kc, w, d);
}
void nk_conv_pack_im2col_avx2_f64(const void *c, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                                  int64_t w, double *d) {
    nk_conv_pack_im2col_f64(c, i0, mn, p0, kc, w, d);
}
void nk_conv_pack_im2col_t_avx2_f32(const void *c, int64_t i0, int64_t mn, int64_t p0,
                                    int64_t kc, int64_t w, float *d) {
    nk_conv_pack_im2col_t_f32(c, i0, mn, p0, kc, w, d);
}
void nk_conv_pack_im2col_t_avx2_f64(const void *c, int64_t i0, int64_t mn, int64_t p0,
                                    int64_t kc, int64_t w, double *d) {
    nk_conv_pack_im2col_t_f64(c, i0, mn, p0, kc, w, d);
}
#endif
