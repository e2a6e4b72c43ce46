/* nk_conv_igemm.c -- conv2d forward / backward drivers on implicit GEMM
 * (see nk_conv.h for the algorithms, task grids and memory bounds).
 *
 * The body is compiled twice, for float and double, by including this file
 * into itself with NK_CONV_T / NK_CONV_S defined. */
#ifndef NK_CONV_T
#include <stdlib.h>
#include <string.h>
#include "nk_conv.h"
#include "nk_gemm.h"
#include "nk_runtime.h"

/* Forward: images of at least NK_CONV_BIG_P output pixels (and 1x1 layers,
 * whose operand is then x itself) are cut into
 * chunks of <= NK_CONV_FWD_PB pixels; smaller ones are grouped into blocks of
 * <= NK_CONV_FWD_PB pixels (and <= NK_CONV_TILE output elements). */
#define NK_CONV_BIG_P 512
#define NK_CONV_FWD_PB 1024
#define NK_CONV_TILE ((int64_t)1 << 19)
/* bwd_weight: at most this many elements of per-chunk partial sums of dW. */
#define NK_CONV_DW_PART ((int64_t)1 << 19)
/* Keep the compiler from turning the short copy / fill loops of the packing
 * callbacks into memcpy/memset calls (they are 4..64 elements long). */
#if defined(__GNUC__) && !defined(__clang__)
#define NK_CONV_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NK_CONV_NO_LIBCALLS
#endif
/* Column tile of the stride > 1 bwd_data path (elements), and pixel floor. */
#define NK_CONV_COL_TILE ((int64_t)1 << 16)


static size_t nk_conv_round64(size_t b) { return (b + 63) & ~(size_t)63; }

/* Segments of consecutive output pixels that share an output row: walks
 * pixels j, j+1, ... starting at (oh, ow) in an OH x OW grid. */
typedef struct nk_conv_seg {
    int64_t oh, ow;
} nk_conv_seg;

#define NK_CONV_T float
#define NK_CONV_S(name) name##_f32
#define NK_CONV_PACK_FN nk_pack_f32_fn
#define NK_CONV_IS_F32 1
#define NK_CONV_ROWS_PACK nk_conv_pack_im2col_rows_avx2_f32
#define NK_CONV_ROWS_PACK_T nk_conv_pack_im2col_t_rows_avx2_f32
#include "nk_conv_igemm.c"
#undef NK_CONV_IS_F32
#undef NK_CONV_ROWS_PACK
#undef NK_CONV_ROWS_PACK_T
#undef NK_CONV_T
#undef NK_CONV_S
#undef NK_CONV_PACK_FN

#define NK_CONV_T double
#define NK_CONV_S(name) name##_f64
#define NK_CONV_PACK_FN nk_pack_f64_fn
#define NK_CONV_IS_F32 0
#define NK_CONV_ROWS_PACK nk_conv_pack_im2col_avx2_f64
#define NK_CONV_ROWS_PACK_T nk_conv_pack_im2col_t_avx2_f64
#include "nk_conv_igemm.c"
#undef NK_CONV_IS_F32
#undef NK_CONV_ROWS_PACK
#undef NK_CONV_ROWS_PACK_T
#undef NK_CONV_T
#undef NK_CONV_S
#undef NK_CONV_PACK_FN

#else /* ---------------------------------------------------------- template body */
#define T NK_CONV_T
#define S NK_CONV_S
#define OPERAND S(nk_gemm_operand)
#define EPILOGUE S(nk_gemm_epilogue)

/* dst[t*ds] = xrow[iw0 + t*step] where 0 <= iw0 + t*step < W (and xrow is not
 * NULL), else 0, for 0 <= t < len. */
static inline void S(nk_conv_gather_row)(T *NK_RESTRICT dst, int64_t ds,
                                         const T *NK_RESTRICT xrow, int64_t iw0, int64_t step,
                                         int64_t len, int64_t W) {
    int64_t lo = 0, hi = 0;
    if (xrow) {
        if (step == 1) {
            if (iw0 >= 0 && iw0 + len <= W) { /* interior: plain copy */
                const T *src = xrow + iw0;
                if (ds == 1)
                    for (int64_t t = 0; t < len; t++) dst[t] = src[t];
                else
                    for (int64_t t = 0; t < len; t++) dst[t * ds] = src[t];
                return;
            }
            lo = nk_min_i64(len, nk_max_i64(0, -iw0));
            hi = nk_min_i64(len, nk_max_i64(0, W - iw0));
        } else {
            lo = iw0 < 0 ? nk_min_i64(len, (-iw0 + step - 1) / step) : 0;
            hi = iw0 < W ? nk_min_i64(len, (W - iw0 + step - 1) / step) : 0;
        }
        if (hi < lo) hi = lo;
    }
    int64_t t = 0;
    if (ds == 1) {
        for (; t < lo; t++) dst[t] = 0;
        for (; t < hi; t++) dst[t] = xrow[iw0 + t * step];
        for (; t < len; t++) dst[t] = 0;
    } else {
        for (; t < lo; t++) dst[t * ds] = 0;
        for (; t < hi; t++) dst[t * ds] = xrow[iw0 + t * step];
        for (; t < len; t++) dst[t * ds] = 0;
    }
}

/* xrow[iw0 + t*step] += src[t] for the t that land inside [0, W). */
static inline void S(nk_conv_scatter_add_row)(T *NK_RESTRICT xrow, const T *NK_RESTRICT src,
                                              int64_t iw0, int64_t step, int64_t len,
                                              int64_t W) {
    int64_t lo, hi;
    if (step == 1) {
        lo = nk_min_i64(len, nk_max_i64(0, -iw0));
        hi = nk_min_i64(len, nk_max_i64(0, W - iw0));
    } else {
        lo = iw0 < 0 ? nk_min_i64(len, (-iw0 + step - 1) / step) : 0;
        hi = iw0 < W ? nk_min_i64(len, (W - iw0 + step - 1) / step) : 0;
    }
    if (step == 1) {
        for (int64_t t = lo; t < hi; t++) xrow[iw0 + t] += src[t];
    } else {
        for (int64_t t = lo; t < hi; t++) xrow[iw0 + t * step] += src[t];
    }
}

