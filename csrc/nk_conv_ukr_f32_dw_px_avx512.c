/* nk_conv_ukr_f32_dw_px_avx512.c -- float32 AVX-512F micro-kernel of the
 * direct weight gradient for layers with few output channels per group
 * (driver: nk_conv_bwd_weight_direct_f32 in nk_conv_direct_avx2.c):
 * 4 output channels x 6 taps (input channel, kh, kw) = 24 accumulators of
 * 16 pixels each, over an image's output rows.  Per 16 output pixels: 4 dy
 * loads and 6 loads of the zero-padded input (a tap's pixels are a shifted
 * run of its row), 24 FMAs; the last vector of a row is masked in both
 * operands, so values past the row never enter a sum.  The 16-lane partial
 * sums live in acc ([4][6][16], loaded and stored once a call) and are
 * added across lanes by the driver.
 *
 * dy[o]: output channel o's dy plane (OH x OW); xt[t]: tap t's first
 * input value in the padded copy, whose rows are Wp apart. */
#include "nk_conv.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

__attribute__((target("avx512f,avx2,fma"))) void nk_conv_ukr_f32_dw_px4x6_avx512(
    int64_t OH, int64_t OW, const float *const *dy, const float *const *xt, int64_t Wp,
    float *acc) {
    __m512 a[4][6];
    _Pragma("GCC unroll 4") for (int o = 0; o < 4; o++)
        _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)
            a[o][t] = _mm512_loadu_ps(acc + (o * 6 + t) * 16);
    const int64_t nfull = OW / 16, tail = OW % 16;
    const __mmask16 mt = (__mmask16)((1u << tail) - 1u);
    for (int64_t oh = 0; oh < OH; oh++) {
        const float *d0 = dy[0] + oh * OW, *d1 = dy[1] + oh * OW;
        const float *d2 = dy[2] + oh * OW, *d3 = dy[3] + oh * OW;
        const float *x0 = xt[0] + oh * Wp, *x1 = xt[1] + oh * Wp, *x2 = xt[2] + oh * Wp;
        const float *x3 = xt[3] + oh * Wp, *x4 = xt[4] + oh * Wp, *x5 = xt[5] + oh * Wp;
        for (int64_t v = 0; v <= nfull; v++) {
            const __mmask16 m = v < nfull ? (__mmask16)0xFFFF : mt;
            if (!m) break;
            const int64_t q = 16 * v;
            __m512 y[4], x[6];
            y[0] = _mm512_maskz_loadu_ps(m, d0 + q);
            y[1] = _mm512_maskz_loadu_ps(m, d1 + q);
            y[2] = _mm512_maskz_loadu_ps(m, d2 + q);
            y[3] = _mm512_maskz_loadu_ps(m, d3 + q);
            x[0] = _mm512_maskz_loadu_ps(m, x0 + q);
            x[1] = _mm512_maskz_loadu_ps(m, x1 + q);
            x[2] = _mm512_maskz_loadu_ps(m, x2 + q);
            x[3] = _mm512_maskz_loadu_ps(m, x3 + q);
            x[4] = _mm512_maskz_loadu_ps(m, x4 + q);
            x[5] = _mm512_maskz_loadu_ps(m, x5 + q);
            _Pragma("GCC unroll 4") for (int o = 0; o < 4; o++)
                _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)
                    a[o][t] = _mm512_fmadd_ps(y[o], x[t], a[o][t]);
        }
    }
    _Pragma("GCC unroll 4") for (int o = 0; o < 4; o++)
        _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)
            _mm512_storeu_ps(acc + (o * 6 + t) * 16, a[o][t]);
}
#endif
