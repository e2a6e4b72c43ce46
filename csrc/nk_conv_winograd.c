/* nk_conv_winograd.c -- float32 3x3 stride-1 conv2d forward by Winograd
 * F(4x4, 3x3) (Lavin & Gray 2016), and with it the stride-1 backward-data,
 * which is a forward over dy with flip(w)^T; and the weight gradient by the
 * same transforms transposed (see nk_wino_bwd_weight).  AVX2 and AVX-512 levels
 * (nk_conv_ukr_f32_wino_{avx2,avx512}.c; the same operations in the same
 * order, so the same bits at both).
 *
 * Y = A^T [ (G g G^T) . (B^T d B) ] A per 4x4 output tile: 36 products a
 * tile instead of 144 multiply-adds, i.e. 4x fewer flops; per tile and
 * transformed position xi (36 of them) the sum over input channels is a
 * GEMM:  M[xi] (K x tiles) = U[xi] (K x C) . V[xi] (C x tiles).
 *
 * Dilation d: a tile is the 4x4 outputs (oh0 + dh*i, ow0 + dw*j), read from
 * inputs d apart, so it is the same F(4x4, 3x3) on one of the dh*dw output
 * phases; per image the tiles are tile rows ta (phase ta % dh, origin
 * oh0 = ta % dh + 4*dh*(ta / dh)) times tile columns tb (likewise).
 * Padding is any: out-of-image inputs are masked-off gather lanes.
 *
 * Tasks are chunks of Tc consecutive tiles of the (image, ta, tb) order,
 * spanning images; per chunk one thread gathers and transforms its inputs
 * (V: 36 x C x Tc), runs the 36 GEMMs with the GEMM's micro-kernels
 * (AVX-512 12 x 32, AVX2 6 x 16: the same bits) on U's packed 6-row panels
 * (M: 36 x Kp x Tc), and transforms the outputs into y (masked scatters at
 * AVX-512, lane by lane at AVX2).  Every output element is computed the same
 * way whatever chunk or thread it falls in, so the result is bitwise the
 * same for any thread count (it is not the im2col path's: F(4x4, 3x3)
 * rounds differently, a few 1e-6 of the output's magnitude in float32,
 * against ~3e-7 for a direct sum; nnkern.set_conv_winograd(False) turns it
 * off).
 *
 * Inf and NaN: a tile's transform mixes all 36 of its inputs, so one inf
 * or NaN input would make all 16 outputs of its tile NaN, where a direct
 * sum leaves the outputs that do not read it alone.  The transforms report
 * non-finite values (x, w, or an overflow), and the call then returns 0
 * ("not done"): the caller runs the other paths, which overwrite y.
 *
 * Memory: U (36 x Kp x C floats, once per call; backward-data also a
 * rotated, transposed copy of w) + per thread
 * 36 x (C + Kp) x Tc floats, Tc chosen so that this is ~512 KiB (at least 32
 * tiles); the weight gradient: S (36 x K x C) + one chunk's V and P
 * (36 x (C + K) x T floats, 32 <= T <= 256 tiles: ~1 MiB, or with one
 * slot up to the size of S) + a serial-GEMM
 * workspace per thread.  None of it grows with N.  Shapes where int32 gather offsets could
 * overflow (x or y over 2^31 - 1 elements) take the other paths. */
#include <string.h>
#include "nk_conv.h"
#include "nk_conv_wino.h"
#include "nk_gemm_internal.h"
#include "nk_runtime.h"

#ifndef NK_WINO_CHUNK_BYTES
#define NK_WINO_CHUNK_BYTES ((int64_t)1 << 19)
#endif

/* The weight gradient's 36 transformed planes of V, P and S are this many
 * floats longer than their content: at power-of-two strides (C x T =
 * 256 x 128, K x C = 256 x 256) the 36 planes' stores or loads all fall in
 * one cache set (res3x3-14 dw 5.5 -> ~4.9 ms at 1 thread; the forward's V,
 * 32 tiles a chunk, gained nothing measurable). */
#ifndef NK_WINO_PLANE_PAD
#define NK_WINO_PLANE_PAD 16
#endif

