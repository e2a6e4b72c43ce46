/* nk_conv_ukr_f32_stem_dx_avx512.c -- float32 AVX-512F micro-kernels of the
 * backward-data of a stride-2 "stem" layer: 3 input channels, k x k kernel
 * (k = 3, 5, 7), padding (k-1)/2 (driver: nk_conv_bwd_data_stem.c).
 *
 * One call computes two dx rows (2i, 2i+1) x 64 dx columns (2*j0 ..) x the
 * 3 channels: the four output phases (a, b) of dx (row 2i + a, column
 * 2j + b) x 3 channels x 2 vectors of 16 phase columns = 24 accumulators.
 * With d = (a + p - kh) / 2 (kh of the parity of a + p), dx(c, 2i + a,
 * 2j + b) = sum over dy channels o and taps of dy(o, i + dr, j + dc) *
 * w(o, c, kh, kw), dr and dc each one of ND = DMAX - DMIN + 1 offsets.
 * Every 16-value dy vector loaded (row i + dr, columns j + dc) feeds all
 * phases that have a tap there: for the 7x7 stem 4 x 4 offsets x 2 vectors
 * = 32 loads per dy channel for 49 taps x 3 channels x 2 vectors = 294
 * FMAs, with the weights broadcast from w itself (no packing).  At the
 * left and right edges the loads are masked (columns outside dy read as
 * zero); rows outside dy come as a zero row with channel stride 0.  At the
 * end the b = 0 and b = 1 vectors are interleaved in registers and stored
 * as whole dx rows (masked at the right edge).
 *
 * Arguments: rows[d] (d < ND): dy row i + DMIN + d of the group's first
 * channel, at column j0; rs[d]: its channel stride (0 for a zero row);
 * lm[(dc - DMIN) * 2 + v]: the load masks (NULL: every load inside dy);
 * w: the group's weights (Cog x 3 x k x k); dx: channel 0 at (row 2i,
 * column 2*j0); HW, W: dx's channel and row strides; nya: rows to store
 * (1 or 2); sm[v * 2 + h]: the store masks of the 16-value halves; pf: the
 * offset (one dy row) at which each channel's last-row lines are
 * prefetched for the next row's call (without it the first touch of each
 * channel's new row missed the caches: the stem's dx 18.7 -> 14.1 ms).
 * Each dx value is one FMA chain (0, then dy channel o, then dr, then dc
 * order). */
#include <assert.h>
#include "nk_conv.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_STEM_TARGET __attribute__((target("avx512f,avx2,fma")))

NK_STEM_TARGET static inline __attribute__((always_inline)) void nk_stem_dx(
    const int K, const int masked, int64_t Cog, const float *const *rows, const int64_t *rs,
    const uint16_t *lm, const float *w, float *dx, int64_t HW, int64_t W, int nya,
    const uint16_t *sm, int64_t pf) {
    const int p = (K - 1) / 2, DMIN = -((K - 1 - p) / 2), DMAX = (1 + p) / 2;
    const int ND = DMAX - DMIN + 1, KK = K * K;
    __m512 acc[2][2][3][2];
    _Pragma("GCC unroll 2") for (int a = 0; a < 2; a++)
        _Pragma("GCC unroll 2") for (int b = 0; b < 2; b++)
            _Pragma("GCC unroll 3") for (int c = 0; c < 3; c++)
                _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++)
                    acc[a][b][c][v] = _mm512_setzero_ps();
    const float *rp[4] = {rows[0], rows[ND > 1 ? 1 : 0], rows[ND > 2 ? 2 : 0],
                          rows[ND > 3 ? 3 : 0]};
    for (int64_t o = 0; o < Cog; o++, w += 3 * KK) {
        { /* the lines of the last row, pf values on (the next call's new row) */
            const char *q = (const char *)(rp[ND - 1] + pf + DMIN);
            _mm_prefetch(q, _MM_HINT_T0);
            _mm_prefetch(q + 64, _MM_HINT_T0);
            _mm_prefetch(q + 128, _MM_HINT_T0);
            _mm_prefetch(q + 4 * (31 + DMAX - DMIN), _MM_HINT_T0);
        }
        _Pragma("GCC unroll 4") for (int dr = 0; dr < ND; dr++) {
            const float *r = rp[dr];
            _Pragma("GCC unroll 4") for (int dc = 0; dc < ND; dc++) {
                __m512 x[2];
                _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++) {
                    x[v] = masked ? _mm512_maskz_loadu_ps((__mmask16)lm[dc * 2 + v],
                                                          r + (dc + DMIN) + 16 * v)
                                  : _mm512_loadu_ps(r + (dc + DMIN) + 16 * v);
                    __asm__("" : "+v"(x[v])); /* one load, reused by every tap */
                }
                _Pragma("GCC unroll 2") for (int a = 0; a < 2; a++) {
                    const int kh = a + p - 2 * (dr + DMIN);
                    if (kh < 0 || kh >= K) continue;
                    _Pragma("GCC unroll 2") for (int b = 0; b < 2; b++) {
                        const int kw = b + p - 2 * (dc + DMIN);
                        if (kw < 0 || kw >= K) continue;
                        _Pragma("GCC unroll 3") for (int c = 0; c < 3; c++) {
                            const __m512 wv = _mm512_set1_ps(w[c * KK + kh * K + kw]);
                            _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++)
                                acc[a][b][c][v] = _mm512_fmadd_ps(wv, x[v], acc[a][b][c][v]);
                        }
                    }
                }
            }
        }
        _Pragma("GCC unroll 4") for (int dr = 0; dr < 4; dr++) rp[dr] += rs[dr < ND ? dr : 0];
    }
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _Pragma("GCC unroll 2") for (int a = 0; a < 2; a++) {
        if (a >= nya) break;
        _Pragma("GCC unroll 3") for (int c = 0; c < 3; c++)
            _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++) {
                float *d = dx + c * HW + a * W + 32 * v;
                _mm512_mask_storeu_ps(d, (__mmask16)sm[v * 2],
                                      _mm512_permutex2var_ps(acc[a][0][c][v], lo,
                                                             acc[a][1][c][v]));
                _mm512_mask_storeu_ps(d + 16, (__mmask16)sm[v * 2 + 1],
                                      _mm512_permutex2var_ps(acc[a][0][c][v], hi,
                                                             acc[a][1][c][v]));
            }
    }
}

#define NK_STEM_DX(KS)                                                                        \
    NK_STEM_TARGET void nk_conv_ukr_f32_stem_dx_k##KS##_avx512(                                \
        int64_t Cog, const float *const *rows, const int64_t *rs, const uint16_t *lm,        \
        const float *w, float *dx, int64_t HW, int64_t W, int nya, const uint16_t *sm,       \
        int64_t pf) {                                                                         \
        assert(nya == 1 || nya == 2);                                                         \
        if (!lm) nk_stem_dx(KS, 0, Cog, rows, rs, lm, w, dx, HW, W, nya, sm, pf);            \
        else nk_stem_dx(KS, 1, Cog, rows, rs, lm, w, dx, HW, W, nya, sm, pf);                 \
    }
NK_STEM_DX(3)
NK_STEM_DX(5)
NK_STEM_DX(7)
#endif