/* Two taps kw, kw + 1 of a stride-2, dilation-1 row at once:
 * xrow[iw0 + 2t] += s0[t] and xrow[iw0 + 1 + 2t] += s1[t] for the t that
 * land inside [0, W); where both do, one loop over consecutive pairs
 * (vectorized with interleaving shuffles; the two strided loops were a
 * third of the 7x7/s2 stem's backward-data).  Each element gets one value,
 * so the sums are those of two nk_conv_scatter_add_row calls. */
static inline void S(nk_conv_scatter_add_pair2)(T *NK_RESTRICT xrow, const T *NK_RESTRICT s0,
                                                const T *NK_RESTRICT s1, int64_t iw0,
                                                int64_t len, int64_t W) {
    const int64_t lo0 = iw0 < 0 ? nk_min_i64(len, (-iw0 + 1) / 2) : 0;
    const int64_t hi0 = iw0 < W ? nk_min_i64(len, (W - iw0 + 1) / 2) : 0;
    const int64_t lo1 = iw0 + 1 < 0 ? nk_min_i64(len, -iw0 / 2) : 0;
    const int64_t hi1 = iw0 + 1 < W ? nk_min_i64(len, (W - iw0) / 2) : 0;
    const int64_t lo = nk_max_i64(lo0, lo1), hi = nk_max_i64(lo, nk_min_i64(hi0, hi1));
    for (int64_t t = lo0; t < nk_min_i64(lo, hi0); t++) xrow[iw0 + 2 * t] += s0[t];
    for (int64_t t = lo1; t < nk_min_i64(lo, hi1); t++) xrow[iw0 + 1 + 2 * t] += s1[t];
    T *NK_RESTRICT xp = xrow + iw0;
    for (int64_t t = lo; t < hi; t++) {
        xp[2 * t] += s0[t];
        xp[2 * t + 1] += s1[t];
    }
    for (int64_t t = nk_max_i64(hi, lo0); t < hi0; t++) xrow[iw0 + 2 * t] += s0[t];
    for (int64_t t = nk_max_i64(hi, lo1); t < hi1; t++) xrow[iw0 + 1 + 2 * t] += s1[t];
}

/* ---- forward: B operand = im2col(x) with rows = output pixels of the
 * flattened (image, pixel) space, depth = (c, kh, kw) */
#define NK_CONV_NSEG 64

