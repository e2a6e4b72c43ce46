/* nk_pool_avx2.c -- AVX2 plane kernels for pooling forward (see nk_pool.h).
 *
 * Vectorized along the output width: one vector = VL consecutive outputs of
 * one output row; a row of OW >= VL outputs is covered by blocks starting at
 * 0, VL, 2VL, ... and one last block ending at OW (overlapping the previous
 * one: outputs are pure writes, recomputing one is harmless).  Blocks whose
 * loads would leave the row [0, W) (the padded borders) use masked loads
 * (never touching memory outside the row) with -inf (max) or 0 (avg) in the
 * masked lanes and validity masks in the index search, so no output needs
 * the scalar path.  Stride 1 loads the window column j directly at
 * x + c0 + j*dw.  Stride 2 loads two vectors (2*VL consecutive inputs) and
 * deinterleaves them with one in-lane shuffle into even columns (column j)
 * and odd columns (column j+1, when dilation is 1): the shuffle leaves the
 * outputs in a fixed permuted lane order, which is undone with one
 * cross-lane permute just before the store (indices carry the same order).
 *
 * Max gives exactly the values and indices of the scalar rule
 * m = (v > m || isnan(v)) ? v : m scanned rows then columns (see max_block);
 * stride-1 max pooling is computed separably (max_sep_plane), sharing each
 * input row's horizontal maxima between the output rows that use it.
 * Avg: per-lane sums in the scalar order (masked lanes add +0, which never
 * changes a sum that started at +0), then one division: bitwise equal to
 * the scalar code.
 * Instantiated for float and double by including this file into itself. */
#ifndef NK_POOL_AVX2_T

#include <math.h>
#include <stdint.h>
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
#define vmul _mm256_mul_ps
#define vcolf(a, b) _mm256_cvtepi32_ps(_mm256_set_m128i(b, a))
#define vdiv _mm256_div_ps
#define vblend _mm256_blendv_ps
#define vmax _mm256_max_ps
#define vcmp _mm256_cmp_ps
#define vor _mm256_or_ps
#define vand _mm256_and_ps
#define vandnot _mm256_andnot_ps
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
#define IDX_T int32_t
#define imaxzero(v) _mm256_max_epi32(v, _mm256_setzero_si256())
/* element ordinals (e = r*kw + j, small) -> offsets r*rs + j*dw */
NK_AI __m256i iord2off_f32(__m256i k, int64_t kw, int64_t rs, int64_t dw) {
    const __m256 kf = _mm256_add_ps(_mm256_cvtepi32_ps(k), _mm256_set1_ps(0.5f));
    const __m256i r = _mm256_cvttps_epi32(_mm256_mul_ps(kf, _mm256_set1_ps(1.0f / (float)kw)));
    const __m256i j = _mm256_sub_epi32(k, _mm256_mullo_epi32(r, _mm256_set1_epi32((int)kw)));
    return _mm256_add_epi32(_mm256_mullo_epi32(r, _mm256_set1_epi32((int)rs)),
                            _mm256_mullo_epi32(j, _mm256_set1_epi32((int)dw)));
}
#define iord2off iord2off_f32
#define vmaskload _mm256_maskload_ps
#define vcastm _mm256_castsi256_ps
#define imaskcols(c, W)                                                                  \
    _mm256_and_si256(                                                                    \
        _mm256_cmpgt_epi32(_mm256_add_epi32(_mm256_set1_epi32((int)(c)), ilanes1()),     \
                           _mm256_set1_epi32(-1)),                                       \
        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(W)),                                  \
                           _mm256_add_epi32(_mm256_set1_epi32((int)(c)), ilanes1())))
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
#undef vmul
#undef vcolf
#undef vdiv
#undef vblend
#undef vmax
#undef vcmp
#undef vor
#undef vand
#undef vandnot
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
#undef IDX_T
#undef imaxzero
#undef iord2off
#undef vmaskload
#undef vcastm
#undef imaskcols

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
#define vmul _mm256_mul_pd
#define vcolf(a, b) _mm256_cvtepi32_pd(a)
#define vdiv _mm256_div_pd
#define vblend _mm256_blendv_pd
#define vmax _mm256_max_pd
#define vcmp _mm256_cmp_pd
#define vor _mm256_or_pd
#define vand _mm256_and_pd
#define vandnot _mm256_andnot_pd
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
#define IDX_T int64_t
#define imaxzero(v) \
    _mm256_blendv_epi8(_mm256_setzero_si256(), v, _mm256_cmpgt_epi64(v, _mm256_setzero_si256()))
