/* nk_pool_avx2.c -- AVX2 row kernels for pooling forward (see nk_pool.h).
 *
 * Vectorized along the output width: one vector = VL consecutive outputs of
 * one output row.  Stride 1 loads the window column j directly at
 * x + c0 + j*dw.  Stride 2 loads two vectors (2*VL consecutive inputs) and
 * deinterleaves them with one in-lane shuffle into even columns (column j)
 * and odd columns (column j+1, when dilation is 1): the shuffle leaves the
 * outputs in a fixed permuted lane order, which is undone with one
 * cross-lane permute just before the store (indices carry the same order).
 *
 * Max: m = (v > m || isnan(v)) ? v : m per lane, scanning rows then columns
 * exactly like the scalar code, so both paths give identical values and
 * indices.  Avg: per-lane sums in the scalar order, then one division.
 * Instantiated for float and double by including this file into itself. */
#ifndef NK_POOL_AVX2_T

#include <math.h>
#include "nk_pool.h"

#if NK_X86_DISPATCH
#include <immintrin.h>
#define NK_AI static inline __attribute__((always_inline)) NK_TARGET_AVX2

/* ---- float: 8 lanes, 32-bit index lanes ---- */
#define NK_POOL_AVX2_T float
#define F(name) name##_f32
#define VL 8
#define V __m256
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vadd _mm256_add_ps
#define vdiv _mm256_div_ps
#define vblend _mm256_blendv_ps
#define vupd(v, m) \
    _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q))
#define vevens(a, b) _mm256_shuffle_ps(a, b, 0x88)
#define vodds(a, b) _mm256_shuffle_ps(a, b, 0xDD)
#define vfix(v) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8))
#define iblend(a, b, mk) _mm256_blendv_epi8(a, b, _mm256_castps_si256(mk))
#define iset1(k) _mm256_set1_epi32((int)(k))
#define iadd _mm256_add_epi32
#define ilanes1() _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define ilanes2() _mm256_setr_epi32(0, 2, 8, 10, 4, 6, 12, 14)
NK_AI void istore_f32(int64_t *p, __m256i iv) {
    _mm256_storeu_si256((__m256i *)p, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(iv)));
    _mm256_storeu_si256((__m256i *)(p + 4), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(iv, 1)));
}
#define istore istore_f32
#include "nk_pool_avx2.c"
#undef NK_POOL_AVX2_T
#undef F
#undef VL
#undef V
#undef vload
#undef vstore
#undef vset1
#undef vzero
#undef vadd
#undef vdiv
#undef vblend
#undef vupd
#undef vevens
#undef vodds
#undef vfix
#undef iblend
#undef iset1
#undef iadd
#undef ilanes1
#undef ilanes2
#undef istore

/* ---- double: 4 lanes, 64-bit index lanes ---- */
#define NK_POOL_AVX2_T double
#define F(name) name##_f64
#define VL 4
#define V __m256d
#define vload _mm256_loadu_pd
#define vstore _mm256_storeu_pd
#define vset1 _mm256_set1_pd
#define vzero _mm256_setzero_pd
#define vadd _mm256_add_pd
#define vdiv _mm256_div_pd
#define vblend _mm256_blendv_pd
#define vupd(v, m) \
    _mm256_or_pd(_mm256_cmp_pd(v, m, _CMP_GT_OQ), _mm256_cmp_pd(v, v, _CMP_UNORD_Q))
#define vevens(a, b) _mm256_shuffle_pd(a, b, 0x0)
#define vodds(a, b) _mm256_shuffle_pd(a, b, 0xF)
#define vfix(v) _mm256_permute4x64_pd(v, 0xD8)
#define iblend(a, b, mk) _mm256_blendv_epi8(a, b, _mm256_castpd_si256(mk))
#define iset1(k) _mm256_set1_epi64x((long long)(k))
#define iadd _mm256_add_epi64
#define ilanes1() _mm256_setr_epi64x(0, 1, 2, 3)
#define ilanes2() _mm256_setr_epi64x(0, 4, 2, 6)
NK_AI void istore_f64(int64_t *p, __m256i iv) { _mm256_storeu_si256((__m256i *)p, iv); }
#define istore istore_f64
#include "nk_pool_avx2.c"