NK_CONV_NO_LIBCALLS void S(nk_conv_pack_im2col)(const void *vctx, int64_t i0, int64_t mn,
                                                int64_t p0, int64_t kc, int64_t w, T *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    const T *X = (const T *)cx->x;
    const int64_t HW = cx->H * cx->W, kk = cx->kH * cx->kW, P = cx->OH * cx->OW;
    const int64_t H = cx->H, W = cx->W, sw = cx->sw;
    int64_t seg_ii[NK_CONV_NSEG], seg_len[NK_CONV_NSEG], seg_ih[NK_CONV_NSEG],
        seg_iw[NK_CONV_NSEG];
    const T *seg_x[NK_CONV_NSEG];
    for (int64_t ii0 = 0; ii0 < mn; ii0 += w) {
        T *pd = dst + (ii0 / w) * kc * w;
        const int64_t np = nk_min_i64(w, mn - ii0);
        for (int64_t p = 0; p < kc; p++)
            for (int64_t ii = np; ii < w; ii++) pd[p * w + ii] = 0;
        int64_t j = cx->off + i0 + ii0, ii = 0;
        while (ii < np) {
            /* up to NK_CONV_NSEG segments of pixels sharing an output row */
            int64_t ns = 0;
            while (ii < np && ns < NK_CONV_NSEG) {
                const int64_t n = j / P, pix = j % P, oh = pix / cx->OW, ow = pix % cx->OW;
                const int64_t len = nk_min_i64(np - ii, cx->OW - ow);
                seg_ii[ns] = ii;
                seg_len[ns] = len;
                seg_ih[ns] = oh * cx->sh - cx->ph;
                seg_iw[ns] = ow * sw - cx->pw;
                seg_x[ns] = X + n * cx->xs_n;
                ns++;
                ii += len;
                j += len;
            }
            int64_t c = p0 / kk, r = p0 % kk;
            int64_t kh = r / cx->kW, kw = r % cx->kW;
            for (int64_t p = 0; p < kc; p++) {
                T *d = pd + p * w;
                const int64_t oh_off = kh * cx->dh, ow_off = kw * cx->dw, xo = c * HW;
                for (int64_t q = 0; q < ns; q++) {
                    const int64_t ih = seg_ih[q] + oh_off;
                    const T *row = (ih >= 0 && ih < H) ? seg_x[q] + xo + ih * W : NULL;
                    S(nk_conv_gather_row)(d + seg_ii[q], 1, row, seg_iw[q] + ow_off, sw,
                                          seg_len[q], W);
                }
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

/* Forward on a validated geometry; negative padding allowed (bwd_data).
 * Task grid (shape only): blocks of the flattened (image, pixel) space.
 * Large images (P >= NK_CONV_BIG_P): blocks never cross images and write y
 * directly; small images: blocks of up to NK_CONV_FWD_PB pixels span
 * images (so GEMM sees a wide N and packs the weights rarely), computed into
 * a per-thread Cog x PB tile and copied out. */
/* One allocation: nb blocks of wpe prepacked weight elements (*wpb bytes,
 * a multiple of 64), then nt per-thread workspaces of `per` bytes.  NULL
 * with *st set on overflow or allocation failure. */
static char *S(nk_conv_alloc_packed)(int64_t nb, int64_t wpe, size_t per, int nt, size_t *wpb,
                                     nk_status *st) {
    int64_t e;
    size_t total;
    *st = NK_ERR_OVERFLOW;
    if (wpe <= 0 || nk_mul_i64(nb, wpe, &e) || nk_bytes(e, sizeof(T), wpb) ||
        nk_bytes(nt, per, &total) || *wpb > SIZE_MAX - 64 || total > SIZE_MAX - 64 - *wpb)
        return NULL;
    *wpb = nk_conv_round64(*wpb);
    char *base = nk_aligned_alloc(*wpb + total);
    if (!base) *st = NK_ERR_NOMEM;
    return base;
}

static nk_status S(nk_conv_fwd_impl)(const nk_conv2d_shape *s, const T *x, const T *w,
                                     const T *bias, T *y, int nthreads) {
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    const int64_t P = s->OH * s->OW, HW = s->H * s->W, K = Cig * s->kH * s->kW;
    if (s->N * s->C_out * P == 0) return NK_OK;
    if (!y || (K > 0 && (!x || !w))) return NK_ERR_ARG;
    if (K == 0) { /* no input channels: y = bias */
        for (int64_t n = 0; n < s->N; n++)
            for (int64_t o = 0; o < s->C_out; o++) {
                T *yo = y + (n * s->C_out + o) * P;
                const T b = bias ? bias[o] : (T)0;
                for (int64_t j = 0; j < P; j++) yo[j] = b;
            }
        return NK_OK;
    }
    {   /* depthwise: plane by plane (nk_conv_depthwise.c), both dtypes */
        nk_status dst;
        if (S(nk_conv_fwd_depthwise)(s, x, w, bias, y, nthreads, &dst)) return dst;
    }
#if NK_CONV_IS_F32
    {
        /* AVX-512 level, >= 12 output channels: no im2col (nk_conv_shift.c);
         * strided layers (the 7x7/s2 stem) take it before the AVX2 direct
         * kernel for small layers (nk_conv_direct_avx2.c), stride-1 ones
         * after it (LeNet-sized layers stay direct, as at the AVX2 level) */
        nk_status dst;
        const int strided = s->stride_h > 1 || s->stride_w > 1;
        if (strided && nk_conv_fwd_shift_f32(s, x, w, bias, y, nthreads, &dst)) return dst;
        if (nk_conv_fwd_direct_f32(s, x, w, bias, y, nthreads, &dst)) return dst;
        if (!strided && nk_conv_fwd_winograd_f32(s, x, w, bias, y, nthreads, &dst)) return dst;
        if (!strided && nk_conv_fwd_shift_f32(s, x, w, bias, y, nthreads, &dst)) return dst;
    }
#endif
    const int64_t J = s->N * P;
    const int is1x1 = s->kH == 1 && s->kW == 1 && s->stride_h == 1 && s->stride_w == 1 &&
                      s->pad_h == 0 && s->pad_w == 0 && s->OH == s->H && s->OW == s->W;
    int64_t PB, nblk, per_img = 0;
    if (P >= NK_CONV_BIG_P || is1x1) {
        per_img = nk_ceil_div(P, NK_CONV_FWD_PB);
        if (s->N * G * per_img < 4) per_img = nk_min_i64(nk_ceil_div(4, s->N * G), nk_ceil_div(P, 256));
        PB = nk_ceil_div(P, per_img);
        per_img = nk_ceil_div(P, PB);
        nblk = s->N * per_img;
    } else {
        PB = nk_min_i64(J, nk_max_i64(256, nk_min_i64(NK_CONV_FWD_PB, NK_CONV_TILE / Cog)));
        nblk = nk_ceil_div(J, PB);
        if (G * nblk < 4 && J >= 4 * 256) {
            PB = nk_ceil_div(J, nk_ceil_div(4, G));
            nblk = nk_ceil_div(J, PB);
        }
    }
    const int64_t ntasks = G * nblk;
    const int nt = nk_conv_threads(s, ntasks, nthreads);

    size_t wsb = nk_conv_round64(S(nk_gemm_workspace)(Cog, PB, K)), tileb = 0, per;
    if (!per_img && s->N > 1) { /* blocks may span images */
        if (nk_bytes(Cog * PB, sizeof(T), &tileb)) return NK_ERR_OVERFLOW;
        tileb = nk_conv_round64(tileb);
    }
    per = wsb + tileb;
    /* the weights' panels, packed once for all tasks (they were packed
     * again by every task: a tenth of a 1x1 layer's forward) */
    const int64_t wpe = S(nk_gemm_prepack_a_size)(Cog, K);
    size_t wpb;
    nk_status ast;
    char *base = S(nk_conv_alloc_packed)(G, wpe, per, nt, &wpb, &ast);
    if (!base) return ast;
    T *wpk = (T *)base;
    for (int64_t g = 0; g < G; g++) {
        const OPERAND Wg = {w + g * Cog * K, K, 1, NULL, NULL, NULL};
        S(nk_gemm_prepack_a)(&Wg, Cog, K, wpk + g * wpe);
    }
    char *ws = base + wpb;

    /* AVX2 gathers for short rows, strides, and whenever the index fits */
    NK_CONV_PACK_FN pack = S(nk_conv_pack_im2col);
#if NK_X86_DISPATCH
    {
        nk_conv_pack_ctx probe = {x, s->C_in * HW, s->H, s->W, s->OH, s->OW, s->stride_h,
                                  s->stride_w, s->pad_h, s->pad_w, s->dil_h, s->dil_w,
                                  s->kH, s->kW, 0, 0};
        if (nk_isa_active() == NK_ISA_AVX2 && nk_conv_gather_ok(&probe, s->N, Cig))
            pack = (NK_CONV_IS_F32 && s->stride_w == 1) ? NK_CONV_ROWS_PACK
                                                        : S(nk_conv_pack_im2col_avx2);
    }
#endif
    nk_status status = NK_OK;
#pragma omp parallel num_threads(nt)
    {
        char *mine = ws + (size_t)nk_thread_num() * per;
        T *tile = (T *)(mine + wsb);
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t g = t / nblk, b = t % nblk;
            int64_t j0, nj;
            if (per_img) {
                const int64_t n = b / per_img, ch = b % per_img;
                j0 = n * P + ch * PB;
                nj = nk_min_i64(PB, P - ch * PB);
            } else {
                j0 = b * PB;
                nj = nk_min_i64(PB, J - j0);
            }
            const int64_t n0 = j0 / P, pix0 = j0 % P;
            const int direct = (j0 + nj - 1) / P == n0;
            const T *xg = x + g * Cig * HW;
            OPERAND A = {w + g * Cog * K, K, 1, NULL, NULL, wpk + g * wpe};
            OPERAND B;
            nk_conv_pack_ctx cx = {xg,       s->C_in * HW, s->H,     s->W,        s->OH,
                                   s->OW,    s->stride_h,  s->stride_w, s->pad_h, s->pad_w,
                                   s->dil_h, s->dil_w,     s->kH,       s->kW,    j0,
                                   0};
            if (is1x1 && direct) {
                B = (OPERAND){xg + n0 * s->C_in * HW + pix0, 1, HW, NULL, NULL};
            } else {
                B = (OPERAND){NULL, 0, 0, pack, &cx};
            }
            EPILOGUE ep = {bias ? bias + g * Cog : NULL, 1, 0};
            T *yg = y + g * Cog * P;
            nk_status st;
            if (direct) {
                st = S(nk_gemm_serial)(Cog, nj, K, (T)1, &A, &B, (T)0,
                                       yg + n0 * s->C_out * P + pix0, P, 1, &ep, mine);
            } else {
                st = S(nk_gemm_serial)(Cog, nj, K, (T)1, &A, &B, (T)0, tile, nj, 1, &ep, mine);
                /* copy the tile out, image by image */
                for (int64_t jj = 0; jj < nj;) {
                    const int64_t n = (j0 + jj) / P, pix = (j0 + jj) % P;
                    const int64_t len = nk_min_i64(nj - jj, P - pix);
                    for (int64_t o = 0; o < Cog; o++)
                        memcpy(yg + (n * s->C_out + o) * P + pix, tile + o * nj + jj,
                               (size_t)len * sizeof(T));
                    jj += len;
                }
            }
            if (st) {
#pragma omp critical(nk_conv_status)
                status = st;
            }
        }
    }
    nk_aligned_free(base);
    return status;
}

nk_status S(nk_conv2d_fwd)(const nk_conv2d_shape *s, const T *x, const T *w, const T *bias,
                           T *y, int nthreads) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    return S(nk_conv_fwd_impl)(s, x, w, bias, y, nthreads);
}

/* ---- backward data */

/* stride > 1: per (image, group, channel block): col = W^T . dy (bounded
 * pixel chunks), then col2im into the block's own channel planes. */
static nk_status S(nk_conv_bwd_data_col)(const nk_conv2d_shape *s, const T *dy, const T *w,
                                         T *dx, int nthreads) {
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    const int64_t P = s->OH * s->OW, HW = s->H * s->W, kk = s->kH * s->kW, Kcol = Cig * kk;
    const int64_t ng = s->N * G;
    int64_t ncb = 1;
    if (ng < 4) ncb = nk_min_i64(Cig, nk_ceil_div(4, ng));
    const int64_t cb = nk_ceil_div(Cig, ncb);
    ncb = nk_ceil_div(Cig, cb);
    const int64_t M = cb * kk;
    const int64_t PBc = nk_min_i64(P, nk_max_i64(64, NK_CONV_COL_TILE / M));
    const int64_t ntasks = ng * ncb;
    const int nt = nk_conv_threads(s, ntasks, nthreads);

    /* 1x1, stride 1, no padding: the column matrix is dx itself */
    const int same = kk == 1 && s->pad_h == 0 && s->pad_w == 0 && s->OH == s->H &&
                     s->OW == s->W;
    size_t gwsb = nk_conv_round64(S(nk_gemm_workspace)(M, PBc, Cog)), colb = 0, per;
    if (!same && nk_bytes(M * PBc, sizeof(T), &colb)) return NK_ERR_OVERFLOW;
    colb = nk_conv_round64(colb);
    per = gwsb + colb;
    /* the panels of W^T, packed once per (group, channel block) for all
     * images (every image packed them again: a sixth of a 1x1 layer's
     * backward-data) */
    const int64_t wpe = S(nk_gemm_prepack_a_size)(M, Cog);
    size_t wpb;
    nk_status ast;
    char *base = S(nk_conv_alloc_packed)(G * ncb, wpe, per, nt, &wpb, &ast);
    if (!base) return ast;
    T *wpk = (T *)base;
    for (int64_t gb = 0; gb < G * ncb; gb++) {
        const int64_t g = gb / ncb, c0 = gb % ncb * cb, m = nk_min_i64(cb, Cig - c0) * kk;
        const OPERAND Wt = {w + g * Cog * Kcol + c0 * kk, 1, Kcol, NULL, NULL, NULL};
        S(nk_gemm_prepack_a)(&Wt, m, Cog, wpk + gb * wpe);
    }
    char *ws = base + wpb;
    nk_status status = NK_OK;
#pragma omp parallel num_threads(nt)
    {
        char *mine = ws + (size_t)nk_thread_num() * per;
        T *col = (T *)(mine + gwsb);
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t n = t / (G * ncb), g = (t / ncb) % G, cbi = t % ncb;
            const int64_t c0 = cbi * cb, nc = nk_min_i64(cb, Cig - c0), m = nc * kk;
            T *dxp = dx + (n * s->C_in + g * Cig + c0) * HW;
            if (!same) memset(dxp, 0, (size_t)(nc * HW) * sizeof(T));
            const T *dyg = dy + (n * s->C_out + g * Cog) * P;
            OPERAND A = {w + g * Cog * Kcol + c0 * kk, 1, Kcol, NULL, NULL,
                         wpk + (g * ncb + cbi) * wpe};
            for (int64_t j0 = 0; j0 < P; j0 += PBc) {
                const int64_t nj = nk_min_i64(PBc, P - j0);
                OPERAND B = {dyg + j0, 1, P, NULL, NULL, NULL};
                nk_status st = same ? S(nk_gemm_serial)(m, nj, Cog, (T)1, &A, &B, (T)0, dxp + j0,
                                                        HW, 1, NULL, mine)
                                    : S(nk_gemm_serial)(m, nj, Cog, (T)1, &A, &B, (T)0, col, nj,
                                                        1, NULL, mine);
                if (st) {
#pragma omp critical(nk_conv_status)
                    status = st;
                    break;
                }
                if (same) continue;
                const int64_t oh0 = j0 / s->OW, ow0 = j0 % s->OW;
                for (int64_t r = 0; r < m; r++) {
                    const int64_t c = r / kk, kh = (r % kk) / s->kW, kw = r % s->kW;
                    T *xc = dxp + c * HW;
                    const T *src = col + r * nj;
                    const int64_t offh = kh * s->dil_h - s->pad_h, offw = kw * s->dil_w - s->pad_w;
                    /* stride 2, dilation 1: taps kw and kw + 1 together */
                    const int pair = s->stride_w == 2 && s->dil_w == 1 && kw + 1 < s->kW;
                    int64_t oh = oh0, ow = ow0, ii = 0;
                    while (ii < nj) {
                        const int64_t len = nk_min_i64(nj - ii, s->OW - ow);
                        const int64_t ih = oh * s->stride_h + offh;
                        if (ih >= 0 && ih < s->H) {
                            if (pair)
                                S(nk_conv_scatter_add_pair2)(xc + ih * s->W, src + ii,
                                                             src + nj + ii, ow * 2 + offw, len,
                                                             s->W);
                            else
                                S(nk_conv_scatter_add_row)(xc + ih * s->W, src + ii,
                                                           ow * s->stride_w + offw, s->stride_w,
                                                           len, s->W);
                        }
                        ii += len;
                        oh++;
                        ow = 0;
                    }
                    r += pair;
                }
            }
        }
    }
    nk_aligned_free(base);
    return status;
}

/* stride > 1, dilation 1, by output phases: the rows a + sh*i and columns
 * b + sw*j of dx (0 <= a < sh, 0 <= b < sw) receive only the kernel rows kh
 * with (a + ph - kh) % sh == 0 (and columns likewise), from dy rows
 * i + (a + ph - kh)/sh.  So each phase is a stride-1 forward over dy with a
 * sub-kernel of those taps (flipped, transposed weights) and padding
 * -min((a + ph - kh)/sh) (negative: a crop) -- which the forward drivers
 * run without im2col (shifted rows, AVX2 and AVX-512) -- into its own
 * phase buffer; then one pass interleaves all the phases into dx row by row
 * (spreading each phase on its own wrote every dx line sh*sw times over:
 * down3x3s2 dx 6.7 -> 6.3 ms).  No column matrix, no scatter-add.  Images go
 * in fixed chunks so that the phase buffers stay bounded (<= NK_CONV_PHASE
 * elements, or one image); each dx element is one fixed sum, whatever the
 * thread count. */
#define NK_CONV_PHASE ((int64_t)1 << 22)

/* wt[g][c][o][m][n] = w[g*Cog + o][c][khs[m]][kws[n]]: one phase's
 * sub-kernel, flipped and transposed, in blocks of 32 input channels (w read
 * in runs, as in the stride-1 flip) */
static void S(nk_conv_phase_weights)(const nk_conv2d_shape *s, const T *w, const int64_t *khs,
                                     int64_t na, const int64_t *kws, int64_t nb, T *wt) {
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    for (int64_t g = 0; g < G; g++)
        for (int64_t c0 = 0; c0 < Cig; c0 += 32)
            for (int64_t o = 0; o < Cog; o++)
                for (int64_t c = c0; c < nk_min_i64(Cig, c0 + 32); c++)
                    for (int64_t m = 0; m < na; m++)
                        for (int64_t n = 0; n < nb; n++)
                            wt[(((g * Cig + c) * Cog + o) * na + m) * nb + n] =
                                w[(((g * Cog + o) * Cig + c) * s->kH + khs[m]) * s->kW + kws[n]];
}

static nk_status S(nk_conv_bwd_data_phases)(const nk_conv2d_shape *s, const T *dy,
                                            const T *w, T *dx, int nthreads) {
    const int64_t G = s->groups, Cig = s->C_in / G;
    const int64_t sh = s->stride_h, sw = s->stride_w, kH = s->kH, kW = s->kW;
    const int64_t H = s->H, W = s->W, HW = H * W, P = s->OH * s->OW;
    /* the phases partition dx: all of them hold C_in*H*W values an image */
    const int64_t img = s->C_in * HW;
    const int64_t nimg = nk_max_i64(1, nk_min_i64(s->N, NK_CONV_PHASE / nk_max_i64(1, img)));
    size_t wb, tb;
    nk_status st;
    if ((st = nk_bytes(s->C_out * Cig * kH * kW, sizeof(T), &wb))) return st;
    if ((st = nk_bytes(nimg * img, sizeof(T), &tb))) return st;
    wb = nk_conv_round64(wb);
    char *ws = nk_aligned_alloc(wb + tb);
    if (!ws) return NK_ERR_NOMEM;
    T *wt = (T *)ws, *tmp = (T *)(ws + wb);
    int64_t khs[64], kws[64]; /* taps of a phase, last first (kH, kW <= 64 checked) */
    for (int64_t n0 = 0; n0 < s->N && st == NK_OK; n0 += nimg) {
        const int64_t cnt = nk_min_i64(nimg, s->N - n0);
        /* every phase's forward into its own buffer (phase (a, b): cnt x
         * C_in x Ha x Wb values at tmp + cnt * C_in * (values of the
         * phases before it); empty phases left unwritten) */
        int64_t off = 0;
        for (int64_t a = 0; a < sh && st == NK_OK; a++) {
            const int64_t Ha = a < H ? nk_ceil_div(H - a, sh) : 0;
            int64_t na = 0;
            for (int64_t kh = kH - 1; kh >= 0; kh--)
                if (((a + s->pad_h - kh) % sh + sh) % sh == 0) khs[na++] = kh;
            for (int64_t b = 0; b < sw && st == NK_OK; b++) {
                const int64_t Wb = b < W ? nk_ceil_div(W - b, sw) : 0;
                T *ph = tmp + cnt * s->C_in * off;
                off += Ha * Wb;
                if (Ha == 0 || Wb == 0) continue;
                int64_t nb = 0;
                for (int64_t kw = kW - 1; kw >= 0; kw--)
                    if (((b + s->pad_w - kw) % sw + sw) % sw == 0) kws[nb++] = kw;
                if (na == 0 || nb == 0) { /* no tap reaches this phase */
                    memset(ph, 0, (size_t)(cnt * s->C_in * Ha * Wb) * sizeof(T));
                    continue;
                }
                const int64_t pt = -((a + s->pad_h - khs[0]) / sh);
                const int64_t pl = -((b + s->pad_w - kws[0]) / sw);
                nk_conv2d_shape t = {cnt, s->C_out, s->OH, s->OW, s->C_in, na, nb, Ha, Wb,
                                     1,   1,        pt,    pl,    1,         1,  G};
                st = nk_conv2d_check_geometry(&t, 1);
                if (st) break;
                int done = 0;
#if NK_CONV_IS_F32
                /* float32: the forward packs the sub-kernel straight from w
                 * (tap m*nb + n is w's khs[m]*kW + kws[n]) when it takes the
                 * shifted-rows path; else wt */
                if (!nk_conv_direct_ok(&t)) {
                    int64_t tap[64 * 64];
                    for (int64_t m = 0; m < na; m++)
                        for (int64_t n = 0; n < nb; n++) tap[m * nb + n] = khs[m] * kW + kws[n];
                    done = nk_conv_bwd_data_shift_f32(&t, dy + n0 * s->C_out * P, w, kH * kW, tap,
                                                      ph, nthreads, &st);
                }
#endif
                if (!done) {
                    S(nk_conv_phase_weights)(s, w, khs, na, kws, nb, wt);
                    st = S(nk_conv_fwd_impl)(&t, dy + n0 * s->C_out * P, wt, NULL, ph, nthreads);
                }
            }
        }
        if (st) break;
        /* interleave the phases into dx, plane by plane and row by row (each
         * dx line written once, in order) */
        const int64_t planes = cnt * s->C_in;
        const int nt = nk_threads_for(nthreads, planes * HW, (int64_t)1 << 15);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t q = 0; q < planes; q++) {
            T *d = dx + (n0 * s->C_in + q) * HW;
            for (int64_t r = 0; r < H; r++) {
                const int64_t a = r % sh, i = r / sh, Ha = nk_ceil_div(H - a, sh);
                /* values of the phases before (a, 0): rows a' < a, all columns */
                int64_t po = 0;
                for (int64_t a2 = 0; a2 < a; a2++) po += nk_ceil_div(H - a2, sh) * W;
                T *dr = d + r * W;
                for (int64_t b = 0; b < sw && b < W; b++) {
                    const int64_t Wb = nk_ceil_div(W - b, sw);
                    const T *src = tmp + planes * po + (q * Ha + i) * Wb;
                    if (sw == 2 && b == 0 && W % 2 == 0) { /* both columns at once */
                        const T *src1 = src + planes * Ha * Wb;
                        for (int64_t j = 0; j < Wb; j++) {
                            dr[2 * j] = src[j];
                            dr[2 * j + 1] = src1[j];
                        }
                        break;
                    }
                    for (int64_t j = 0; j < Wb; j++) dr[b + sw * j] = src[j];
                    po += Ha * Wb;
                }
            }
        }
    }
    nk_aligned_free(ws);
    return st;
}

