/* nk_conv_ukr_f32_stem_dx_avx2.c -- float32 AVX2+FMA micro-kernels of the
 * stride-2 stem backward-data (driver: nk_conv_bwd_data_stem.c; the AVX-512
 * kernels and the arithmetic: nk_conv_ukr_f32_stem_dx_avx512.c).
 *
 * One call: two dx rows x 16 dx columns (8 phase columns) x 3 channels, the
 * four phases x 3 channels = 12 ymm accumulators (of 16).  Per dy channel
 * ND x ND loads of 8 values, and per tap and channel one weight broadcast
 * and one FMA; each dx value is the AVX-512 kernel's FMA chain, so the bits
 * are the same at both levels.  Arguments as there, with 8-lane masks:
 * lm[dc - DMIN] (NULL: every load inside dy) and sm[h] for the two 8-value
 * halves of the 16 dx columns. */
#include <assert.h>
#include "nk_conv.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_STEM_TARGET_AVX2 __attribute__((target("avx2,fma")))

/* lanes l with bit l of m set: all ones, else zero */
NK_STEM_TARGET_AVX2 static inline __m256i nk_stem_lanes(unsigned m) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)m), bit), bit);
}

NK_STEM_TARGET_AVX2 static inline __attribute__((always_inline)) void nk_stem_dx8(
    const int K, const int masked, int64_t Cog, const float *const *rows, const int64_t *rs,
    const uint16_t *lm, const float *w, float *dx, int64_t HW, int64_t W, int nya,
    const uint16_t *sm, int64_t pf) {
    const int p = (K - 1) / 2, DMIN = -((K - 1 - p) / 2), DMAX = (1 + p) / 2;
    const int ND = DMAX - DMIN + 1, KK = K * K;
    __m256 acc[2][2][3];
    _Pragma("GCC unroll 2") for (int a = 0; a < 2; a++)
        _Pragma("GCC unroll 2") for (int b = 0; b < 2; b++)
            _Pragma("GCC unroll 3") for (int c = 0; c < 3; c++)
                acc[a][b][c] = _mm256_setzero_ps();
    __m256i mk[4];
    _Pragma("GCC unroll 4") for (int dc = 0; dc < 4; dc++)
        mk[dc] = masked && dc < ND ? nk_stem_lanes(lm[dc]) : _mm256_set1_epi32(-1);
    const float *rp[4] = {rows[0], rows[ND > 1 ? 1 : 0], rows[ND > 2 ? 2 : 0],
                          rows[ND > 3 ? 3 : 0]};
    for (int64_t o = 0; o < Cog; o++, w += 3 * KK) {
        {
            const char *q = (const char *)(rp[ND - 1] + pf + DMIN);
            _mm_prefetch(q, _MM_HINT_T0);
            _mm_prefetch(q + 4 * (7 + DMAX - DMIN), _MM_HINT_T0);
        }
        _Pragma("GCC unroll 4") for (int dr = 0; dr < ND; dr++) {
            const float *r = rp[dr];
            _Pragma("GCC unroll 4") for (int dc = 0; dc < ND; dc++) {
                __m256 x = masked ? _mm256_maskload_ps(r + (dc + DMIN), mk[dc])
                                  : _mm256_loadu_ps(r + (dc + DMIN));
                __asm__("" : "+x"(x)); /* one load, reused by every tap */
                _Pragma("GCC unroll 2") for (int a = 0; a < 2; a++) {
                    const int kh = a + p - 2 * (dr + DMIN);
                    if (kh < 0 || kh >= K) continue;
                    _Pragma("GCC unroll 2") for (int b = 0; b < 2; b++) {
                        const int kw = b + p - 2 * (dc + DMIN);
                        if (kw < 0 || kw >= K) continue;
                        _Pragma("GCC unroll 3") for (int c = 0; c < 3; c++)
                            acc[a][b][c] = _mm256_fmadd_ps(
                                _mm256_broadcast_ss(w + c * KK + kh * K + kw), x, acc[a][b][c]);
                    }
                }
            }
        }
        _Pragma("GCC unroll 4") for (int dr = 0; dr < 4; dr++) rp[dr] += rs[dr < ND ? dr : 0];
    }
    const __m256i s0 = nk_stem_lanes(sm[0]), s1 = nk_stem_lanes(sm[1]);
    _Pragma("GCC unroll 2") for (int a = 0; a < 2; a++) {
        if (a >= nya) break;
        _Pragma("GCC unroll 3") for (int c = 0; c < 3; c++) {
            const __m256 lo = _mm256_unpacklo_ps(acc[a][0][c], acc[a][1][c]);
            const __m256 hi = _mm256_unpackhi_ps(acc[a][0][c], acc[a][1][c]);
            float *d = dx + c * HW + a * W;
            _mm256_maskstore_ps(d, s0, _mm256_permute2f128_ps(lo, hi, 0x20));
            _mm256_maskstore_ps(d + 8, s1, _mm256_permute2f128_ps(lo, hi, 0x31));
        }
    }
}

#define NK_STEM_DX8(KS)                                                                       \
    NK_STEM_TARGET_AVX2 void nk_conv_ukr_f32_stem_dx_k##KS##_avx2(                             \
        int64_t Cog, const float *const *rows, const int64_t *rs, const uint16_t *lm,        \
        const float *w, float *dx, int64_t HW, int64_t W, int nya, const uint16_t *sm,       \
        int64_t pf) {                                                                         \
        assert(nya == 1 || nya == 2);                                                         \
        if (!lm) nk_stem_dx8(KS, 0, Cog, rows, rs, lm, w, dx, HW, W, nya, sm, pf);           \
        else nk_stem_dx8(KS, 1, Cog, rows, rs, lm, w, dx, HW, W, nya, sm, pf);                \
    }
NK_STEM_DX8(3)
NK_STEM_DX8(5)
NK_STEM_DX8(7)
#endif