static int nk_wino_on = 1;
void nk_conv_winograd_enable(int on) { __atomic_store_n(&nk_wino_on, on != 0, __ATOMIC_RELAXED); }
int nk_conv_winograd_enabled(void) { return __atomic_load_n(&nk_wino_on, __ATOMIC_RELAXED); }

typedef struct nk_wino_plan {
    int64_t C, K, Kp;      /* channels in, out, out rounded up to 6 */
    int64_t TRi, TCi, Ti;  /* tile rows, columns and tiles of an image */
    int64_t total, Tc, nchunk;
} nk_wino_plan;

static int nk_wino_make_plan(const nk_conv2d_shape *s, nk_wino_plan *p) {
    if (!nk_conv_winograd_enabled()) return 0;
#if NK_X86_DISPATCH
    if (nk_isa_level() != NK_ISA_AVX512 && nk_isa_level() != NK_ISA_AVX2) return 0;
#else
    return 0;
#endif
    if (s->kH != 3 || s->kW != 3 || s->stride_h != 1 || s->stride_w != 1 || s->groups != 1)
        return 0;
    if (s->N < 1 || s->OH < 1 || s->OW < 1 || s->C_in < 16 || s->C_out < 16) return 0;
    if (s->pad_h < 0 || s->pad_w < 0 || s->dil_h < 1 || s->dil_w < 1) return 0;
    int64_t nx, ny;
    if (nk_mul_i64(s->N * s->C_in, s->H * s->W, &nx) || nx > INT32_MAX ||
        nk_mul_i64(s->N * s->C_out, s->OH * s->OW, &ny) || ny > INT32_MAX)
        return 0;
    const int64_t dh = s->dil_h, dw = s->dil_w;
    p->C = s->C_in;
    p->K = s->C_out;
    p->Kp = nk_ceil_div(p->K, 6) * 6;
    p->TRi = dh * nk_ceil_div(nk_ceil_div(s->OH, dh), 4);
    p->TCi = dw * nk_ceil_div(nk_ceil_div(s->OW, dw), 4);
    p->Ti = p->TRi * p->TCi;
    /* computed pixels over output pixels: at most 1.5 (14x14: 1.31) */
    if (p->Ti * 16 * 2 > 3 * s->OH * s->OW) return 0;
    p->total = s->N * p->Ti;
    /* U (36 x Kp x C, transformed every call) must serve enough tiles: at
     * least 32, and at most 128 KiB of U a tile (8x512x7x7: 1.2 MiB a tile,
     * 2.4x slower than the shifted rows; 8x256x14x14: 74 KiB, 2x faster) */
    if (p->total < 32 || 36 * p->Kp * p->C * (int64_t)sizeof(float) > ((int64_t)128 << 10) * p->total)
        return 0;
    const int64_t per_tile = 36 * (p->C + p->Kp) * (int64_t)sizeof(float);
    int64_t tc = NK_WINO_CHUNK_BYTES / per_tile;
    tc = nk_max_i64(32, nk_min_i64(512, tc)) / 16 * 16;
    p->Tc = nk_min_i64(tc, nk_ceil_div(p->total, 16) * 16);
    p->nchunk = nk_ceil_div(p->total, p->Tc);
    /* the per-thread buffers stay small enough (C, K up to a few thousand) */
    if (36 * (p->C + p->Kp) * p->Tc > ((int64_t)1 << 26) || 36 * p->Kp * p->C > ((int64_t)1 << 28))
        return 0;
    return 1;
}

int nk_conv_fwd_winograd_ok(const nk_conv2d_shape *s) {
    nk_wino_plan p;
    return nk_wino_make_plan(s, &p);
}

/* The weight gradient: the forward's rule and >= 32 channels in and out
 * (with 16 on a side its GEMMs are too small for the transforms' cost:
 * 8x16x56x56 -> 64 took 1.6x the shifted-rows time, 8x64x56x56 -> 16 1.14x,
 * while 32 -> 32 channels gain 1.16-1.2x). */
static int nk_wino_dw_plan(const nk_conv2d_shape *s, nk_wino_plan *p) {
    return s->C_in >= 32 && s->C_out >= 32 && nk_wino_make_plan(s, p);
}

int nk_conv_bwd_weight_winograd_ok(const nk_conv2d_shape *s) {
    nk_wino_plan p;
    return nk_wino_dw_plan(s, &p);
}