nk_status S(nk_conv2d_bwd_data)(const nk_conv2d_shape *s, const T *dy, const T *w, T *dx,
                                int nthreads) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    const int64_t nx = s->N * s->C_in * s->H * s->W, P = s->OH * s->OW;
    if (nx == 0) return NK_OK;
    if (!dx) return NK_ERR_ARG;
    if (s->C_out == 0 || P == 0) {
        memset(dx, 0, (size_t)nx * sizeof(T));
        return NK_OK;
    }
    if (!dy || !w) return NK_ERR_ARG;
    {   /* depthwise: plane by plane (nk_conv_depthwise.c), both dtypes */
        nk_status dst;
        if (S(nk_conv_bwd_data_depthwise)(s, dy, w, dx, nthreads, &dst)) return dst;
    }
    /* Column form for strides, and when dy has many more channels than dx:
     * the gather form packs Cog*kH*kW values per input pixel, the column form
     * writes and adds back Cig*kH*kW (and packs Cog) -- unless the gather
     * form is a small layer the direct kernel takes (float32, >= 4 dx
     * channels per group, e.g. LeNet c2; any number at the AVX-512 level,
     * e.g. LeNet c1's single channel: 2.3x faster than the column form). */
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G, kk = s->kH * s->kW;
    nk_conv2d_shape t = {s->N,
                         s->C_out,
                         s->OH,
                         s->OW,
                         s->C_in,
                         s->kH,
                         s->kW,
                         s->H,
                         s->W,
                         1,
                         1,
                         s->dil_h * (s->kH - 1) - s->pad_h,
                         s->dil_w * (s->kW - 1) - s->pad_w,
                         s->dil_h,
                         s->dil_w,
                         G};
    if (s->stride_h > 1 || s->stride_w > 1) {
#if NK_CONV_IS_F32
        {   /* stride-2 stems, 3 dx channels (nk_conv_bwd_data_stem.c) */
            nk_status dst;
            if (nk_conv_bwd_data_stem_f32(s, dy, w, dx, nthreads, &dst)) return dst;
        }
        /* phases whose forwards take the shifted-rows path (see
         * nk_conv_bwd_data_phases_ok in nk_conv_shift.c) */
        if (nk_conv_bwd_data_phases_ok(s))
            return S(nk_conv_bwd_data_phases)(s, dy, w, dx, nthreads);
#endif
        return S(nk_conv_bwd_data_col)(s, dy, w, dx, nthreads);
    }
