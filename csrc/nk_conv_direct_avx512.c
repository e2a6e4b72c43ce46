/* nk_conv_direct_avx512.c -- AVX-512F micro-kernel of the direct float32
 * forward for small layers (driver: nk_conv_direct_avx2.c): 16 output
 * channels (one zmm of packed weights per tap) x 12 output pixels (twelve
 * broadcasts of input values read straight from the zero-padded image),
 * 12 accumulators, transposed in registers and stored straight into the
 * channel planes of y (a scalar tile copy took a fifth of LeNet c2).  Twice
 * the pixels per tap of the AVX2 16 x 6 kernel for the same instruction
 * count; each output is the same FMA chain (bias, then the taps in
 * (c, kh, kw) order), so the bits equal the AVX2 kernel's.  Short rows
 * (6-11 pixels) take tiles of whole rows instead (NK_DIRECT_ROWS below):
 * LeNet c2 forward 1.26x (1 thread, min of 3 alternations). */
#include <assert.h>
#include "nk_conv.h"

#if NK_X86_DISPATCH
#include <immintrin.h>
#include "nk_tr16_avx512.h"

#define NK_TARGET_AVX512_DIRECT __attribute__((target("avx512f,avx2,fma")))

/* The body, inlined twice: with sw = 1 the twelve input offsets are
 * constants (address displacements); a run-time stride needs eleven
 * registers and spilled them. */
NK_TARGET_AVX512_DIRECT static inline __attribute__((always_inline)) void nk_direct_16x12(
    const float *xr, int64_t Wp, int64_t HWp, int64_t sw, int64_t dh, int64_t dw, int64_t Cig,
    int64_t kH, int64_t kW, const float *wp, const float *bias, float *y, int64_t P, int64_t nch,
    int64_t np) {
    const __m512 b = _mm512_loadu_ps(bias);
    __m512 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b;
    __m512 a6 = b, a7 = b, a8 = b, a9 = b, a10 = b, a11 = b;
    for (int64_t c = 0; c < Cig; c++) {
        for (int64_t kh = 0; kh < kH; kh++) {
            const float *xk = xr + c * HWp + kh * dh * Wp;
            for (int64_t kw = 0; kw < kW; kw++, xk += dw, wp += 16) {
                const __m512 w0 = _mm512_loadu_ps(wp);
#define NK_DIRECT_STEP(acc, i) acc = _mm512_fmadd_ps(w0, _mm512_set1_ps(xk[(i) * sw]), acc)
                NK_DIRECT_STEP(a0, 0); NK_DIRECT_STEP(a1, 1); NK_DIRECT_STEP(a2, 2);
                NK_DIRECT_STEP(a3, 3); NK_DIRECT_STEP(a4, 4); NK_DIRECT_STEP(a5, 5);
                NK_DIRECT_STEP(a6, 6); NK_DIRECT_STEP(a7, 7); NK_DIRECT_STEP(a8, 8);
                NK_DIRECT_STEP(a9, 9); NK_DIRECT_STEP(a10, 10); NK_DIRECT_STEP(a11, 11);
#undef NK_DIRECT_STEP
            }
        }
    }
    __m512 v[16] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a11, a11, a11, a11};
    nk_tr16_avx512(v); /* v[l]: channel l, pixels 0..15 (12..15 unused) */
    const __mmask16 m = (__mmask16)((1u << np) - 1u);
    for (int64_t l = 0; l < nch; l++) _mm512_mask_storeu_ps(y + l * P, m, v[l]);
}

NK_TARGET_AVX512_DIRECT void nk_conv_direct_f32_16x12_avx512(
    const float *xr, int64_t Wp, int64_t HWp, int64_t sw, int64_t dh, int64_t dw, int64_t Cig,
    int64_t kH, int64_t kW, const float *wp, const float *bias, float *y, int64_t P, int64_t nch,
    int64_t np) {
    if (sw == 1)
        nk_direct_16x12(xr, Wp, HWp, 1, dh, dw, Cig, kH, kW, wp, bias, y, P, nch, np);
    else
        nk_direct_16x12(xr, Wp, HWp, sw, dh, dw, Cig, kH, kW, wp, bias, y, P, nch, np);
}