#if NK_X86_DISPATCH
/* The 16 lanes' tiles t0 .. t0+15 (tiles past the end: every mask 0). */
static void nk_wino_fill_lanes(const nk_conv2d_shape *s, const nk_wino_plan *p, int64_t t0,
                               nk_wino_lanes *L) {
    const int64_t dh = s->dil_h, dw = s->dil_w;
    memset(L, 0, sizeof *L);
    for (int l = 0; l < 16; l++) {
        const int64_t t = t0 + l;
        if (t >= p->total) continue;
        const int64_t n = t / p->Ti, r = t % p->Ti, ta = r / p->TCi, tb = r % p->TCi;
        const int64_t oh0 = ta % dh + 4 * dh * (ta / dh), ow0 = tb % dw + 4 * dw * (tb / dw);
        const int64_t ih0 = oh0 - s->pad_h, iw0 = ow0 - s->pad_w;
        L->in[l] = (int32_t)(n * p->C * s->H * s->W + ih0 * s->W + iw0);
        L->out[l] = (int32_t)(n * p->K * s->OH * s->OW + oh0 * s->OW + ow0);
        const uint16_t bit = (uint16_t)(1u << l);
        for (int i = 0; i < 6; i++) {
            if (ih0 + dh * i >= 0 && ih0 + dh * i < s->H) L->irow[i] |= bit;
            if (iw0 + dw * i >= 0 && iw0 + dw * i < s->W) L->icol[i] |= bit;
        }
        for (int i = 0; i < 4; i++) {
            if (oh0 + dh * i < s->OH) L->orow[i] |= bit;
            if (ow0 + dw * i < s->OW) L->ocol[i] |= bit;
        }
    }
}

/* M[xi] = U[xi] . V[xi] for the chunk's Tc tiles (Tc a multiple of 16):
 * 12 x 32 register tiles, 6 / 16 at the edges. */
static void nk_wino_gemms(const nk_wino_plan *p, const float *U, const float *V, float *M,
                          int64_t Tc, int avx512) {
    static const nk_ukr_args_f32 args = {1.0f, 0.0f, NULL, 0, 0};
    const int64_t C = p->C, Kp = p->Kp;
    for (int xi = 0; xi < 36; xi++) {
        const float *Ux = U + xi * Kp * C, *Vx = V + xi * Tc * C;
        float *Mx = M + xi * Kp * Tc;
        if (!avx512) { /* AVX2: 6 x 16 (the AVX-512 kernels' bits) */
            for (int64_t j = 0; j < Tc; j += 16)
                for (int64_t i = 0; i < Kp; i += 6)
                    nk_gemm_ukr_f32_6x16_avx2(C, Ux + i * C, Vx + j * C, Mx + i * Tc + j, Tc, &args);
            continue;
        }
        for (int64_t j = 0; j < Tc; j += 32) {
            const int two_n = j + 32 <= Tc;
            for (int64_t i = 0; i < Kp; i += 12) {
                const int two_m = i + 12 <= Kp;
                const float *a = Ux + i * C, *b = Vx + j * C;
                float *c = Mx + i * Tc + j;
                if (two_m && two_n)
                    nk_gemm_ukr_f32_12x32_avx512(C, a, b, c, Tc, &args);
                else if (two_n)
                    nk_gemm_ukr_f32_6x32_avx512(C, a, b, c, Tc, &args);
                else if (two_m)
                    nk_gemm_ukr_f32_12x16_avx512(C, a, b, c, Tc, &args);
                else
                    nk_gemm_ukr_f32_6x16_avx2(C, a, b, c, Tc, &args);
            }
        }
    }
}

