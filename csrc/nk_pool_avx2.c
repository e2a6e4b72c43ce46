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
 * Max gives exactly the values and indices of the scalar rule
 * m = (v > m || isnan(v)) ? v : m scanned rows then columns (see max_block).  Avg: per-lane sums in the scalar order, then one division.
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
#define vmax _mm256_max_ps
#define vcmp _mm256_cmp_ps
#define vor _mm256_or_ps
#define vmovemask _mm256_movemask_ps
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
#undef vmax
#undef vcmp
#undef vor
#undef vmovemask
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
#define vmax _mm256_max_pd
#define vcmp _mm256_cmp_pd
#define vor _mm256_or_pd
#define vmovemask _mm256_movemask_pd
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

/* VL outputs starting at input column c0 (all window columns in bounds),
 * exact for any input, NaNs included.  Pass 1 runs the value chain m = (v > m) ? v : m (vmaxps(v, m): first
 * maximum wins, like the scalar rule) and, independently, remembers the last
 * NaN and its position; a NaN anywhere makes the output that NaN.  Pass 2
 * (indices only) scans the window backwards for the first element equal to
 * the maximum, which is exactly the element where the scalar rule stopped
 * updating.  Both chains are one instruction deep per element, unlike the
 * compare+blend chain of the literal rule. */
NK_AI void F(max_block_exact)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh,
                              int64_t kw, int64_t sw, int64_t dw, int64_t c0, T *y, int64_t *ind,
                              int want) {
    V m = vset1(-INFINITY), nv = vzero();
    const __m256i lanes = sw == 1 ? ilanes1() : ilanes2();
    __m256i inan = _mm256_setzero_si256();
#define NK_ELEMS(BODY_E, BODY_O, REV)                                                    \
    for (int64_t rr = 0; rr < nr; rr++) {                                                \
        const int64_t r = REV ? nr - 1 - rr : rr;                                        \
        const int64_t h = hs + r * dh;                                                   \
        const T *xr = x + h * W + c0;                                                    \
        const __m256i ib = want ? iadd(iset1(h * W + c0), lanes) : _mm256_setzero_si256(); \
        (void)ib;                                                                        \
        if (sw == 1) {                                                                   \
            for (int64_t jj = 0; jj < kw; jj++) {                                        \
                const int64_t j = REV ? kw - 1 - jj : jj;                                \
                V v = vload(xr + j * dw);                                                \
                const int64_t off = j * dw;                                              \
                BODY_E;                                                                  \
            }                                                                            \
        } else if (dw == 1) {                                                            \
            const int64_t npair = kw / 2;                                                \
            if (REV && (kw & 1)) {                                                       \
                const int64_t j = kw - 1;                                                \
                V v = vevens(vload(xr + j), vload(xr + j + VL));                         \
                const int64_t off = j;                                                   \
                BODY_E;                                                                  \
            }                                                                            \
            for (int64_t pp = 0; pp < npair; pp++) {                                     \
                const int64_t j = 2 * (REV ? npair - 1 - pp : pp);                       \
                V a = vload(xr + j), b = vload(xr + j + VL);                             \
                if (REV) {                                                               \
                    V v = vodds(a, b);                                                   \
                    const int64_t off = j + 1;                                           \
                    BODY_O;                                                              \
                }                                                                        \
                {                                                                        \
                    V v = vevens(a, b);                                                  \
                    const int64_t off = j;                                               \
                    BODY_E;                                                              \
                }                                                                        \
                if (!REV) {                                                              \
                    V v = vodds(a, b);                                                   \
                    const int64_t off = j + 1;                                           \
                    BODY_O;                                                              \
                }                                                                        \
            }                                                                            \
            if (!REV && (kw & 1)) {                                                      \
                const int64_t j = kw - 1;                                                \
                V v = vevens(vload(xr + j), vload(xr + j + VL));                         \
                const int64_t off = j;                                                   \
                BODY_E;                                                                  \
            }                                                                            \
        } else {                                                                         \
            for (int64_t jj = 0; jj < kw; jj++) {                                        \
                const int64_t j = REV ? kw - 1 - jj : jj;                                \
                V v = vevens(vload(xr + j * dw), vload(xr + j * dw + VL));               \
                const int64_t off = j * dw;                                              \
                BODY_E;                                                                  \
            }                                                                            \
        }                                                                                \
    }
#define NK_PASS1                                                   \
    do {                                                           \
        m = vmax(v, m);                                            \
        V un_ = vcmp(v, v, _CMP_UNORD_Q);                          \
        nv = vblend(nv, v, un_);                                   \
        if (want) inan = iblend(inan, iadd(ib, iset1(off)), un_);  \
    } while (0)
    NK_ELEMS(NK_PASS1, NK_PASS1, 0)
    const V anynan = vcmp(nv, nv, _CMP_UNORD_Q);
    __m256i im = _mm256_setzero_si256();
    if (want) {
#define NK_PASS2                                                          \
    do {                                                                  \
        im = iblend(im, iadd(ib, iset1(off)), vcmp(v, m, _CMP_EQ_OQ));    \
    } while (0)
        NK_ELEMS(NK_PASS2, NK_PASS2, 1)
        im = iblend(im, inan, anynan);
    }
#undef NK_PASS1
#undef NK_PASS2
#undef NK_ELEMS
    m = vblend(m, nv, anynan);
    if (sw == 2) {
        m = vfix(m);
        if (want) im = _mm256_permute4x64_epi64(im, 0xD8);
    }
    vstore(y, m);
    if (want) istore(ind, im);
}