NK_AI __m256i iord2off_f64(__m256i k, int64_t kw, int64_t rs, int64_t dw) {
    const __m128i k32 = _mm256_castsi256_si128(
        _mm256_permutevar8x32_epi32(k, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7)));
    const __m256d kf = _mm256_add_pd(_mm256_cvtepi32_pd(k32), _mm256_set1_pd(0.5));
    const __m128i r = _mm256_cvttpd_epi32(_mm256_mul_pd(kf, _mm256_set1_pd(1.0 / (double)kw)));
    const __m128i j = _mm_sub_epi32(k32, _mm_mullo_epi32(r, _mm_set1_epi32((int)kw)));
    const __m128i off = _mm_add_epi32(_mm_mullo_epi32(r, _mm_set1_epi32((int)rs)),
                                      _mm_mullo_epi32(j, _mm_set1_epi32((int)dw)));
    return _mm256_cvtepi32_epi64(off);
}
#define iord2off iord2off_f64
#define vmaskload _mm256_maskload_pd
#define vcastm _mm256_castsi256_pd
#define imaskcols(c, W)                                                                  \
    _mm256_and_si256(                                                                    \
        _mm256_cmpgt_epi64(_mm256_add_epi64(_mm256_set1_epi64x(c), ilanes1()),           \
                           _mm256_set1_epi64x(-1)),                                      \
        _mm256_cmpgt_epi64(_mm256_set1_epi64x(W),                                        \
                           _mm256_add_epi64(_mm256_set1_epi64x(c), ilanes1())))
#include "nk_pool_avx2.c"

#else /* !NK_X86_DISPATCH: never called (nk_isa_active() is generic) */
int nk_pool_max_plane_avx2_f32(const nk_pool2d_shape *s, const float *x, float *y,
                               int64_t *ind) { return 0; }
int nk_pool_max_plane_avx2_f64(const nk_pool2d_shape *s, const double *x, double *y,
                               int64_t *ind) { return 0; }
int nk_pool_avg_plane_avx2_f32(const nk_pool2d_shape *s, int cip, int64_t dov, const float *x,
                               float *y) { return 0; }
int nk_pool_avg_plane_avx2_f64(const nk_pool2d_shape *s, int cip, int64_t dov, const double *x,
                               double *y) { return 0; }
#endif

#else /* template body */

#define T NK_POOL_AVX2_T

/* VL columns starting at c of row xr: plain load, or masked load with `fill`
 * in the lanes outside [0, W). */
NK_AI V F(ld)(const T *xr, int64_t c, int64_t W, int masked, T fill) {
    if (!masked) return vload(xr + c);
    const __m256i mk = imaskcols(c, W);
    const V v = vmaskload(xr + c, mk);
    return fill == 0 ? v : vblend(vset1(fill), v, vcastm(mk));
}

/* Validity (all-ones lanes) of window column j for the block's outputs. */
NK_AI V F(valid)(int64_t c0, int64_t j, int64_t W, int64_t sw, int64_t dw) {
    if (sw == 1) return vcastm(imaskcols(c0 + j * dw, W));
    if (dw == 1) {
        const int64_t p = j & ~(int64_t)1;
        const V a = vcastm(imaskcols(c0 + p, W)), b = vcastm(imaskcols(c0 + p + VL, W));
        return (j & 1) ? vodds(a, b) : vevens(a, b);
    }
    return vevens(vcastm(imaskcols(c0 + j * dw, W)), vcastm(imaskcols(c0 + j * dw + VL, W)));
}

/* Window element (row xr, column j) for the block's VL outputs. */
NK_AI V F(elem)(const T *xr, int64_t c0, int64_t j, int64_t W, int64_t sw, int64_t dw,
                int masked, T fill) {
    if (sw == 1) return F(ld)(xr, c0 + j * dw, W, masked, fill);
    if (dw == 1) {
        const int64_t p = j & ~(int64_t)1;
        const V a = F(ld)(xr, c0 + p, W, masked, fill), b = F(ld)(xr, c0 + p + VL, W, masked, fill);
        return (j & 1) ? vodds(a, b) : vevens(a, b);
    }
    return vevens(F(ld)(xr, c0 + j * dw, W, masked, fill),
                  F(ld)(xr, c0 + j * dw + VL, W, masked, fill));
}

