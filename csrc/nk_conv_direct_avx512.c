/* nk_conv_direct_avx512.c -- AVX-512F micro-kernel of the direct float32
 * forward for small layers (driver: nk_conv_direct_avx2.c): 16 output
 * channels (one zmm of packed weights per tap) x 12 output pixels (twelve
 * broadcasts of input values read straight from the zero-padded image),
 * 12 accumulators, transposed in registers and stored straight into the
 * channel planes of y (a scalar tile copy took a fifth of LeNet c2).  Twice
 * the pixels per tap of the AVX2 16 x 6 kernel for the same instruction
 * count; each output is the same FMA chain (bias, then the taps in
 * (c, kh, kw) order), so the bits equal the AVX2 kernel's. */
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
#endif