#if NK_CONV_IS_F32
    { /* 3x3, groups 1: Winograd F(4x4, 3x3) over dy (nk_conv_winograd.c) */
        nk_status dst;
        if (nk_conv_bwd_data_winograd_f32(&t, dy, w, dx, nthreads, &dst)) return dst;
    }
#endif
    if (Cog > 2 * Cig) {
        int direct = 0;
#if NK_CONV_IS_F32
        /* AVX-512: any dx channel count (the Cog x rows x 16-pixel tiles of
         * nk_conv_direct_px_avx512.c use the vector width even for 1) */
        direct = Cig >= (nk_isa_level() == NK_ISA_AVX512 ? 1 : 4) &&
                 nk_isa_active() == NK_ISA_AVX2 && nk_conv_direct_ok(&t);
#endif
        if (!direct) return S(nk_conv_bwd_data_col)(s, dy, w, dx, nthreads);
    }

    /* stride 1: dx = conv(dy, flip(w)^T) with padding d*(k-1) - p. */
#if NK_CONV_IS_F32
    /* the shifted-rows forward packs flip(w)^T itself (unless the direct
     * kernel, which forward would try first, applies) */
    if (!nk_conv2d_check_geometry(&t, 1) && !nk_conv_direct_ok(&t)) {
        nk_status dst;
        if (nk_conv_bwd_data_shift_f32(&t, dy, w, kk, NULL, dx, nthreads, &dst)) return dst;
    }
