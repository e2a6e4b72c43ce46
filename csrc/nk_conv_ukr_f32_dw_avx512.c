/* nk_conv_ukr_f32_dw_avx512.c -- float32 AVX-512F micro-kernels for conv's
 * weight gradient (nk_conv_shift.c): a tile of 6 taps x NV*16 output
 * channels of dW^T, summed over a band of output pixel rows of one image.
 *
 *   c[t][o] (+)= sum over rows r < rows, columns i < ncol of
 *                a_t[r*rs + i*SW] * b[(r*ncol + i)*ldb + o]
 *
 * a_t = arow[t]: the input value under tap t for the band's first output
 * pixel, in a zero-padded copy of the image (rs = stride_h * its row
 * length, SW = stride_w = 1 or 2: kernels _dw and _dw_s2; so tap t of pixel
 * (r, i) is a_t[r*rs + i*SW]: six broadcasts per pixel, read in place, no
 * im2col); b: dy transposed to pixel-major rows of ldb channels (16-float
 * aligned).  Per pixel: NV aligned loads, 6 broadcasts, 6*NV FMAs on 6*NV
 * accumulators (24 for NV = 4: the GEMM kernel's budget).  first != 0
 * starts from zero, else from c.  Every c element is one FMA chain over the
 * pixels in order. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_DW_ROW(t)                                                         \
    do {                                                                     \
        const __m512 s = _mm512_set1_ps(a##t[i * SW]);                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                 \
            acc[t][v] = _mm512_fmadd_ps(s, bv[v], acc[t][v]);                \
    } while (0)

#define NK_DW_UKR(NV, SFX)                                                                 \
    NK_TARGET_AVX512 void nk_conv_ukr_f32_6x##NV##v_dw##SFX##_avx512(                     \
        int64_t rows, int64_t ncol, int64_t rs, const float *const *arow, const float *b,  \
        int64_t ldb, float *c, int64_t ldc, int first) {                                  \
        __m512 acc[6][NV];                                                                 \
        _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                          \
                acc[t][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + t * ldc + 16 * v); \
        const float *a0 = arow[0], *a1 = arow[1], *a2 = arow[2];                          \
        const float *a3 = arow[3], *a4 = arow[4], *a5 = arow[5];                          \
        for (int64_t r = 0; r < rows; r++) {                                               \
            for (int64_t i = 0; i < ncol; i++) {                                           \
                __m512 bv[NV];                                                             \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                      \
                    bv[v] = _mm512_load_ps(b + 16 * v);                                    \
                b += ldb;                                                                  \
                NK_DW_ROW(0); NK_DW_ROW(1); NK_DW_ROW(2);                                  \
                NK_DW_ROW(3); NK_DW_ROW(4); NK_DW_ROW(5);                                  \
            }                                                                              \
            a0 += rs; a1 += rs; a2 += rs; a3 += rs; a4 += rs; a5 += rs;                    \
        }                                                                                  \
        _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                          \
                _mm512_storeu_ps(c + t * ldc + 16 * v, acc[t][v]);                         \
    }

#define SW 1
#define NV 1
NK_DW_UKR(1, )
#undef NV
#define NV 2
NK_DW_UKR(2, )
#undef NV
#define NV 3
NK_DW_UKR(3, )
#undef NV
#define NV 4
NK_DW_UKR(4, )
#undef NV
#undef SW
#define SW 2
#define NV 1
NK_DW_UKR(1, _s2)
#undef NV
#define NV 2
NK_DW_UKR(2, _s2)
#undef NV
#define NV 3
NK_DW_UKR(3, _s2)
#undef NV
#define NV 4
NK_DW_UKR(4, _s2)
#undef NV
#undef SW
#endif