/* Exact for any input, NaNs included: the literal rule per lane, with the
 * first valid element always taken (PyTorch starts from it). */
NK_AI void F(max_block_exact)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh,
                              int64_t kw, int64_t sw, int64_t dw, int64_t c0, int masked, T *y,
                              int64_t *ind, int want) {
    const __m256i lanes = sw == 1 ? ilanes1() : ilanes2();
    V m = vset1(-INFINITY), seen = vzero();
    __m256i im = _mm256_setzero_si256();
    for (int64_t r = 0; r < nr; r++) {
        const int64_t h = hs + r * dh;
        const T *xr = x + h * W;
        const __m256i ib = iadd(iset1(h * W + c0), lanes);
        for (int64_t j = 0; j < kw; j++) {
            const V v = F(elem)(xr, c0, j, W, sw, dw, masked, -INFINITY);
            const V all = vcmp(v, v, _CMP_TRUE_UQ);
            const V ok = masked ? F(valid)(c0, j, W, sw, dw) : all;
            V upd = vor(vor(vcmp(v, m, _CMP_GT_OQ), vcmp(v, v, _CMP_UNORD_Q)),
                        vandnot(seen, all));
            upd = vand(upd, ok);
            seen = vor(seen, ok);
            m = vblend(m, v, upd);
            if (want) im = iblend(im, iadd(ib, iset1(j * dw)), upd);
        }
    }
    if (sw == 2) {
        m = vfix(m);
        if (want) im = _mm256_permute4x64_epi64(im, 0xD8);
    }
    vstore(y, m);
    if (want) istore(ind, im);
}

/* Max of the window without NaN bookkeeping; *maybe_nan is set when a NaN
 * may be among the loaded elements (the caller then redoes the block with
 * max_block_exact).  Unordered compares check two loads at a time. */