#endif
    const int64_t nw = s->C_out * Cig * kk;
    size_t wb;
    if ((st = nk_bytes(nw, sizeof(T), &wb))) return st;
    T *wt = nk_aligned_alloc(wb);
    if (!wt) return NK_ERR_NOMEM;
    /* in blocks of 32 input channels: w is read in runs of 32*kk values
     * and wt written along 32 streams (a c-outer loop read w with a stride
     * of C_in*kk: a fifth of a 512-channel 7x7 layer's backward-data) */
    for (int64_t g = 0; g < G; g++)
        for (int64_t c0 = 0; c0 < Cig; c0 += 32)
            for (int64_t o = 0; o < Cog; o++)
                for (int64_t c = c0; c < nk_min_i64(Cig, c0 + 32); c++) {
                    const T *src = w + ((g * Cog + o) * Cig + c) * kk + (kk - 1);
                    T *dst = wt + ((g * Cig + c) * Cog + o) * kk;
                    for (int64_t r = 0; r < kk; r++) dst[r] = src[-r];
                }
    st = nk_conv2d_check_geometry(&t, 1);
    if (!st) st = S(nk_conv_fwd_impl)(&t, dy, wt, NULL, dx, nthreads);
    nk_aligned_free(wt);
    return st;
}

/* dw[i] = the partial sums part[bc * nw + i] of nbc batch chunks, added in
 * chunk order; the threads of the enclosing parallel region share i. */