static int nk_wino_fwd(const nk_conv2d_shape *s, const float *x, const float *w, int flip,
                       const float *bias, float *y, int nthreads, nk_status *status) {
    nk_wino_plan p;
    if (!nk_wino_make_plan(s, &p)) return 0;
    if (!x || !w || !y) {
        *status = NK_ERR_ARG;
        return 1;
    }
    const int64_t C = p.C, K = p.K, Kp = p.Kp, Tc = p.Tc, ng = Tc / 16;
    const int nt = nk_conv_threads(s, p.nchunk, nthreads);
    const size_t ub = ((size_t)(36 * Kp * C) * sizeof(float) + 63) & ~(size_t)63;
    const size_t lb = ((size_t)ng * sizeof(nk_wino_lanes) + 63) & ~(size_t)63;
    const size_t per = (size_t)(36 * (C + Kp) * Tc) * sizeof(float) + lb;
    /* flip: w (C x K x 3 x 3) first copied as K x C rotated kernels (wt),
     * then transformed as a forward's: the transform's gathers across
     * w's 9 KiB rows missed the caches (res3x3-14 dx 4.9 -> 4.7 ms at 1
     * thread, 2.9 -> 2.6 at 2) */
    const size_t tb = flip ? ((size_t)(K * C * 9) * sizeof(float) + 63) & ~(size_t)63 : 0;
    char *ws = nk_aligned_alloc(ub + tb + per * (size_t)nt);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return 1;
    }
    float *U = (float *)ws;
    const int64_t HW = s->H * s->W, OHW = s->OH * s->OW;
    const int avx512 = nk_isa_level() == NK_ISA_AVX512;
    int (*const wfn)(const float *, int64_t, int64_t, int64_t, int64_t, int, float *, int64_t) =
        avx512 ? nk_wino_weights_f32_avx512 : nk_wino_weights_f32_avx2;
    int (*const infn)(const nk_wino_lanes *, const float *, int64_t, int64_t, int64_t, int64_t,
                      float *, int64_t, int64_t) = avx512 ? nk_wino_in_f32_avx512 : nk_wino_in_f32_avx2;
    void (*const outfn)(const nk_wino_lanes *, const float *, int64_t, float, float *, int64_t,
                        int64_t) = avx512 ? nk_wino_out_f32_avx512 : nk_wino_out_f32_avx2;
    int bad = 0; /* a non-finite transformed value: redo by another path */
#pragma omp parallel num_threads(nt)
    {
        char *mine = ws + ub + tb + (size_t)nk_thread_num() * per;
        nk_wino_lanes *L = (nk_wino_lanes *)mine;
        float *V = (float *)(mine + lb), *M = V + 36 * C * Tc;
        const int64_t ncb = nk_ceil_div(C, 16);
        const float *wk = w;
        if (flip) { /* wt[k, c] = w[c, k] rotated, 16 x 16 blocks */
            float *wt = (float *)(ws + ub);
            const int64_t nkb = nk_ceil_div(K, 16);
#pragma omp for schedule(static)
            for (int64_t u = 0; u < ncb * nkb; u++) {
                const int64_t c0 = u / nkb * 16, k0 = u % nkb * 16;
                const int64_t c1 = nk_min_i64(C, c0 + 16), k1 = nk_min_i64(K, k0 + 16);
                for (int64_t k = k0; k < k1; k++)
                    for (int64_t c = c0; c < c1; c++) {
                        const float *NK_RESTRICT src = w + (c * K + k) * 9;
                        float *NK_RESTRICT dst = wt + (k * C + c) * 9;
                        for (int t = 0; t < 9; t++) dst[t] = src[8 - t];
                    }
            }
            wk = wt;
        }
#pragma omp for schedule(static) reduction(| : bad)
        for (int64_t u = 0; u < Kp / 6 * ncb; u++) {
            const int64_t kp = u / ncb, c0 = (u % ncb) * 16;
            bad |= wfn(wk, K, C, kp, c0, (int)nk_min_i64(16, C - c0),
                                              U + kp * C * 6, Kp * C);
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t ch = 0; ch < p.nchunk; ch++) {
            if (__atomic_load_n(&bad, __ATOMIC_RELAXED)) continue;
            const int64_t t0 = ch * Tc;
            int nf = 0;
            for (int64_t g = 0; g < ng; g++) {
                nk_wino_fill_lanes(s, &p, t0 + g * 16, &L[g]);
                nf |= infn(&L[g], x, C, HW, s->dil_h * s->W, s->dil_w,
                                            V + g * 16 * C, Tc * C, 16);
            }
            if (nf) {
                __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
                continue;
            }
            nk_wino_gemms(&p, U, V, M, Tc, avx512);
            for (int64_t g = 0; g < ng; g++)
                for (int64_t k = 0; k < K; k++)
                    outfn(&L[g], M + k * Tc + g * 16, Kp * Tc,
                                           bias ? bias[k] : 0.0f, y + k * OHW,
                                           s->dil_h * s->OW, s->dil_w);
        }
    }
    if (bad) { /* inf or NaN in x or w: the direct paths give every output its own */
        nk_aligned_free(ws);
        return 0;
    }
    nk_aligned_free(ws);
    *status = NK_OK;
    return 1;
}
/* Weight gradient: dW[k, c] = G^T (sum over tiles t of (A dY[k, t] A^T) .
 * V[c, t]) G, the forward's transforms transposed: per chunk of T tiles, V
 * (36 x C x T, the forward's input transform) and P (36 x K x T, the dY
 * transform), then S[xi] (K x C) += P[xi] . V[xi]^T by the serial GEMM;
 * finally dW = G^T S G.
 *
 * The tiles are cut into NS fixed slots (by shape: up to 4 while their
 * NS partial S fit in 2^21 floats); a slot is one task, its chunks added in
 * order into its own S, and the slots summed in order at the end.  With one
 * slot (large K x C: res3x3-14) all threads share each chunk instead --
 * transforms by 16-tile groups, then one GEMM task per xi -- with the same
 * order of additions.  Either way every S element is a fixed sum for any
 * thread count. */