NK_AI V F(max_fast)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh, int64_t kw,
                    int64_t sw, int64_t dw, int64_t c0, int masked, int *maybe_nan) {
    /* Per-row maxima combined in scan order: vmax(later, earlier) keeps the
     * earlier value on ties, so the tree gives the sequential result while
     * shortening the dependency chain. */
    V m = vset1(-INFINITY), un = vzero();
    for (int64_t r = 0; r < nr; r++) {
        const T *xr = x + (hs + r * dh) * W;
        V rm = vset1(-INFINITY);
        if (sw == 1) {
            int64_t j = 0;
            for (; j + 1 < kw; j += 2) {
                V a = F(ld)(xr, c0 + j * dw, W, masked, -INFINITY);
                V b = F(ld)(xr, c0 + (j + 1) * dw, W, masked, -INFINITY);
                rm = vmax(vmax(b, a), rm);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
            if (j < kw) {
                V a = F(ld)(xr, c0 + j * dw, W, masked, -INFINITY);
                rm = vmax(a, rm);
                un = vor(un, vcmp(a, a, _CMP_UNORD_Q));
            }
        } else if (dw == 1) {
            for (int64_t j = 0; j < kw; j += 2) {
                V a = F(ld)(xr, c0 + j, W, masked, -INFINITY);
                V b = F(ld)(xr, c0 + j + VL, W, masked, -INFINITY);
                V e = vevens(a, b);
                rm = (j + 1 < kw) ? vmax(vmax(vodds(a, b), e), rm) : vmax(e, rm);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
        } else {
            for (int64_t j = 0; j < kw; j++) {
                V a = F(ld)(xr, c0 + j * dw, W, masked, -INFINITY);
                V b = F(ld)(xr, c0 + j * dw + VL, W, masked, -INFINITY);
                rm = vmax(vevens(a, b), rm);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
        }
        m = vmax(rm, m);
    }
    *maybe_nan = vmovemask(un) != 0;
    return m;
}

/* Index of the first valid element equal to m (NaN-free windows): scan
 * backwards so that the earliest match is the one kept. */
NK_AI __m256i F(max_index)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh,
                           int64_t kw, int64_t sw, int64_t dw, int64_t c0, int masked, V m) {
    const __m256i lanes = sw == 1 ? ilanes1() : ilanes2();
    __m256i im = _mm256_setzero_si256();
    for (int64_t rr = nr - 1; rr >= 0; rr--) {
        const int64_t h = hs + rr * dh;
        const T *xr = x + h * W;
        const __m256i ib = iadd(iset1(h * W + c0), lanes);
        for (int64_t j = kw - 1; j >= 0; j--) {
            const V v = F(elem)(xr, c0, j, W, sw, dw, masked, -INFINITY);
            V eq = vcmp(v, m, _CMP_EQ_OQ);
            if (masked) eq = vand(eq, F(valid)(c0, j, W, sw, dw));
            im = iblend(im, iadd(ib, iset1(j * dw)), eq);
        }
    }
    return im;
}

/* One pass for unmasked blocks with indices: besides the maximum, each lane
 * keeps the ordinal e = r*kw + j of the element that last raised it
 * (strictly greater: the first maximum wins, like the scalar rule); the
 * ordinals become offsets once per block.  Saves the second pass of
 * max_index.  NaN suspicion as in max_fast. */
NK_AI V F(max_fast_idx)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh, int64_t kw,
                        int64_t sw, int64_t dw, int64_t c0, __m256i *kout, int *maybe_nan) {
    V m = vset1(-INFINITY), un = vzero();
    __m256i k = _mm256_setzero_si256();
#define NK_STEP(v, e)                                \
    do {                                             \
        const V gt_ = vcmp(v, m, _CMP_GT_OQ);        \
        m = vmax(v, m);                              \
        k = iblend(k, iset1(e), gt_);                \
    } while (0)
    for (int64_t r = 0; r < nr; r++) {
        const T *xr = x + (hs + r * dh) * W + c0;
        const int64_t e0 = r * kw;
        if (sw == 1) {
            int64_t j = 0;
            for (; j + 1 < kw; j += 2) {
                V a = vload(xr + j * dw), b = vload(xr + (j + 1) * dw);
                NK_STEP(a, e0 + j);
                NK_STEP(b, e0 + j + 1);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
            if (j < kw) {
                V a = vload(xr + j * dw);
                NK_STEP(a, e0 + j);
                un = vor(un, vcmp(a, a, _CMP_UNORD_Q));
            }
        } else if (dw == 1) {
            for (int64_t j = 0; j < kw; j += 2) {
                V a = vload(xr + j), b = vload(xr + j + VL);
                V ev = vevens(a, b);
                NK_STEP(ev, e0 + j);
                if (j + 1 < kw) {
                    V od = vodds(a, b);
                    NK_STEP(od, e0 + j + 1);
                }
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
        } else {
            for (int64_t j = 0; j < kw; j++) {
                V a = vload(xr + j * dw), b = vload(xr + j * dw + VL);
                V ev = vevens(a, b);
                NK_STEP(ev, e0 + j);
                un = vor(un, vcmp(a, b, _CMP_UNORD_Q));
            }
        }
    }
#undef NK_STEP
    *kout = k;
    *maybe_nan = vmovemask(un) != 0;
    return m;
}

NK_AI void F(max_block)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh, int64_t kw,
                        int64_t sw, int64_t dw, int64_t c0, int masked, T *y, int64_t *ind,
                        int want) {
    int maybe_nan;
    if (want && !masked && nr * kw < 4096) {
        __m256i k;
        V m = F(max_fast_idx)(x, W, hs, nr, dh, kw, sw, dw, c0, &k, &maybe_nan);
        if (NK_LIKELY(!maybe_nan)) {
            const __m256i lanes = sw == 1 ? ilanes1() : ilanes2();
            __m256i im = iadd(iadd(iset1(hs * W + c0), lanes), iord2off(k, kw, dh * W, dw));
            if (sw == 2) {
                im = _mm256_permute4x64_epi64(im, 0xD8);
                m = vfix(m);
            }
            istore(ind, im);
            vstore(y, m);
            return;
        }
        F(max_block_exact)(x, W, hs, nr, dh, kw, sw, dw, c0, masked, y, ind, want);
        return;
    }
    V m = F(max_fast)(x, W, hs, nr, dh, kw, sw, dw, c0, masked, &maybe_nan);
    if (NK_UNLIKELY(maybe_nan)) {
        F(max_block_exact)(x, W, hs, nr, dh, kw, sw, dw, c0, masked, y, ind, want);
        return;
    }
    if (want) {
        __m256i im = F(max_index)(x, W, hs, nr, dh, kw, sw, dw, c0, masked, m);
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

/* Iterate the blocks of a row: starts 0, VL, ..., and OW - VL last. */
#define NK_FOR_BLOCKS(OW, BODY)                                     \
    for (int64_t ow0 = 0;;) {                                       \
        BODY;                                                       \
        if (ow0 + VL >= (OW)) break;                                \
        ow0 = nk_min_i64(ow0 + VL, (OW) - VL);                      \
    }

/* All blocks of one output row, for one specialization of the window. */
NK_AI void F(max_row)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t dh, int64_t kw,
                      int64_t sw, int64_t pw, int64_t dw, int64_t OW, T *y, int64_t *ind,
                      int want) {
    const int64_t foot = F(footprint)(kw, sw, dw);
    NK_FOR_BLOCKS(OW, {
        const int64_t c0 = ow0 * sw - pw;
        if (c0 < 0 || c0 + foot > W)
            F(max_block)(x, W, hs, nr, dh, kw, sw, dw, c0, 1, y + ow0, want ? ind + ow0 : NULL,
                         want);
        else
            F(max_block)(x, W, hs, nr, dh, kw, sw, dw, c0, 0, y + ow0, want ? ind + ow0 : NULL,
                         want);
    })
}

/* Stride-1, dilation-1 max pooling without indices, separably: the
 * horizontal maximum of each input row (over kw columns, in column order)
 * is computed once into a ring of kh rows and shared by the up to kh output
 * rows that use it; an output row is then the vertical maximum of its rows
 * in row order.  vmax(later, earlier) keeps the earlier value on ties, so
 * this is still the first maximum in row-major order, i.e. the scalar
 * result.  Rows holding a NaN are redone by the exact path. */
#define NK_SEP_MAX_KH 4
#define NK_SEP_MAX_OW 1024
/* Horizontal maxima of one input row (and, with idx, the in-plane index of
 * the first maximum: PyTorch starts from the first valid column, then takes
 * strictly greater elements). */
NK_AI void F(hmax_row)(const T *xr, int64_t rowbase, int64_t W, int64_t kw, int64_t pw,
                       int64_t OW, T *out, IDX_T *idx, int *nan, int want) {
    V un = vzero();
    NK_FOR_BLOCKS(OW, {
        const int64_t c0 = ow0 - pw;
        const int masked = c0 < 0 || c0 + (kw - 1) + VL > W;
        V m = vset1(-INFINITY);
        __m256i im = _mm256_setzero_si256();
        if (want) im = imaxzero(iadd(iset1(c0), ilanes1())); /* first valid column */
        for (int64_t j = 0; j < kw; j++) {
            const V v = F(ld)(xr, c0 + j, W, masked, -INFINITY);
            if (want) im = iblend(im, iadd(iset1(c0 + j), ilanes1()), vcmp(v, m, _CMP_GT_OQ));
            m = vmax(v, m);
            un = vor(un, vcmp(v, v, _CMP_UNORD_Q));
        }
        vstore(out + ow0, m);
        if (want) _mm256_storeu_si256((__m256i *)(idx + ow0), iadd(im, iset1(rowbase)));
    })
    *nan = vmovemask(un) != 0;
}

/* Stride-1, dilation-1 max pooling, separably: the horizontal maxima of
 * each input row are computed once into a ring of kh rows and shared by the
 * up to kh output rows that use it; an output row is then the vertical
 * maximum of its rows in row order.  Combining in scan order with strict
 * comparisons (vmax(later, earlier) keeps the earlier value on ties) gives
 * the first maximum in row-major order, i.e. exactly the scalar result.
 * Rows holding a NaN are redone by the exact path. */
NK_AI int F(max_sep_plane)(const nk_pool2d_shape *s, const T *x, T *y, int64_t *ind, int want) {
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW, kh = s->kh, kw = s->kw;
    const int64_t ph = s->ph, pw = s->pw;
    T ring[NK_SEP_MAX_KH][NK_SEP_MAX_OW + VL];
    IDX_T iring[NK_SEP_MAX_KH][NK_SEP_MAX_OW + VL];
    int nan[NK_SEP_MAX_KH];
    int64_t done = 0; /* input rows [0, done) are in the ring */
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t lo = nk_max_i64(oh - ph, 0), hi = nk_min_i64(oh - ph + kh, H); /* rows */
        for (; done < hi; done++) {
            const int64_t slot = done % kh;
            if (kw == 3)
                F(hmax_row)(x + done * W, done * W, W, 3, pw, OW, ring[slot], iring[slot],
                            &nan[slot], want);
            else
                F(hmax_row)(x + done * W, done * W, W, kw, pw, OW, ring[slot], iring[slot],
                            &nan[slot], want);
        }
        int any_nan = 0;
        const T *rows[NK_SEP_MAX_KH];
        const IDX_T *irows[NK_SEP_MAX_KH];
        const int64_t nr = hi - lo;
        for (int64_t h = lo; h < hi; h++) {
            any_nan |= nan[h % kh];
            rows[h - lo] = ring[h % kh];
            irows[h - lo] = iring[h % kh];
        }
        T *yr = y + oh * OW;
        int64_t *ir = want ? ind + oh * OW : NULL;
        if (NK_UNLIKELY(any_nan)) {
            F(max_row)(x, W, lo, nr, 1, kw, 1, pw, 1, OW, yr, ir, want);
            continue;
        }
        NK_FOR_BLOCKS(OW, {
            V m = vload(rows[0] + ow0);
            __m256i im = want ? _mm256_loadu_si256((const __m256i *)(irows[0] + ow0))
                              : _mm256_setzero_si256();
            for (int64_t r = 1; r < nr; r++) {
                const V v = vload(rows[r] + ow0);
                if (want)
                    im = iblend(im, _mm256_loadu_si256((const __m256i *)(irows[r] + ow0)),
                                vcmp(v, m, _CMP_GT_OQ));
                m = vmax(v, m);
            }
            vstore(yr + ow0, m);
            if (want) istore(ir + ow0, im);
        })
    }
    return 1;
}

NK_TARGET_AVX2
int F(nk_pool_max_plane_avx2)(const nk_pool2d_shape *s, const T *x, T *y, int64_t *ind) {
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW, kh = s->kh, kw = s->kw;
    const int64_t sh = s->sh, sw = s->sw, pw = s->pw, dh = s->dh, dw = s->dw;
    if ((sw != 1 && sw != 2) || OW < VL) return 0;
    if ((kw - 1) * dw + 2 * pw + W + 4 * VL > INT32_MAX / 2) return 0; /* 32-bit column lanes */
    if (sh == 1 && sw == 1 && dh == 1 && dw == 1 && kh <= NK_SEP_MAX_KH && OW <= NK_SEP_MAX_OW)
        return ind ? F(max_sep_plane)(s, x, y, ind, 1) : F(max_sep_plane)(s, x, y, NULL, 0);
    for (int64_t oh = 0; oh < OH; oh++) {
        /* window rows clipped to the input: hs, hs+dh, ... (nr rows) */
        const int64_t h0 = oh * sh - s->ph;
        const int64_t hs = h0 >= 0 ? h0 : h0 + ((-h0 + dh - 1) / dh) * dh;
        const int64_t nr = (nk_min_i64(h0 + (kh - 1) * dh + 1, H) - hs + dh - 1) / dh;
        T *yr = y + oh * OW;
        int64_t *ir = ind ? ind + oh * OW : NULL;
#define NK_ROW(WANT)                                                                   \
    if (sw == 2 && kw == 2 && dw == 1 && nr == 2)                                      \
        F(max_row)(x, W, hs, 2, dh, 2, 2, pw, 1, OW, yr, ir, WANT);                    \
    else if (sw == 2 && kw == 3 && dw == 1 && nr == 3)                                 \
        F(max_row)(x, W, hs, 3, dh, 3, 2, pw, 1, OW, yr, ir, WANT);                    \
    else if (sw == 1 && kw == 3 && dw == 1 && nr == 3)                                 \
        F(max_row)(x, W, hs, 3, dh, 3, 1, pw, 1, OW, yr, ir, WANT);                    \
    else                                                                               \
        F(max_row)(x, W, hs, nr, dh, kw, sw, pw, dw, OW, yr, ir, WANT);
        if (ind) {
            NK_ROW(1)
        } else {
            NK_ROW(0)
        }
#undef NK_ROW
    }
    return 1;
}

NK_AI void F(avg_block)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t kw, int64_t sw,
                        int64_t c0, int masked, V vd, T *y) {
    V acc = vzero();
    for (int64_t r = 0; r < nr; r++) {
        const T *xr = x + (hs + r) * W;
        if (sw == 1) {
            for (int64_t j = 0; j < kw; j++) acc = vadd(acc, F(ld)(xr, c0 + j, W, masked, 0));
        } else {
            for (int64_t j = 0; j < kw; j += 2) {
                V a = F(ld)(xr, c0 + j, W, masked, 0), b = F(ld)(xr, c0 + j + VL, W, masked, 0);
                acc = vadd(acc, vevens(a, b));
                if (j + 1 < kw) acc = vadd(acc, vodds(a, b));
            }
        }
    }
    if (sw == 2) acc = vfix(acc);
    vstore(y, vdiv(acc, vd));
}

/* Column part of the average divisor for outputs ow0 .. ow0+VL-1: the
 * window clipped to the padded extent (cip) or to the input. */
NK_AI V F(avg_colf)(int64_t ow0, int64_t W, int64_t kw, int64_t sw, int64_t pw, int cip) {
    const __m128i i4 = _mm_setr_epi32(0, 1, 2, 3);
    const __m128i vsw = _mm_set1_epi32((int)sw), vkw = _mm_set1_epi32((int)kw);
    const __m128i vwp = _mm_set1_epi32((int)(W + pw)), vw = _mm_set1_epi32((int)W);
    __m128i cf[2];
    for (int half = 0; half < 2; half++) {
        const __m128i ow = _mm_add_epi32(_mm_set1_epi32((int)(ow0 + 4 * half)), i4);
        const __m128i w0 = _mm_sub_epi32(_mm_mullo_epi32(ow, vsw), _mm_set1_epi32((int)pw));
        const __m128i wend = _mm_min_epi32(_mm_add_epi32(w0, vkw), vwp);
        cf[half] = cip ? _mm_sub_epi32(wend, w0)
                       : _mm_sub_epi32(_mm_min_epi32(wend, vw), _mm_max_epi32(w0, _mm_setzero_si128()));
    }
    return vcolf(cf[0], cf[1]);
}

NK_AI void F(avg_row)(const T *x, int64_t W, int64_t hs, int64_t nr, int64_t kw, int64_t sw,
                      int64_t pw, int64_t OW, int64_t rowf, int cip, int64_t dov, T *y) {
    const int64_t foot = F(footprint)(kw, sw, 1);
    const V vint = vset1(dov ? (T)dov : (T)(rowf * kw));
    NK_FOR_BLOCKS(OW, {
        const int64_t c0 = ow0 * sw - pw;
        if (c0 < 0 || c0 + foot > W) {
            const V vd = dov ? vint : vmul(vset1((T)rowf), F(avg_colf)(ow0, W, kw, sw, pw, cip));
            F(avg_block)(x, W, hs, nr, kw, sw, c0, 1, vd, y + ow0);
        } else {
            F(avg_block)(x, W, hs, nr, kw, sw, c0, 0, vint, y + ow0);
        }
    })
}

NK_TARGET_AVX2
int F(nk_pool_avg_plane_avx2)(const nk_pool2d_shape *s, int cip, int64_t dov, const T *x, T *y) {
    const int64_t H = s->H, W = s->W, OH = s->OH, OW = s->OW, kh = s->kh, kw = s->kw;
    const int64_t sh = s->sh, sw = s->sw, ph = s->ph, pw = s->pw;
    if ((sw != 1 && sw != 2) || OW < VL) return 0;
    if (kw + 2 * pw + W + 4 * VL > INT32_MAX / 2) return 0; /* 32-bit column lanes */
    if (!dov && (kh + ph) * kw >= (1 << 24)) return 0; /* rowf * colf must be exact in T */
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h0 = oh * sh - ph, hend = nk_min_i64(h0 + kh, H + ph);
        const int64_t hs = nk_max_i64(h0, 0), he = nk_min_i64(hend, H), nr = he - hs;
        const int64_t rowf = cip ? hend - h0 : nr;
        T *yr = y + oh * OW;
        if (sw == 2 && kw == 2 && nr == 2)
            F(avg_row)(x, W, hs, 2, 2, 2, pw, OW, rowf, cip, dov, yr);
        else if (sw == 2 && kw == 3 && nr == 3)
            F(avg_row)(x, W, hs, 3, 3, 2, pw, OW, rowf, cip, dov, yr);
        else if (sw == 1 && kw == 3 && nr == 3)
            F(avg_row)(x, W, hs, 3, 3, 1, pw, OW, rowf, cip, dov, yr);
        else
            F(avg_row)(x, W, hs, nr, kw, sw, pw, OW, rowf, cip, dov, yr);
    }
    return 1;
}

#undef T
#endif
