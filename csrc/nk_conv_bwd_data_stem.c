/* nk_conv_bwd_data_stem.c -- driver of the float32 backward-data of
 * stride-2 "stem" layers at the AVX2 and AVX-512 levels: 3 input channels
 * per group, a k x k kernel (k = 3, 5, 7) with padding (k-1)/2, dilation 1
 * -- the 7x7/s2 first layer of ResNets, the 3x3/s2 one of MobileNets.
 * Micro-kernels: nk_conv_ukr_f32_stem_dx_avx512.c (2 x 16 phase columns a
 * call) and nk_conv_ukr_f32_stem_dx_avx2.c (8); each dx value is the same
 * FMA chain in both, so the levels give the same bits.
 *
 * Why: the general strided path for few dx channels is the column form
 * (nk_conv_bwd_data_col): a 3*k*k x pixels column matrix written by a GEMM
 * of depth C_out, then added back into dx, with dy packed on the way; for
 * the stem those two passes over memory took a third of the time.  Here dy
 * is read in place, and every dx value is finished in registers and
 * stored once.  Measured on the 7x7/s2 stem (8 x 3 x 224 x 224 -> 64), min
 * of 3 alternations: dx 17.6 -> 13.5 ms at 1 thread, 8.3 -> 6.5 at 2; at
 * the AVX2 level 23.7 -> 20.1 and 11.7 -> 10.0.
 *
 * Tasks: (image, group, block of NK_STEM_ROWS phase rows, i.e. twice as
 * many dx rows); a task walks its rows, one tile of phase columns per
 * kernel call.  Each dx value is one fixed FMA chain, so the result does
 * not depend on the thread count.  Memory: one zero row of ceil(W/2) + 96
 * floats; nothing grows with N. */
#include <string.h>
#include "nk_conv.h"
#include "nk_runtime.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define NK_STEM_ROWS 8 /* phase rows per task */

int nk_conv_bwd_data_stem_ok(const nk_conv2d_shape *s) {
#if NK_X86_DISPATCH
    const int64_t k = s->kH;
    return nk_isa_active() == NK_ISA_AVX2 && s->stride_h == 2 && s->stride_w == 2 &&
           s->dil_h == 1 && s->dil_w == 1 && s->kW == k && (k == 3 || k == 5 || k == 7) &&
           s->pad_h == (k - 1) / 2 && s->pad_w == (k - 1) / 2 && s->C_in == 3 * s->groups;
#else
    (void)s;
    return 0;
#endif
}

#if NK_X86_DISPATCH
typedef void (*nk_stem_dx_fn)(int64_t, const float *const *, const int64_t *, const uint16_t *,
                              const float *, float *, int64_t, int64_t, int, const uint16_t *,
                              int64_t);

/* lanes [lo, hi) of an L-lane mask, clipped to [0, L) */
static uint16_t nk_stem_mask(int64_t lo, int64_t hi, int64_t L) {
    lo = nk_max_i64(lo, 0);
    hi = nk_min_i64(hi, L);
    if (hi <= lo) return 0;
    return (uint16_t)((((uint32_t)1 << hi) - 1u) & ~(((uint32_t)1 << lo) - 1u));
}