/* Short rows (6 <= OW <= 11, stride_w 1): a tile of NR whole rows x NP =
 * OW pixels (NR*NP <= 24 accumulators), so no lane of a 12-pixel tile is
 * spent past a row's end (LeNet c2's 10-pixel rows filled 10 of 12).  Row r
 * broadcasts from xr + r*rs.  The NR*NP outputs are consecutive values of
 * each channel plane (whole rows), transposed 16 at a time and stored.  The
 * FMA chain of each output is the 16 x 12 kernel's, so are the bits. */
#define NK_DIRECT_ROWS(NAME, NR, NP)                                                          \
    NK_TARGET_AVX512_DIRECT static void NAME(const float *xr, int64_t rs, int64_t Wp,          \
                                             int64_t HWp, int64_t dh, int64_t dw, int64_t Cig, \
                                             int64_t kH, int64_t kW, const float *wp,          \
                                             const float *bias, float *y, int64_t P,           \
                                             int64_t nch) {                                    \
        enum { NA = (NR) * (NP), NV = (NA + 15) / 16 * 16 };                                    \
        __m512 acc[NV];                                                                         \
        const __m512 b = _mm512_loadu_ps(bias);                                                 \
        _Pragma("GCC unroll 32") for (int i = 0; i < NV; i++) acc[i] = b;                      \
        for (int64_t c = 0; c < Cig; c++)                                                       \
            for (int64_t kh = 0; kh < kH; kh++) {                                               \
                const float *xk = xr + c * HWp + kh * dh * Wp;                                  \
                for (int64_t kw = 0; kw < kW; kw++, xk += dw, wp += 16) {                       \
                    const __m512 w0 = _mm512_loadu_ps(wp);                                      \
                    _Pragma("GCC unroll 4") for (int r = 0; r < (NR); r++)                     \
                        _Pragma("GCC unroll 12") for (int i = 0; i < (NP); i++)                \
                            acc[r * (NP) + i] = _mm512_fmadd_ps(                                \
                                w0, _mm512_set1_ps(xk[r * rs + i]), acc[r * (NP) + i]);         \
                }                                                                               \
            }                                                                                   \
        _Pragma("GCC unroll 2") for (int j = 0; j < NV; j += 16) {                             \
            const int64_t np = NA - j < 16 ? NA - j : 16;                                       \
            const __mmask16 m = (__mmask16)((1u << np) - 1u);                                   \
            nk_tr16_avx512(acc + j);                                                            \
            for (int64_t l = 0; l < nch; l++) _mm512_mask_storeu_ps(y + l * P + j, m, acc[j + l]); \
        }                                                                                       \
    }

NK_DIRECT_ROWS(nk_direct_rows_4x6, 4, 6)
NK_DIRECT_ROWS(nk_direct_rows_3x7, 3, 7)
NK_DIRECT_ROWS(nk_direct_rows_3x8, 3, 8)
NK_DIRECT_ROWS(nk_direct_rows_2x9, 2, 9)
NK_DIRECT_ROWS(nk_direct_rows_2x10, 2, 10)
NK_DIRECT_ROWS(nk_direct_rows_2x11, 2, 11)

int64_t nk_conv_direct_rows_avx512(int64_t OW) { return OW >= 6 && OW <= 11 ? 24 / OW : 0; }

NK_TARGET_AVX512_DIRECT void nk_conv_direct_f32_rows_avx512(
    const float *xr, int64_t rs, int64_t Wp, int64_t HWp, int64_t dh, int64_t dw, int64_t Cig,
    int64_t kH, int64_t kW, const float *wp, const float *bias, float *y, int64_t P,
    int64_t OW, int64_t nch) {
    switch (OW) {
    case 6: nk_direct_rows_4x6(xr, rs, Wp, HWp, dh, dw, Cig, kH, kW, wp, bias, y, P, nch); break;
    case 7: nk_direct_rows_3x7(xr, rs, Wp, HWp, dh, dw, Cig, kH, kW, wp, bias, y, P, nch); break;
    case 8: nk_direct_rows_3x8(xr, rs, Wp, HWp, dh, dw, Cig, kH, kW, wp, bias, y, P, nch); break;
    case 9: nk_direct_rows_2x9(xr, rs, Wp, HWp, dh, dw, Cig, kH, kW, wp, bias, y, P, nch); break;
    case 10: nk_direct_rows_2x10(xr, rs, Wp, HWp, dh, dw, Cig, kH, kW, wp, bias, y, P, nch); break;
    default:
        assert(OW == 11);
        nk_direct_rows_2x11(xr, rs, Wp, HWp, dh, dw, Cig, kH, kW, wp, bias, y, P, nch);
    }
}
#endif