void S(nk_conv_sum_chunks)(const T *part, int64_t nbc, int64_t nw, T *dw) {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < nw; i++) {
        T a = part[i];
        for (int64_t bc = 1; bc < nbc; bc++) a += part[bc * nw + i];
        dw[i] = a;
    }
}

/* ---- backward weight: depth = (image, output pixel) over a batch chunk */
/* A operand: rows = output channels o, depth = (n, pixel) of dy. */
NK_CONV_NO_LIBCALLS void S(nk_conv_pack_dy)(const void *vctx, int64_t i0, int64_t mn, int64_t p0,
                                            int64_t kc, int64_t w, T *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    const int64_t P = cx->OH * cx->OW;
    const int64_t npan = nk_ceil_div(mn, w);
    for (int64_t ii = 0; ii < npan * w; ii++) {
        T *d = dst + (ii / w) * kc * w + (ii % w);
        if (ii >= mn) {
            for (int64_t p = 0; p < kc; p++) d[p * w] = 0;
            continue;
        }
        const int64_t dd = cx->off + p0;
        int64_t n = dd / P, pix = dd % P, p = 0;
        while (p < kc) {
            const int64_t len = nk_min_i64(kc - p, P - pix);
            const T *src = (const T *)cx->x + n * cx->xs_n + (i0 + ii) * P + pix;
            for (int64_t t = 0; t < len; t++) d[(p + t) * w] = src[t];
            p += len;
            n++;
            pix = 0;
        }
    }
}

/* B operand: rows = (c, kh, kw) columns of dW, depth = (n, output pixel). */
NK_CONV_NO_LIBCALLS void S(nk_conv_pack_im2col_t)(const void *vctx, int64_t i0, int64_t mn,
                                                  int64_t p0, int64_t kc, int64_t w, T *dst) {
    const nk_conv_pack_ctx *cx = (const nk_conv_pack_ctx *)vctx;
    const int64_t P = cx->OH * cx->OW, kk = cx->kH * cx->kW, HW = cx->H * cx->W;
    const int64_t npan = nk_ceil_div(mn, w);
    for (int64_t ii = 0; ii < npan * w; ii++) {
        T *d = dst + (ii / w) * kc * w + (ii % w);
        if (ii >= mn) {
            for (int64_t p = 0; p < kc; p++) d[p * w] = 0;
            continue;
        }
        const int64_t q = cx->r0 + i0 + ii, c = q / kk, kh = (q % kk) / cx->kW, kw = q % cx->kW;
        const int64_t offh = kh * cx->dh - cx->ph, offw = kw * cx->dw - cx->pw;
        const int64_t dd = cx->off + p0;
        int64_t n = dd / P, pix = dd % P, p = 0;
        int64_t oh = pix / cx->OW, ow = pix % cx->OW;
        while (p < kc) {
            const int64_t len = nk_min_i64(kc - p, cx->OW - ow);
            const int64_t ih = oh * cx->sh + offh;
            const T *row =
                (ih >= 0 && ih < cx->H) ? (const T *)cx->x + n * cx->xs_n + c * HW + ih * cx->W : NULL;
            S(nk_conv_gather_row)(d + p * w, w, row, ow * cx->sw + offw, cx->sw, len, cx->W);
            p += len;
            ow = 0;
            if (++oh * cx->OW >= P) {
                oh = 0;
                n++;
            }
        }
    }
}

nk_status S(nk_conv2d_bwd_weight)(const nk_conv2d_shape *s, const T *dy, const T *x, T *dw,
                                  int nthreads) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;
    const int64_t P = s->OH * s->OW, kk = s->kH * s->kW, Kcol = Cig * kk;
    const int64_t nw = s->C_out * Kcol;
    if (nw == 0) return NK_OK;
    if (!dw) return NK_ERR_ARG;
    if (s->N * P == 0) {
        memset(dw, 0, (size_t)nw * sizeof(T));
        return NK_OK;
    }
    if (!dy || !x) return NK_ERR_ARG;
    {   /* depthwise: plane by plane (nk_conv_depthwise.c), both dtypes */
        nk_status dst;
        if (S(nk_conv_bwd_weight_depthwise)(s, dy, x, dw, nthreads, &dst)) return dst;
    }
#if NK_CONV_IS_F32
    { /* small stride-1 layers: direct AVX2 kernel (nk_conv_direct_avx2.c) */
        nk_status dst;
        /* 3x3 stride 1, groups 1: Winograd F(4x4, 3x3) (nk_conv_winograd.c) */
        if (nk_conv_bwd_weight_winograd_f32(s, dy, x, dw, nthreads, &dst)) return dst;
        if (nk_conv_bwd_weight_direct_f32(s, dy, x, dw, nthreads, &dst)) return dst;
        /* AVX2 and AVX-512 levels, column stride 1 or 2: no im2col (nk_conv_shift.c) */
        if (nk_conv_bwd_weight_shift_f32(s, dy, x, dw, nthreads, &dst)) return dst;
    }
