/* nk_gemm_small_avx2.c -- AVX2+FMA kernels (and the direct form's AVX-512
 * variant, nk_gemm_small_direct_f32_avx512) for GEMMs with at most
 * NK_GEMM_SMALL rows (or columns, after a swap): matrix-vector products and
 * small-batch dense layers, where packing B would cost as much as the
 * multiply itself.  B is read in place (it is streamed once), A is tiny.
 * Two forms, by B's layout (see nk_gemm_internal.h):
 *   axpy: B row-contiguous -- rows of C accumulate A(r,p) * B(p, :) into a
 *         stack tile of NB columns, 4 depth steps per load/store of the tile;
 *   dot:  B depth-contiguous -- 2 x 4 blocks of dot products, 8 vector
 *         accumulators, masked loads for the depth tail. */
#include <assert.h>

#include "nk_gemm_internal.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

static const int32_t nk_mask32[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static const int64_t nk_mask64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

NK_TARGET_AVX2 NK_INLINE __m256 nk_maskload_ps(const float *p, int64_t n) {
    return _mm256_maskload_ps(p, _mm256_loadu_si256((const __m256i *)(nk_mask32 + 8 - n)));
}
NK_TARGET_AVX2 NK_INLINE __m256d nk_maskload_pd(const double *p, int64_t n) {
    return _mm256_maskload_pd(p, _mm256_loadu_si256((const __m256i *)(nk_mask64 + 4 - n)));
}
NK_TARGET_AVX2 NK_INLINE float nk_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
NK_TARGET_AVX2 NK_INLINE double nk_hsum_pd(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

#define NK_T float
#define NK_FN(x) x##_f32_avx2
#define NK_SMALL_JOB nk_gemm_small_f32
#define NK_V __m256
#define NK_VL 8
#define NK_NB 512
#define NK_VZERO _mm256_setzero_ps()
#define NK_VLOAD _mm256_loadu_ps
#define NK_VSTORE _mm256_store_ps
#define NK_VSET1 _mm256_set1_ps
#define NK_VFMA _mm256_fmadd_ps
#define NK_VMASKLOAD nk_maskload_ps
#define NK_VHSUM nk_hsum_ps
#include "nk_gemm_small_impl.h"
#undef NK_T
#undef NK_FN
#undef NK_SMALL_JOB
#undef NK_V
#undef NK_VL
#undef NK_NB
#undef NK_VZERO
#undef NK_VLOAD
#undef NK_VSTORE
#undef NK_VSET1
#undef NK_VFMA
#undef NK_VMASKLOAD
#undef NK_VHSUM

/* The direct form at the AVX-512 level (float32; C has at most
 * NK_GEMM_SMALL = 16 columns here): 8 rows x one masked 16-lane vector, the
 * same FMA chain per element as the AVX2 kernel (zero, then one FMA per
 * depth step in order, then the scalar epilogue), so the same bits.  An
 * output layer's few columns (32 x 512 x 10: 10 of 16 lanes) took 12
 * half-used 8-lane FMAs a depth step for 6 rows at the AVX2 level, now 8 for
 * 8 rows: 10.3 -> 7.0 us a call, 256 x 512 x 10 62 -> 37 us; with the
 * epilogue in vectors when C's rows are contiguous, 6.7 and 36.8 us.  Rows
 * past M are clamped to the last one (computed, not stored). */
NK_TARGET_AVX512 static void nk_sdirect512_8x16(const nk_gemm_small_f32 *s, int64_t r0,
                                                int64_t j0, int64_t nc) {
    const int64_t K = s->K, ldb = s->ldb, cs_a = s->cs_a, M = s->M;
    const __mmask16 mk = (__mmask16)((1u << nc) - 1u);
    const float *ar[8];
    for (int i = 0; i < 8; i++) ar[i] = s->a + nk_min_i64(r0 + i, M - 1) * s->rs_a;
    __m512 c[8];
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) c[i] = _mm512_setzero_ps();
    const float *bp = s->b + j0;
    for (int64_t p = 0; p < K; p++, bp += ldb) {
        const __m512 b0 = _mm512_maskz_loadu_ps(mk, bp);
        const int64_t po = p * cs_a;
        _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++)
            c[i] = _mm512_fmadd_ps(_mm512_set1_ps(ar[i][po]), b0, c[i]);
    }
    _Alignas(64) float t[16];
    /* unrolled, so that c stays in registers in the loop above */
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) {
        if (r0 + i >= M) break;
        if (s->cs_c == 1) { /* small_store's steps, 16 columns at a time (no FMA: the
                             * scalar epilogue rounds beta * c before the add) */
            float *cp = s->c + (r0 + i) * s->rs_c + j0;
            __m512 v = c[i];
            if (s->alpha != 1.0f) v = _mm512_mul_ps(_mm512_set1_ps(s->alpha), v);
            if (s->beta != 0.0f)
                v = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(s->beta),
                                                _mm512_maskz_loadu_ps(mk, cp)), v);
            if (s->bias)
                v = _mm512_add_ps(v, s->bias_per_row ? _mm512_set1_ps(s->bias[r0 + i])
                                                     : _mm512_maskz_loadu_ps(mk, s->bias + j0));
            if (s->relu) { /* keep v > 0 and NaN, else +0 */
                const __mmask16 keep = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ) |
                                       _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                v = _mm512_maskz_mov_ps(keep, v);
            }
            _mm512_mask_storeu_ps(cp, mk, v);
            continue;
        }
        _mm512_store_ps(t, c[i]);
        for (int64_t jj = 0; jj < nc; jj++) small_store_f32_avx2(s, r0 + i, j0 + jj, t[jj]);
    }
}

NK_TARGET_AVX512 void nk_gemm_small_direct_f32_avx512(const nk_gemm_small_f32 *s, int64_t n0,
                                                      int64_t n1) {
    for (int64_t j0 = n0; j0 < n1; j0 += 16)
        for (int64_t r0 = 0; r0 < s->M; r0 += 8)
            nk_sdirect512_8x16(s, r0, j0, nk_min_i64(16, n1 - j0));
}

#define NK_T double
#define NK_FN(x) x##_f64_avx2
#define NK_SMALL_JOB nk_gemm_small_f64
#define NK_V __m256d
#define NK_VL 4
#define NK_NB 256
#define NK_VZERO _mm256_setzero_pd()
#define NK_VLOAD _mm256_loadu_pd
#define NK_VSTORE _mm256_store_pd
#define NK_VSET1 _mm256_set1_pd
#define NK_VFMA _mm256_fmadd_pd
#define NK_VMASKLOAD nk_maskload_pd
#define NK_VHSUM nk_hsum_pd
#include "nk_gemm_small_impl.h"
#endif