#ifndef NK_WINO_DW_CHUNK_BYTES
#define NK_WINO_DW_CHUNK_BYTES ((int64_t)1 << 20)
#endif
#ifndef NK_WINO_DW_MIN_T
#define NK_WINO_DW_MIN_T 32
#endif
#define NK_WINO_DW_SLOT_ELEMS ((int64_t)1 << 21)

typedef int (*nk_wino_tr_fn)(const nk_wino_lanes *, const float *, int64_t, int64_t, int64_t,
                             int64_t, float *, int64_t, int64_t);

typedef struct nk_wino_dw_ctx {
    const nk_conv2d_shape *s;
    const nk_wino_plan *p;
    const float *x, *dy;
    int64_t T, vs, ps, ss; /* the 36 planes' strides in V, P and S */
    nk_wino_tr_fn infn, dyfn;
} nk_wino_dw_ctx;

/* V and P of group g (16 tiles) of the chunk starting at tile tc; 1 when
 * a value is not finite. */
static int nk_wino_dw_transform(const nk_wino_dw_ctx *cx, int64_t tc, int64_t g, float *V,
                                float *P) {
    const nk_conv2d_shape *s = cx->s;
    const int64_t C = cx->p->C, K = cx->p->K, T = cx->T;
    nk_wino_lanes L;
    nk_wino_fill_lanes(s, cx->p, tc + g * 16, &L); /* past the end: zeros */
    int nf = cx->infn(&L, cx->x, C, s->H * s->W, s->dil_h * s->W, s->dil_w, V + g * 16, cx->vs, T);
    nf |= cx->dyfn(&L, cx->dy, K, s->OH * s->OW, s->dil_h * s->OW, s->dil_w, P + g * 16, cx->ps, T);
    return nf;
}

static void nk_wino_dw_gemm(const nk_wino_dw_ctx *cx, int xi, int64_t depth, int first,
                            const float *V, const float *P, float *S, void *gws) {
    const int64_t C = cx->p->C, K = cx->p->K, T = cx->T;
    const nk_gemm_operand_f32 A = {P + xi * cx->ps, T, 1, NULL, NULL, NULL};
    const nk_gemm_operand_f32 B = {V + xi * cx->vs, T, 1, NULL, NULL, NULL};
    nk_gemm_serial_f32(K, C, depth, 1.0f, &A, &B, first ? 0.0f : 1.0f, S + xi * cx->ss, C, 1,
                       NULL, gws);
}