#endif
    /* Fixed grid (shape only): batch chunks first -- dy is packed once --
     * while their partial sums stay small (<= NK_CONV_DW_PART elements),
     * then a few wide column blocks (each packs all of its chunk of dy). */
    int64_t nbc = nk_min_i64(s->N, 4);
    while (nbc > 1 && nbc * nw > NK_CONV_DW_PART) nbc--;
    const int64_t ipc = nk_ceil_div(s->N, nbc);
    nbc = nk_ceil_div(s->N, ipc);
    /* Blocks of the larger side of dW: each task packs all of the other
     * operand for its images, so split the side whose operand is larger
     * (1x1-14: 1024 output channels of dy vs 256 input channels of x --
     * splitting the inputs packed dy twice; dw 1.02-1.06x at 1 thread) */
    const int split_o = Cog > Kcol;
    const int same = kk == 1 && s->pad_h == 0 && s->pad_w == 0 && s->OH == s->H &&
                     s->OW == s->W;
    const int64_t span = split_o ? Cog : Kcol;
    int64_t ncol = 1;
    if (G * nbc < 4) ncol = nk_max_i64(1, nk_min_i64(nk_ceil_div(4, G * nbc), nk_ceil_div(span, 16)));
    const int64_t CB = nk_ceil_div(nk_ceil_div(span, ncol), 16) * 16;
    ncol = nk_ceil_div(span, CB);
    const int64_t ntasks = nbc * G * ncol;
    const int nt = nk_conv_threads(s, ntasks, nthreads);

    size_t wsb = nk_conv_round64(S(nk_gemm_workspace)(split_o ? nk_min_i64(Cog, CB) : Cog,
                                                      split_o ? Kcol : nk_min_i64(Kcol, CB),
                                                      ipc * P)),
           total, partb = 0;
    if (nk_bytes(nt, wsb, &total)) return NK_ERR_OVERFLOW;
    if (nbc > 1) {
        if (nk_bytes(nbc * nw, sizeof(T), &partb)) return NK_ERR_OVERFLOW;
        partb = nk_conv_round64(partb);
        if (total > SIZE_MAX / 2 - partb) return NK_ERR_OVERFLOW;
    }
    char *ws = nk_aligned_alloc(total + partb);
    if (!ws) return NK_ERR_NOMEM;
    T *part = nbc > 1 ? (T *)(ws + total) : NULL;
    NK_CONV_PACK_FN packt = S(nk_conv_pack_im2col_t), packa = S(nk_conv_pack_dy);
#if NK_X86_DISPATCH && NK_CONV_IS_F32
    if (nk_isa_active() == NK_ISA_AVX2) packa = nk_conv_pack_dy_avx2_f32;
#endif
#if NK_X86_DISPATCH
    {
        nk_conv_pack_ctx probe = {x, s->C_in * s->H * s->W, s->H, s->W, s->OH, s->OW,
                                  s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->dil_h,
                                  s->dil_w, s->kH, s->kW, 0, 0};
        if (nk_isa_active() == NK_ISA_AVX2 && nk_conv_gather_ok(&probe, s->N, Cig))
            /* long rows: row copies + transposes; short rows: gathers (measured) */
            packt = (NK_CONV_IS_F32 && s->stride_w == 1 && s->OW >= 32) ? NK_CONV_ROWS_PACK_T
                                                         : S(nk_conv_pack_im2col_t_avx2);
    }
#endif
    nk_status status = NK_OK;
#pragma omp parallel num_threads(nt)
    {
        void *tws = ws + (size_t)nk_thread_num() * wsb;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntasks; t++) {
            const int64_t bc = t / (G * ncol), g = (t / ncol) % G, cbk = t % ncol;
            const int64_t b0 = cbk * CB, nb = nk_min_i64(CB, span - b0);
            /* this task's output channels [o0, o0 + no) and taps [q0, q0 + nq) */
            const int64_t o0 = split_o ? b0 : 0, no = split_o ? nb : Cog;
            const int64_t q0 = split_o ? 0 : b0, nq = split_o ? Kcol : nb;
            const int64_t n0 = bc * ipc, n1 = nk_min_i64(s->N, n0 + ipc);
            nk_conv_pack_ctx ca = {dy + (g * Cog + o0) * P, s->C_out * P, 0, 0, s->OH, s->OW, 0,
                                   0, 0, 0, 0, 0, 0, 0, n0 * P, 0};
            /* 1x1, stride 1, no padding: B = x's rows (channels), packed
             * like dy's (16-row panels; measured, 1x1-14 dw: 1.01-1.07x) */
            const nk_conv_pack_ctx cx1 = {x + (g * Cig + q0) * P, s->C_in * P, 0, 0, s->OH,
                                          s->OW, 0, 0, 0, 0, 0, 0, 0, 0, n0 * P, 0};
            nk_conv_pack_ctx cb = {x + g * Cig * s->H * s->W,
                                   s->C_in * s->H * s->W,
                                   s->H,
                                   s->W,
                                   s->OH,
                                   s->OW,
                                   s->stride_h,
                                   s->stride_w,
                                   s->pad_h,
                                   s->pad_w,
                                   s->dil_h,
                                   s->dil_w,
                                   s->kH,
                                   s->kW,
                                   n0 * P,
                                   q0};
            OPERAND A = {NULL, 0, 0, packa, &ca, NULL};
            OPERAND B = same ? (OPERAND){NULL, 0, 0, packa, &cx1, NULL}
                             : (OPERAND){NULL, 0, 0, packt, &cb, NULL};
            T *out = (part ? part + bc * nw : dw) + (g * Cog + o0) * Kcol + q0;
            nk_status st = S(nk_gemm_serial)(no, nq, (n1 - n0) * P, (T)1, &A, &B, (T)0, out,
                                             Kcol, 1, NULL, tws);
            if (st) {
#pragma omp critical(nk_conv_status)
                status = st;
            }
        }
        if (part) S(nk_conv_sum_chunks)(part, nbc, nw, dw);
    }
    nk_aligned_free(ws);
    return status;
}

/* ---- backward bias: per channel, images in order, pixels in 8 fixed lanes */
nk_status S(nk_conv2d_bwd_bias)(const nk_conv2d_shape *s, const T *dy, T *db, int nthreads) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    const int64_t P = s->OH * s->OW, C = s->C_out;
    if (C == 0) return NK_OK;
    if (!db || (s->N * P > 0 && !dy)) return NK_ERR_ARG;
    int nt = nk_threads_for(nthreads, s->N * P * C, (int64_t)1 << 16);
    if (nt > C) nt = (int)C;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t o = 0; o < C; o++) {
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t n = 0; n < s->N; n++) {
            const T *src = dy + (n * C + o) * P;
            int64_t j = 0;
            for (; j + 8 <= P; j += 8)
                for (int k = 0; k < 8; k++) lane[k] += (double)src[j + k];
            for (; j < P; j++) lane[j & 7] += (double)src[j];
        }
        db[o] = (T)(((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                    ((lane[4] + lane[5]) + (lane[6] + lane[7])));
    }
    return NK_OK;
}

#undef T
#undef S
#undef OPERAND
#undef EPILOGUE
#endif