/* Max of the window without NaN bookkeeping; *maybe_nan is set when a NaN
 * may be among the loaded elements (then the caller redoes the block with
 * max_block_exact).  Checks pairs of raw loads with one unordered compare. */
NK_AI V F(max_fast)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh, int64_t kw,
                    int64_t sw, int64_t dw, int64_t c0, int *maybe_nan) {
    V m = vset1(-INFINITY), un = vzero();
    for (int64_t r = 0; r < nr; r++) {
        const T *xr = x + (hs + r * dh) * W + c0;
        if (sw == 1) {
            int64_t j = 0;
            for (; j + 1 < kw; j += 2) {
                V a = vload(xr + j * dw), b = vload(xr + (j + 1) * dw);
                m = vmax(a, m);
                m = vmax(b, m);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
            if (j < kw) {
                V a = vload(xr + j * dw);
                m = vmax(a, m);
                un = vor(un, vcmp(a, a, _CMP_UNORD_Q));
            }
        } else if (dw == 1) {
            for (int64_t j = 0; j < kw; j += 2) {
                V a = vload(xr + j), b = vload(xr + j + VL);
                m = vmax(vevens(a, b), m);
                if (j + 1 < kw) m = vmax(vodds(a, b), m);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
        } else {
            for (int64_t j = 0; j < kw; j++) {
                V a = vload(xr + j * dw), b = vload(xr + j * dw + VL);
                m = vmax(vevens(a, b), m);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
        }
    }
    *maybe_nan = vmovemask(un) != 0;
    return m;
}

/* Index of the first element equal to m (NaN-free windows), scanning the
 * window backwards so that the earliest match is the last one kept. */
NK_AI __m256i F(max_index)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh,
                           int64_t kw, int64_t sw, int64_t dw, int64_t c0, V m) {
    const __m256i lanes = sw == 1 ? ilanes1() : ilanes2();
    __m256i im = _mm256_setzero_si256();
    for (int64_t rr = nr - 1; rr >= 0; rr--) {
        const int64_t h = hs + rr * dh;
        const T *xr = x + h * W + c0;
        const __m256i ib = iadd(iset1(h * W + c0), lanes);
        for (int64_t j = kw - 1; j >= 0; j--) {
            V v;
            if (sw == 1)
                v = vload(xr + j * dw);
            else if (dw == 1)
                v = (j & 1) ? vodds(vload(xr + j - 1), vload(xr + j - 1 + VL))
                            : vevens(vload(xr + j), vload(xr + j + VL));
            else
                v = vevens(vload(xr + j * dw), vload(xr + j * dw + VL));
            im = iblend(im, iadd(ib, iset1(j * dw)), vcmp(v, m, _CMP_EQ_OQ));
        }
    }
    return im;
}

NK_AI void F(max_block)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh, int64_t kw,
                        int64_t sw, int64_t dw, int64_t c0, T *y, int64_t *ind, int want) {
    int maybe_nan;
    V m = F(max_fast)(x, W, hs, nr, dh, kw, sw, dw, c0, &maybe_nan);
    if (NK_UNLIKELY(maybe_nan)) {
        F(max_block_exact)(x, W, hs, nr, dh, kw, sw, dw, c0, y, ind, want);
        return;
    }
    if (want) {
        __m256i im = F(max_index)(x, W, hs, nr, dh, kw, sw, dw, c0, m);
        if (sw == 2) im = _mm256_permute4x64_epi64(im, 0xD8);
        istore(ind, im);
    }
    if (sw == 2) m = vfix(m);
    vstore(y, m);
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
            if (sw == 2 && kw == 2 && dw == 1 && nr == 2)
                F(max_block)(x, W, hs, 2, dh, 2, 2, 1, c0, yo, io, 1);
            else if (sw == 2 && kw == 3 && dw == 1 && nr == 3)
                F(max_block)(x, W, hs, 3, dh, 3, 2, 1, c0, yo, io, 1);
            else if (sw == 1 && kw == 3 && dw == 1 && nr == 3)
                F(max_block)(x, W, hs, 3, dh, 3, 1, 1, c0, yo, io, 1);
            else
                F(max_block)(x, W, hs, nr, dh, kw, sw, dw, c0, yo, io, 1);
        } else {
            if (sw == 2 && kw == 2 && dw == 1 && nr == 2)
                F(max_block)(x, W, hs, 2, dh, 2, 2, 1, c0, yo, NULL, 0);
            else if (sw == 2 && kw == 3 && dw == 1 && nr == 3)
                F(max_block)(x, W, hs, 3, dh, 3, 2, 1, c0, yo, NULL, 0);
            else if (sw == 1 && kw == 3 && dw == 1 && nr == 3)
                F(max_block)(x, W, hs, 3, dh, 3, 1, 1, c0, yo, NULL, 0);
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