#else /* !NK_X86_DISPATCH: never called (nk_isa_active() is generic) */
int64_t nk_pool_max_row_avx2_f32(const float *x, int64_t W, int64_t hs, int64_t nr, int64_t dh,
                                 int64_t kw, int64_t sw, int64_t pw, int64_t dw, int64_t owa,
                                 int64_t owb, float *y, int64_t *ind) { return owa; }
int64_t nk_pool_max_row_avx2_f64(const double *x, int64_t W, int64_t hs, int64_t nr,
                                 int64_t dh, int64_t kw, int64_t sw, int64_t pw, int64_t dw,
                                 int64_t owa, int64_t owb, double *y, int64_t *ind) { return owa; }
int64_t nk_pool_avg_row_avx2_f32(const float *x, int64_t W, int64_t hs, int64_t nr, int64_t kw,
                                 int64_t sw, int64_t pw, int64_t owa, int64_t owb, float div,
                                 float *y) { return owa; }
int64_t nk_pool_avg_row_avx2_f64(const double *x, int64_t W, int64_t hs, int64_t nr,
                                 int64_t kw, int64_t sw, int64_t pw, int64_t owa, int64_t owb,
                                 double div, double *y) { return owa; }
#endif

#else /* template body */

#define T NK_POOL_AVX2_T

/* VL outputs starting at input column c0 (all window columns in bounds). */
NK_AI void F(max_block)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh, int64_t kw,
                        int64_t sw, int64_t dw, int64_t c0, T *y, int64_t *ind, int want) {
    V m = vset1(-INFINITY);
    const __m256i lanes = sw == 1 ? ilanes1() : ilanes2();
    __m256i im = want ? iadd(iset1(hs * W + c0), lanes) : _mm256_setzero_si256();
    for (int64_t r = 0; r < nr; r++) {
        const int64_t h = hs + r * dh;
        const T *xr = x + h * W + c0;
        const __m256i ib = want ? iadd(iset1(h * W + c0), lanes) : _mm256_setzero_si256();
#define NK_UPD(v, off)                                          \
    do {                                                        \
        V mk_ = vupd(v, m);                                     \
        m = vblend(m, v, mk_);                                  \
        if (want) im = iblend(im, iadd(ib, iset1(off)), mk_);   \
    } while (0)
        if (sw == 1) {
            for (int64_t j = 0; j < kw; j++) {
                V v = vload(xr + j * dw);
                NK_UPD(v, j * dw);
            }
        } else if (dw == 1) {
            int64_t j = 0;
            for (; j + 1 < kw; j += 2) {
                V a = vload(xr + j), b = vload(xr + j + VL);
                V e = vevens(a, b), o = vodds(a, b);
                NK_UPD(e, j);
                NK_UPD(o, j + 1);
            }
            if (j < kw) {
                V a = vload(xr + j), b = vload(xr + j + VL);
                V e = vevens(a, b);
                NK_UPD(e, j);
            }
        } else {
            for (int64_t j = 0; j < kw; j++) {
                V a = vload(xr + j * dw), b = vload(xr + j * dw + VL);
                V e = vevens(a, b);
                NK_UPD(e, j * dw);
            }
        }
#undef NK_UPD
    }
    if (sw == 2) {
        m = vfix(m);
        if (want) im = _mm256_permute4x64_epi64(im, 0xD8);
    }
    vstore(y, m);
    if (want) istore(ind, im);
}

/* Columns read by one block, relative to its first input column. */
static int64_t F(footprint)(int64_t kw, int64_t sw, int64_t dw) {
    if (sw == 1) return (kw - 1) * dw + VL;
    if (dw == 1) return ((kw - 1) & ~(int64_t)1) + 2 * VL;
    return (kw - 1) * dw + 2 * VL;
}

/* Last block start that stays inside [owa, owb) and inside the row. */
static int64_t F(last_block)(int64_t W, int64_t kw, int64_t sw, int64_t pw, int64_t dw,
                             int64_t owa, int64_t owb) {
    if ((sw != 1 && sw != 2) || owb - owa < VL) return -1;
    int64_t num = W + pw - F(footprint)(kw, sw, dw);
    if (num < 0) return -1;
    int64_t omax = nk_min_i64(num / sw, owb - VL);
    return omax < owa ? -1 : omax;
}

