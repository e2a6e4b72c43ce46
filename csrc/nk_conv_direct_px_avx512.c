/* nk_conv_direct_px_avx512.c -- AVX-512F micro-kernels of the direct
 * float32 forward for layers with very few output channels (Cog <= 6,
 * stride_w 1; driver: nk_conv_direct_avx2.c): CO output channels x R output
 * rows x 16 output pixels of a row, CO*R <= 24 zmm accumulators.  Per tap:
 * R unaligned loads of 16 input values (the zero-padded image read in
 * place), CO weight broadcasts, CO*R FMAs.  Tiles: 6 x 4 (Cog 4..6),
 * 8 x 3 (Cog 7..8: 8 weights a tap, as the AVX2 8 x 12 kernel's; the
 * 8-channel groups of ResNeXt-style layers; also two blocks of 8 of a
 * 16-channel packing, and at column stride 2 over the input split by
 * column parity), 3 x 8, 2 x 12, 1 x 12 (a decoder's image channels, the
 * gather-form backward-data of LeNet c1/c2).
 *
 * Why: the AVX2 6-channel x 16-pixel kernel ran these at half the vector
 * width, and the 16-channel tiles leave 10 to 15 of 16 lanes idle.  Each
 * output is the AVX2 kernel's FMA chain (bias, then the taps in
 * (c, kh, kw) order), so the bits equal the AVX2 level's (tested). */
#include <assert.h>
#include "nk_conv.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_TARGET_AVX512_PX __attribute__((target("avx512f,avx2,fma")))

/* xr: padded input at (first output row, first pixel); rs: input row step
 * between output rows (stride_h * Wp); wq: [c][kh][kw][WS]; y: output at
 * (first row, first pixel), rows OW apart, channels P apart.  SPLIT = 1:
 * column stride 2 over the padded input split into even and odd columns
 * (xr: the even plane, the odd one PO values on): tap kw reads plane
 * (kw*dw) & 1 at column (kw*dw) / 2, so a row's 16 values are again one
 * load; SPLIT = 0: tap kw reads column kw*dw (PO unused). */