int nk_conv_bwd_data_stem_f32(const nk_conv2d_shape *s, const float *dy, const float *w,
                              float *dx, int nthreads, nk_status *status) {
    if (!nk_conv_bwd_data_stem_ok(s)) return 0;
    const int64_t k = s->kH, p = (k - 1) / 2, DMIN = -((k - 1 - p) / 2), DMAX = (1 + p) / 2;
    const int64_t ND = DMAX - DMIN + 1;
    const int64_t G = s->groups, Cog = s->C_out / G, OH = s->OH, OW = s->OW, P = OH * OW;
    const int64_t H = s->H, W = s->W, HW = H * W;
    const int64_t Hh = nk_ceil_div(H, 2), Wh = nk_ceil_div(W, 2); /* phase rows, columns */
    /* AVX-512: tiles of 2 vectors of 16 phase columns; AVX2: 1 of 8 */
    const int wide = nk_isa_level() == NK_ISA_AVX512;
    const int64_t L = wide ? 16 : 8, V = wide ? 2 : 1, TW = L * V;
    const nk_stem_dx_fn ukr = wide ? (k == 3   ? nk_conv_ukr_f32_stem_dx_k3_avx512
                                      : k == 5 ? nk_conv_ukr_f32_stem_dx_k5_avx512
                                               : nk_conv_ukr_f32_stem_dx_k7_avx512)
                                   : (k == 3   ? nk_conv_ukr_f32_stem_dx_k3_avx2
                                      : k == 5 ? nk_conv_ukr_f32_stem_dx_k5_avx2
                                               : nk_conv_ukr_f32_stem_dx_k7_avx2);
    const int64_t nblk = nk_ceil_div(Hh, NK_STEM_ROWS), ntasks = s->N * G * nblk;
    const int nt = nk_conv_threads(s, ntasks, nthreads);
    /* zero row: read at columns j0 + DMIN .. j0 + TW - 1 + DMAX, masked
     * lanes included, with j0 < Wh */
    const int64_t zpad = 16, zlen = Wh + 64 + 2 * zpad;
    float *zrow = nk_aligned_alloc((size_t)zlen * sizeof(float));
    if (!zrow) {
        *status = NK_ERR_NOMEM;
        return 1;
    }
    memset(zrow, 0, (size_t)zlen * sizeof(float));
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t t = 0; t < ntasks; t++) {
        const int64_t n = t / (G * nblk), g = t / nblk % G, i0 = t % nblk * NK_STEM_ROWS;
        const float *dyg = dy + (n * s->C_out + g * Cog) * P;
        const float *wg = w + g * Cog * 3 * k * k;
        float *dxg = dx + (n * s->C_in + g * 3) * HW;
        for (int64_t i = i0; i < nk_min_i64(Hh, i0 + NK_STEM_ROWS); i++) {
            const float *rb[4];
            int64_t rs[4];
            for (int64_t d = 0; d < 4; d++) {
                const int64_t oh = i + DMIN + (d < ND ? d : 0);
                const int in = oh >= 0 && oh < OH;
                rb[d] = in ? dyg + oh * OW : zrow + zpad;
                rs[d] = in ? P : 0;
            }
            const int nya = 2 * i + 1 < H ? 2 : 1;
            for (int64_t j0 = 0; j0 < Wh; j0 += TW) {
                const float *rows[4];
                uint16_t lm[8], sm[4];
                for (int64_t d = 0; d < 4; d++) rows[d] = rb[d] + j0;
                int full = 1; /* every dy column inside [0, OW) */
                for (int64_t dc = 0; dc < ND; dc++)
                    for (int64_t v = 0; v < V; v++) {
                        const int64_t c0 = j0 + L * v + dc + DMIN;
                        lm[dc * V + v] = nk_stem_mask(-c0, OW - c0, L);
                        full &= lm[dc * V + v] == (1u << L) - 1u;
                    }
                for (int64_t v = 0; v < V; v++)
                    for (int64_t h = 0; h < 2; h++) { /* dx columns inside [0, W) */
                        const int64_t x0 = 2 * (j0 + L * v) + L * h;
                        sm[v * 2 + h] = nk_stem_mask(0, W - x0, L);
                    }
                ukr(Cog, rows, rs, full ? NULL : lm, wg, dxg + 2 * i * W + 2 * j0, HW, W, nya,
                    sm, OW);
            }
        }
    }
    nk_aligned_free(zrow);
    *status = NK_OK;
    return 1;
}
#else
int nk_conv_bwd_data_stem_f32(const nk_conv2d_shape *s, const float *dy, const float *w,
                              float *dx, int nthreads, nk_status *status) {
    (void)s; (void)dy; (void)w; (void)dx; (void)nthreads; (void)status;
    return 0;
}
#endif