static int nk_wino_bwd_weight(const nk_conv2d_shape *s, const float *dy, const float *x,
                              float *dw, int nthreads, nk_status *status) {
    nk_wino_plan p;
    if (!nk_wino_dw_plan(s, &p)) return 0;
    if (!x || !dy || !dw) {
        *status = NK_ERR_ARG;
        return 1;
    }
    /* S's planes padded too (NK_WINO_PLANE_PAD); KC: a slot's floats */
    const int64_t C = p.C, K = p.K, ss = K * C + NK_WINO_PLANE_PAD, KC = 36 * ss;
    const int64_t G16 = nk_ceil_div(p.total, 16);
    const int64_t NS = nk_max_i64(1, nk_min_i64(nk_min_i64(4, G16), NK_WINO_DW_SLOT_ELEMS / KC));
    /* a chunk's V and P: ~1 MiB; with one slot (shared by the threads) up
     * to S's own size when S is larger: fewer passes over S and deeper
     * GEMMs (res3x3-14: 128 tiles, 5.9 -> 5.5 ms at 1 thread, 3.4 -> 2.9 at
     * 2; per-slot chunks stay at 1 MiB: res3x3-28 at 64 tiles was 3% slower) */
    const int64_t budget = NS == 1 ? nk_max_i64(NK_WINO_DW_CHUNK_BYTES, KC * (int64_t)sizeof(float))
                                   : NK_WINO_DW_CHUNK_BYTES;
    int64_t T = budget / (36 * (C + K) * (int64_t)sizeof(float));
    T = nk_min_i64(256, nk_max_i64(NK_WINO_DW_MIN_T, T / 16 * 16));
    T = nk_min_i64(T, G16 * 16);
    const int64_t nchunk = nk_ceil_div(p.total, T), ng = T / 16;
    /* the planes padded (NK_WINO_PLANE_PAD) */
    const int64_t vs = C * T + NK_WINO_PLANE_PAD, ps = K * T + NK_WINO_PLANE_PAD;
    const int nt = nk_conv_threads(s, NS > 1 ? NS : 36 * nchunk, nthreads);
    const size_t graw = nk_gemm_workspace_f32(K, C, T);
    if (graw > ((size_t)1 << 34)) return 0; /* SIZE_MAX: overflow */
    /* shared: the NS sums (and with one slot the chunk's V and P); per
     * thread: the GEMM workspace (and with several slots V and P) */
    const size_t vp = (size_t)(36 * (vs + ps)) * sizeof(float);
    /* V and P start on a 64-byte boundary (the transforms' aligned stores;
     * 36 K C floats need not be a multiple of 16: 171 x 171 channels) */
    const int64_t soff = nk_ceil_div(NS * KC, 16) * 16;
    const size_t shared = (size_t)soff * sizeof(float) + (NS == 1 ? vp : 0);
    const size_t per = ((graw + 63) & ~(size_t)63) + (NS > 1 ? vp : 0);
    char *ws = nk_aligned_alloc(shared + per * (size_t)nt);
    if (!ws) {
        *status = NK_ERR_NOMEM;
        return 1;
    }
    float *S = (float *)ws;
    for (int64_t j = 0; j < NS * 36; j++) /* the pads (the slots' sums add them) */
        memset(S + j * ss + K * C, 0, NK_WINO_PLANE_PAD * sizeof(float));
    const int avx512 = nk_isa_level() == NK_ISA_AVX512;
    const nk_wino_dw_ctx cx = {s, &p, x, dy, T, vs, ps, ss,
                               avx512 ? nk_wino_in_f32_avx512 : nk_wino_in_f32_avx2,
                               avx512 ? nk_wino_dy_f32_avx512 : nk_wino_dy_f32_avx2};
    void (*const dwfn)(const float *, int64_t, int, float *) =
        avx512 ? nk_wino_dw_f32_avx512 : nk_wino_dw_f32_avx2;
    int bad = 0;
#pragma omp parallel num_threads(nt)
    {
        char *mine = ws + shared + (size_t)nk_thread_num() * per;
        if (NS == 1) { /* all threads on each chunk */
            float *V = S + soff, *P = V + 36 * vs;
            for (int64_t ch = 0; ch < nchunk; ch++) {
                const int64_t t0 = ch * T, tn = nk_min_i64(T, p.total - t0);
#pragma omp for schedule(static)
                for (int64_t g = 0; g < ng; g++)
                    if (nk_wino_dw_transform(&cx, t0, g, V, P))
                        __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
                /* after that barrier every thread reads the same flag */
                if (__atomic_load_n(&bad, __ATOMIC_RELAXED)) break;
#pragma omp for schedule(dynamic, 1)
                for (int xi = 0; xi < 36; xi++)
                    nk_wino_dw_gemm(&cx, xi, nk_ceil_div(tn, 16) * 16, ch == 0, V, P, S, mine);
            }
        } else { /* one slot a task, its chunks in order */
            float *V = (float *)(mine + ((graw + 63) & ~(size_t)63)), *P = V + 36 * vs;
#pragma omp for schedule(dynamic, 1)
            for (int64_t j = 0; j < NS; j++) {
                const int64_t ta = j * G16 / NS * 16, tb = nk_min_i64((j + 1) * G16 / NS * 16, p.total);
                /* the slot in balanced chunks of <= T tiles (whole groups) */
                const int64_t Tj = nk_ceil_div(nk_ceil_div(tb - ta, nk_ceil_div(tb - ta, T)), 16) * 16;
                for (int64_t t0 = ta; t0 < tb; t0 += Tj) {
                    if (__atomic_load_n(&bad, __ATOMIC_RELAXED)) break;
                    const int64_t tn = nk_min_i64(Tj, tb - t0), ngc = nk_ceil_div(tn, 16);
                    int nf = 0;
                    /* slots and chunks start at whole 16-tile groups, so
                     * a partial group is the last one (lanes past the end: 0) */
                    for (int64_t g = 0; g < ngc; g++) nf |= nk_wino_dw_transform(&cx, t0, g, V, P);
                    if (nf) {
                        __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
                        break;
                    }
                    for (int xi = 0; xi < 36; xi++)
                        nk_wino_dw_gemm(&cx, xi, ngc * 16, t0 == ta, V, P, S + j * KC, mine);
                }
            }
        }
        if (NS > 1 && !__atomic_load_n(&bad, __ATOMIC_RELAXED)) {
            /* the slots' sums, in order, by contiguous blocks */
            const int64_t nb = nk_ceil_div(KC, 4096);
#pragma omp for schedule(static)
            for (int64_t u = 0; u < nb; u++) {
                float *NK_RESTRICT d = S + u * 4096;
                const int64_t n = nk_min_i64(4096, KC - u * 4096);
                for (int64_t j = 1; j < NS; j++) {
                    const float *NK_RESTRICT e = d + j * KC;
                    for (int64_t i = 0; i < n; i++) d[i] += e[i];
                }
            }
        }
        if (!__atomic_load_n(&bad, __ATOMIC_RELAXED)) {
            const int64_t ncb = nk_ceil_div(C, 16);
#pragma omp for schedule(static)
            for (int64_t u = 0; u < K * ncb; u++) {
                const int64_t k = u / ncb, c0 = (u % ncb) * 16;
                dwfn(S + k * C + c0, ss, (int)nk_min_i64(16, C - c0), dw + (k * C + c0) * 9);
            }
        }
    }
    nk_aligned_free(ws);
    if (bad) return 0; /* inf or NaN in x or dy: the other paths */
    *status = NK_OK;
    return 1;
}
#endif

int nk_conv_fwd_winograd_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                             const float *bias, float *y, int nthreads, nk_status *status) {
#if NK_X86_DISPATCH
    return nk_wino_fwd(s, x, w, 0, bias, y, nthreads, status);
#else
    (void)s; (void)x; (void)w; (void)bias; (void)y; (void)nthreads; (void)status;
    return 0;
#endif
}

int nk_conv_bwd_data_winograd_f32(const nk_conv2d_shape *t, const float *dy, const float *w,
                                  float *dx, int nthreads, nk_status *status) {
#if NK_X86_DISPATCH
    return nk_wino_fwd(t, dy, w, 1, NULL, dx, nthreads, status);
#else
    (void)t; (void)dy; (void)w; (void)dx; (void)nthreads; (void)status;
    return 0;
#endif
}

int nk_conv_bwd_weight_winograd_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                    float *dw, int nthreads, nk_status *status) {
#if NK_X86_DISPATCH
    return nk_wino_bwd_weight(s, dy, x, dw, nthreads, status);
#else
    (void)s; (void)dy; (void)x; (void)dw; (void)nthreads; (void)status;
    return 0;
#endif
}