NK_TARGET_AVX2
int64_t F(nk_pool_max_row_avx2)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh,
                                int64_t kw, int64_t sw, int64_t pw, int64_t dw, int64_t owa,
                                int64_t owb, T *y, int64_t *ind) {
    const int64_t omax = F(last_block)(W, kw, sw, pw, dw, owa, owb);
    if (omax < 0) return owa;
    for (int64_t ow0 = owa;;) {
        const int64_t c0 = ow0 * sw - pw;
        T *yo = y + ow0;
        int64_t *io = ind ? ind + ow0 : NULL;
        if (ind) {
            if (sw == 2 && kw == 2 && dw == 1)
                F(max_block)(x, W, hs, nr, dh, 2, 2, 1, c0, yo, io, 1);
            else if (sw == 2 && kw == 3 && dw == 1)
                F(max_block)(x, W, hs, nr, dh, 3, 2, 1, c0, yo, io, 1);
            else if (sw == 1 && kw == 3 && dw == 1)
                F(max_block)(x, W, hs, nr, dh, 3, 1, 1, c0, yo, io, 1);
            else
                F(max_block)(x, W, hs, nr, dh, kw, sw, dw, c0, yo, io, 1);
        } else {
            if (sw == 2 && kw == 2 && dw == 1)
                F(max_block)(x, W, hs, nr, dh, 2, 2, 1, c0, yo, NULL, 0);
            else if (sw == 2 && kw == 3 && dw == 1)
                F(max_block)(x, W, hs, nr, dh, 3, 2, 1, c0, yo, NULL, 0);
            else if (sw == 1 && kw == 3 && dw == 1)
                F(max_block)(x, W, hs, nr, dh, 3, 1, 1, c0, yo, NULL, 0);
            else
                F(max_block)(x, W, hs, nr, dh, kw, sw, dw, c0, yo, NULL, 0);
        }
        if (ow0 == omax) break;
        ow0 = nk_min_i64(ow0 + VL, omax);
    }
    return omax + VL;
}

NK_AI void F(avg_block)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t kw, int64_t sw,
                        int64_t c0, V vd, T *y) {
    V acc = vzero();
    for (int64_t r = 0; r < nr; r++) {
        const T *xr = x + (hs + r) * W + c0;
        if (sw == 1) {
            for (int64_t j = 0; j < kw; j++) acc = vadd(acc, vload(xr + j));
        } else {
            int64_t j = 0;
            for (; j + 1 < kw; j += 2) {
                V a = vload(xr + j), b = vload(xr + j + VL);
                acc = vadd(acc, vevens(a, b));
                acc = vadd(acc, vodds(a, b));
            }
            if (j < kw) {
                V a = vload(xr + j), b = vload(xr + j + VL);
                acc = vadd(acc, vevens(a, b));
            }
        }
    }
    if (sw == 2) acc = vfix(acc);
    vstore(y, vdiv(acc, vd));
}

NK_TARGET_AVX2
int64_t F(nk_pool_avg_row_avx2)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t kw,
                                int64_t sw, int64_t pw, int64_t owa, int64_t owb, T div, T *y) {
    const int64_t omax = F(last_block)(W, kw, sw, pw, 1, owa, owb);
    if (omax < 0) return owa;
    const V vd = vset1(div);
    for (int64_t ow0 = owa;;) {
        const int64_t c0 = ow0 * sw - pw;
        if (sw == 2 && kw == 2)
            F(avg_block)(x, W, hs, nr, 2, 2, c0, vd, y + ow0);
        else if (sw == 2 && kw == 3)
            F(avg_block)(x, W, hs, nr, 3, 2, c0, vd, y + ow0);
        else if (sw == 1 && kw == 3)
            F(avg_block)(x, W, hs, nr, 3, 1, c0, vd, y + ow0);
        else
            F(avg_block)(x, W, hs, nr, kw, sw, c0, vd, y + ow0);
        if (ow0 == omax) break;
        ow0 = nk_min_i64(ow0 + VL, omax);
    }
    return omax + VL;
}

#undef T
#endif
