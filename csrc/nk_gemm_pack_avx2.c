/* nk_gemm_pack_avx2.c -- AVX2 packing of depth-contiguous panels (e.g. B =
 * W^T of a dense layer, whose rows are the rows of W): the portable loop
 * reads one element from each of w rows per depth step; here 8 x 8 (f32) or
 * 4 x 4 (f64) blocks are loaded as rows and transposed in registers.
 * Packing only copies, so the results are the same bits as the portable
 * path. */
#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

/* rows r0..r0+7 (s + r * rs), depth p..p+7 -> d[(p + i) * w + r0 + r] */
NK_TARGET_AVX2 NK_INLINE void nk_transpose8_ps(const float *s, int64_t rs, float *d, int64_t w) {
    __m256 r0 = _mm256_loadu_ps(s + 0 * rs), r1 = _mm256_loadu_ps(s + 1 * rs);
    __m256 r2 = _mm256_loadu_ps(s + 2 * rs), r3 = _mm256_loadu_ps(s + 3 * rs);
    __m256 r4 = _mm256_loadu_ps(s + 4 * rs), r5 = _mm256_loadu_ps(s + 5 * rs);
    __m256 r6 = _mm256_loadu_ps(s + 6 * rs), r7 = _mm256_loadu_ps(s + 7 * rs);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(d + 0 * w, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + 1 * w, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * w, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * w, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * w, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * w, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * w, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * w, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* rows r0..r0+3, depth p..p+3 -> d[(p + i) * w + r0 + r] */
NK_TARGET_AVX2 NK_INLINE void nk_transpose4_pd(const double *s, int64_t rs, double *d, int64_t w) {
    __m256d r0 = _mm256_loadu_pd(s + 0 * rs), r1 = _mm256_loadu_pd(s + 1 * rs);
    __m256d r2 = _mm256_loadu_pd(s + 2 * rs), r3 = _mm256_loadu_pd(s + 3 * rs);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d + 0 * w, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d + 1 * w, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d + 2 * w, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d + 3 * w, _mm256_permute2f128_pd(t1, t3, 0x31));
}

NK_TARGET_AVX2 void nk_gemm_pack_rows_f32_avx2(const float *s, int64_t rs, int64_t kc, int64_t w,
                                               float *d) {
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8)
        for (int64_t r = 0; r < w; r += 8) nk_transpose8_ps(s + r * rs + p, rs, d + p * w + r, w);
    for (; p < kc; p++)
        for (int64_t r = 0; r < w; r++) d[p * w + r] = s[r * rs + p];
}

NK_TARGET_AVX2 void nk_gemm_pack_rows_f64_avx2(const double *s, int64_t rs, int64_t kc, int64_t w,
                                               double *d) {
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4)
        for (int64_t r = 0; r < w; r += 4) nk_transpose4_pd(s + r * rs + p, rs, d + p * w + r, w);
    for (; p < kc; p++)
        for (int64_t r = 0; r < w; r++) d[p * w + r] = s[r * rs + p];
}
#endif