#define NK_PX_KERNEL_WS(NAME, CO, R, WS, SPLIT)                                                 \
    NK_TARGET_AVX512_PX static void NAME(                                                        \
        const float *xr, int64_t rs, int64_t Wp, int64_t HWp, int64_t PO, int64_t dh,           \
        int64_t dw, int64_t Cig, int64_t kH, int64_t kW, const float *wq, const float *bias,    \
        float *y, int64_t P, int64_t OW, int64_t nch, __mmask16 m) {                            \
        __m512 acc[CO][R];                                                                       \
        _Pragma("GCC unroll 8") for (int o = 0; o < CO; o++)                                    \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                                \
                acc[o][r] = _mm512_set1_ps(bias[o]);                                             \
        for (int64_t c = 0; c < Cig; c++) {                                                      \
            for (int64_t kh = 0; kh < kH; kh++) {                                                \
                const float *xk0 = xr + c * HWp + kh * dh * Wp;                                  \
                for (int64_t kw = 0; kw < kW; kw++, wq += (WS)) {                                \
                    const int64_t t = kw * dw;                                                   \
                    const float *xk = (SPLIT) ? xk0 + (t & 1) * PO + (t >> 1) : xk0 + t;         \
                    __m512 xv[R];                                                                \
                    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                        \
                        xv[r] = _mm512_loadu_ps(xk + r * rs);                                    \
                    /* in registers: gcc otherwise folds the load into each \
                     * of the CO FMAs (CO unaligned loads per vector) */     \
                    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                        \
                        __asm__("" : "+v"(xv[r]));                                               \
                    _Pragma("GCC unroll 8") for (int o = 0; o < CO; o++) {                      \
                        const __m512 wv = _mm512_set1_ps(wq[o]);                                 \
                        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                    \
                            acc[o][r] = _mm512_fmadd_ps(wv, xv[r], acc[o][r]);                   \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
        _Pragma("GCC unroll 8") for (int o = 0; o < CO; o++) {                                  \
            if (o >= nch) break;                                                                 \
            _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                                \
                _mm512_mask_storeu_ps(y + o * P + r * OW, m, acc[o][r]);                         \
        }                                                                                        \
    }

#define NK_PX_KERNEL(CO, R) NK_PX_KERNEL_WS(nk_px_##CO##x##R, CO, R, 6, 0)
NK_PX_KERNEL(6, 1) NK_PX_KERNEL(6, 2) NK_PX_KERNEL(6, 3) NK_PX_KERNEL(6, 4)
NK_PX_KERNEL(3, 1) NK_PX_KERNEL(3, 2) NK_PX_KERNEL(3, 3) NK_PX_KERNEL(3, 4)
NK_PX_KERNEL(3, 5) NK_PX_KERNEL(3, 6) NK_PX_KERNEL(3, 7)
NK_PX_KERNEL(2, 1) NK_PX_KERNEL(2, 2) NK_PX_KERNEL(2, 3) NK_PX_KERNEL(2, 4)
NK_PX_KERNEL(2, 5) NK_PX_KERNEL(2, 6) NK_PX_KERNEL(2, 7) NK_PX_KERNEL(2, 8)
NK_PX_KERNEL(2, 9) NK_PX_KERNEL(2, 10)
NK_PX_KERNEL(1, 1) NK_PX_KERNEL(1, 2) NK_PX_KERNEL(1, 3) NK_PX_KERNEL(1, 4)
NK_PX_KERNEL(1, 5) NK_PX_KERNEL(1, 6) NK_PX_KERNEL(1, 7) NK_PX_KERNEL(1, 8)
NK_PX_KERNEL(1, 9) NK_PX_KERNEL(1, 10) NK_PX_KERNEL(1, 11) NK_PX_KERNEL(1, 12)

typedef void (*nk_px_fn)(const float *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, int64_t, const float *, const float *, float *,
                         int64_t, int64_t, int64_t, __mmask16);

/* 8 channels x up to 3 rows, weights 8 floats a tap (7-8 channels of a
 * group: what the AVX2 level packs for its 8 x 12 kernel; at column stride
 * 1, or 2 over the split columns) or 16 (half of the 16-channel kernels'
 * taps: 9-16 channels as two blocks of 8) */
NK_PX_KERNEL_WS(nk_px_8x1, 8, 1, 8, 0) NK_PX_KERNEL_WS(nk_px_8x2, 8, 2, 8, 0)
NK_PX_KERNEL_WS(nk_px_8x3, 8, 3, 8, 0)
NK_PX_KERNEL_WS(nk_px_8x1_w16, 8, 1, 16, 0) NK_PX_KERNEL_WS(nk_px_8x2_w16, 8, 2, 16, 0)
NK_PX_KERNEL_WS(nk_px_8x3_w16, 8, 3, 16, 0)
NK_PX_KERNEL_WS(nk_px8s2_1, 8, 1, 8, 1) NK_PX_KERNEL_WS(nk_px8s2_2, 8, 2, 8, 1)
NK_PX_KERNEL_WS(nk_px8s2_3, 8, 3, 8, 1)

void nk_conv_direct_f32_px8s2_avx512(const float *xr, int64_t rs, int64_t Wq, int64_t HWq,
                                     int64_t PO, int64_t dh, int64_t dw, int64_t Cig,
                                     int64_t kH, int64_t kW, const float *wq,
                                     const float *bias, float *y, int64_t P, int64_t OW,
                                     int64_t nch, int64_t nr, int64_t np) {
    static const nk_px_fn t[3] = {nk_px8s2_1, nk_px8s2_2, nk_px8s2_3};
    assert(nch >= 1 && nch <= 8 && nr >= 1 && nr <= 3 && np >= 1 && np <= 16);
    const __mmask16 m = (__mmask16)((1u << np) - 1u);
    t[nr - 1](xr, rs, Wq, HWq, PO, dh, dw, Cig, kH, kW, wq, bias, y, P, OW, nch, m);
}

static const nk_px_fn nk_px_table[4][12] = {
    {nk_px_1x1, nk_px_1x2, nk_px_1x3, nk_px_1x4, nk_px_1x5, nk_px_1x6, nk_px_1x7, nk_px_1x8,
     nk_px_1x9, nk_px_1x10, nk_px_1x11, nk_px_1x12},
    {nk_px_2x1, nk_px_2x2, nk_px_2x3, nk_px_2x4, nk_px_2x5, nk_px_2x6, nk_px_2x7, nk_px_2x8,
     nk_px_2x9, nk_px_2x10},
    {nk_px_3x1, nk_px_3x2, nk_px_3x3, nk_px_3x4, nk_px_3x5, nk_px_3x6, nk_px_3x7},
    {nk_px_6x1, nk_px_6x2, nk_px_6x3, nk_px_6x4}};

int64_t nk_conv_direct_px_rows_avx512(int64_t Cog) {
    assert(Cog >= 1 && Cog <= 6);
    return Cog == 1 ? 12 : Cog == 2 ? 10 : Cog == 3 ? 7 : 4;
}

void nk_conv_direct_f32_px_avx512(const float *xr, int64_t rs, int64_t Wp, int64_t HWp,
                                  int64_t dh, int64_t dw, int64_t Cig, int64_t kH, int64_t kW,
                                  const float *wq, const float *bias, float *y, int64_t P,
                                  int64_t OW, int64_t nch, int64_t nr, int64_t np) {
    assert(nch >= 1 && nch <= 6 && nr >= 1 && nr <= nk_conv_direct_px_rows_avx512(nch));
    assert(np >= 1 && np <= 16);
    const int co = nch <= 3 ? (int)nch - 1 : 3;
    const __mmask16 m = (__mmask16)((1u << np) - 1u);
    nk_px_table[co][nr - 1](xr, rs, Wp, HWp, 0, dh, dw, Cig, kH, kW, wq, bias, y, P, OW, nch,
                            m);
}

void nk_conv_direct_f32_px8_avx512(const float *xr, int64_t rs, int64_t Wp, int64_t HWp,
                                   int64_t dh, int64_t dw, int64_t Cig, int64_t kH, int64_t kW,
                                   const float *wq, const float *bias, float *y, int64_t P,
                                   int64_t OW, int64_t nch, int64_t nr, int64_t np, int ws) {
    static const nk_px_fn t8[2][3] = {{nk_px_8x1, nk_px_8x2, nk_px_8x3},
                                      {nk_px_8x1_w16, nk_px_8x2_w16, nk_px_8x3_w16}};
    assert(nch >= 1 && nch <= 8 && nr >= 1 && nr <= 3 && np >= 1 && np <= 16);
    assert(ws == 8 || ws == 16);
    const __mmask16 m = (__mmask16)((1u << np) - 1u);
    t8[ws == 16][nr - 1](xr, rs, Wp, HWp, 0, dh, dw, Cig, kH, kW, wq, bias, y, P, OW, nch, m);
}
#endif
