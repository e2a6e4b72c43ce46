/* nk_pool_bwd_avx2.c -- AVX2 helpers of the pooling backward drivers (see
 * nk_pool.h): the average-pooling gradient row (vector division, same
 * results as scalar), the dx row gather for average pooling (stride 1:
 * shifted loads; stride 2: even and odd columns summed separately and
 * interleaved), and the one-pass 2x2 max-pooling backward. */
#include <stdint.h>
#include "nk_pool.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

NK_TARGET_AVX2
void nk_pool_avg_grad_row_avx2_f32(const float *dy, const float *cf, float rf, int64_t n,
                                   float *g) {
    const __m256 vr = _mm256_set1_ps(rf), z = _mm256_setzero_ps();
    if (n < 8) {
        for (int64_t i = 0; i < n; i++) g[i] = 0.0f + dy[i] / (rf * cf[i]);
        return;
    }
    for (int64_t i = 0;; i = nk_min_i64(i + 8, n - 8)) { /* last chunk overlaps */
        _mm256_storeu_ps(g + i, _mm256_add_ps(z, _mm256_div_ps(_mm256_loadu_ps(dy + i),
                                                               _mm256_mul_ps(vr, _mm256_loadu_ps(cf + i)))));
        if (i + 8 >= n) break;
    }
}

NK_TARGET_AVX2
void nk_pool_avg_grad_row_avx2_f64(const double *dy, const double *cf, double rf, int64_t n,
                                   double *g) {
    const __m256d vr = _mm256_set1_pd(rf), z = _mm256_setzero_pd();
    if (n < 4) {
        for (int64_t i = 0; i < n; i++) g[i] = 0.0 + dy[i] / (rf * cf[i]);
        return;
    }
    for (int64_t i = 0;; i = nk_min_i64(i + 4, n - 4)) {
        _mm256_storeu_pd(g + i, _mm256_add_pd(z, _mm256_div_pd(_mm256_loadu_pd(dy + i),
                                                               _mm256_mul_pd(vr, _mm256_loadu_pd(cf + i)))));
        if (i + 4 >= n) break;
    }
}

/* Vector range of a dx row: chunks of `span` columns starting at a column
 * c with c + pw a multiple of sw; returns 0 if none fits. */
static int hrow_range(int64_t W, int64_t sw, int64_t pw, int64_t span, int64_t *first,
                      int64_t *last) {
    if (W < span) return 0;
    int64_t f = nk_ceil_div(pw, sw) * sw - pw;        /* first c >= 0 */
    int64_t l = ((W - span + pw) / sw) * sw - pw;      /* last c <= W - span */
    if (l < f) return 0;
    *first = f;
    *last = l;
    return 1;
}

#define NK_HROW(T, V, VL, LOAD, STORE, ADD, ZERO, INTERLEAVE)                                 \
    if (sw == 1) {                                                                            \
        int64_t f, l;                                                                         \
        if (!hrow_range(W, 1, pw, VL, &f, &l)) return;                                        \
        for (int64_t c = f;;) {                                                               \
            V acc = ZERO();                                                                   \
            for (int64_t j = 0; j < kw; j++) acc = ADD(acc, LOAD(S + c + pw - j));            \
            STORE(d + c, acc);                                                                \
            if (c == l) break;                                                                \
            c = nk_min_i64(c + VL, l);                                                        \
        }                                                                                     \
        *a = f;                                                                               \
        *b = l + VL;                                                                          \
    } else if (sw == 2) {                                                                     \
        int64_t f, l;                                                                         \
        if (!hrow_range(W, 2, pw, 2 * VL, &f, &l)) return;                                    \
        for (int64_t c = f;;) {                                                               \
            const int64_t m0 = (c + pw) / 2;                                                  \
            V e = ZERO(), o = ZERO();                                                         \
            for (int64_t j = 0; j < kw; j += 2) e = ADD(e, LOAD(S + m0 - j / 2));             \
            for (int64_t j = 1; j < kw; j += 2) o = ADD(o, LOAD(S + m0 - (j - 1) / 2));       \
            INTERLEAVE(d + c, e, o);                                                          \
            if (c == l) break;                                                                \
            c = nk_min_i64(c + 2 * VL, l);                                                    \
        }                                                                                     \
        *a = f;                                                                               \
        *b = l + 2 * VL;                                                                      \
    }

#define NK_IL_F32(p, e, o)                                                 \
    do {                                                                   \
        __m256 lo_ = _mm256_unpacklo_ps(e, o), hi_ = _mm256_unpackhi_ps(e, o); \
        _mm256_storeu_ps(p, _mm256_permute2f128_ps(lo_, hi_, 0x20));       \
        _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(lo_, hi_, 0x31));   \
    } while (0)
#define NK_IL_F64(p, e, o)                                                 \
    do {                                                                   \
        __m256d lo_ = _mm256_unpacklo_pd(e, o), hi_ = _mm256_unpackhi_pd(e, o); \
        _mm256_storeu_pd(p, _mm256_permute2f128_pd(lo_, hi_, 0x20));       \
        _mm256_storeu_pd(p + 4, _mm256_permute2f128_pd(lo_, hi_, 0x31));   \
    } while (0)

#define NK_HROW_DEF(SFX, T, V, VL, LOAD, STORE, ADD, ZERO, INTERLEAVE)                   \
    static inline __attribute__((always_inline)) NK_TARGET_AVX2 void hrow_body_##SFX(        \
        const T *S, int64_t W, int64_t kw, int64_t sw, int64_t pw, T *d, int64_t *a,         \
        int64_t *b) {                                                                        \
        NK_HROW(T, V, VL, LOAD, STORE, ADD, ZERO, INTERLEAVE)                                \
    }                                                                                        \
    NK_TARGET_AVX2 void nk_pool_avg_hrow_avx2_##SFX(const T *S, int64_t W, int64_t kw,       \
                                                   int64_t sw, int64_t pw, T *d, int64_t *a, \
                                                   int64_t *b) {                             \
        *a = *b = 0;                                                                         \
        if (sw == 2 && kw == 2)                                                              \
            hrow_body_##SFX(S, W, 2, 2, pw, d, a, b);                                        \
        else if (sw == 2 && kw == 3)                                                         \
            hrow_body_##SFX(S, W, 3, 2, pw, d, a, b);                                        \
        else if (sw == 1 && kw == 3)                                                         \
            hrow_body_##SFX(S, W, 3, 1, pw, d, a, b);                                        \
        else                                                                                 \
            hrow_body_##SFX(S, W, kw, sw, pw, d, a, b);                                      \
    }

NK_HROW_DEF(f32, float, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps,
            _mm256_setzero_ps, NK_IL_F32)
NK_HROW_DEF(f64, double, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_add_pd,
            _mm256_setzero_pd, NK_IL_F64)

/* 64-bit lane masks (all ones / zeros) of two vectors -> 8 float masks. */
NK_TARGET_AVX2 static inline __m256 nk_mask64to32(__m256i lo, __m256i hi) {
    const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i a = _mm256_permutevar8x32_epi32(lo, pick), b = _mm256_permutevar8x32_epi32(hi, pick);
    return _mm256_castsi256_ps(_mm256_permute2x128_si256(a, b, 0x20));
}

static inline __attribute__((always_inline)) NK_TARGET_AVX2 int64_t
max_bwd_2x2_row_f32(const float *g, const int64_t *ind, int64_t W, int64_t oh, int64_t n,
                    float *d0, float *d1) {
    const __m256i step = _mm256_setr_epi64x(0, 2, 4, 6), one = _mm256_set1_epi64x(1);
    const __m256i vw = _mm256_set1_epi64x(W), vw1 = _mm256_set1_epi64x(W + 1);
    const __m256i zero = _mm256_setzero_si256();
    const __m256 fz = _mm256_setzero_ps();
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256i hits = zero;
    for (int64_t ow = 0, done = 0;;) {
        /* lanes below `skip` were written by the previous (overlapped) chunk */
        const __m256i skip = _mm256_set1_epi64x(done - ow - 1);
        const __m256i k0 = _mm256_cmpgt_epi64(lane, skip);
        const __m256i k1 = _mm256_cmpgt_epi64(_mm256_add_epi64(lane, _mm256_set1_epi64x(4)), skip);
        const __m256i base = _mm256_add_epi64(_mm256_set1_epi64x(2 * oh * W + 2 * ow), step);
        const __m256i l0 = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(ind + ow)), base);
        const __m256i l1 = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(ind + ow + 4)),
                                            _mm256_add_epi64(base, _mm256_set1_epi64x(8)));
        const __m256i a0 = _mm256_cmpeq_epi64(l0, zero), a1 = _mm256_cmpeq_epi64(l1, zero);
        const __m256i b0 = _mm256_cmpeq_epi64(l0, one), b1 = _mm256_cmpeq_epi64(l1, one);
        const __m256i c0 = _mm256_cmpeq_epi64(l0, vw), c1 = _mm256_cmpeq_epi64(l1, vw);
        const __m256i e0 = _mm256_cmpeq_epi64(l0, vw1), e1 = _mm256_cmpeq_epi64(l1, vw1);
        /* each matching lane adds -1 (one match at most per lane) */
        hits = _mm256_add_epi64(hits, _mm256_and_si256(k0, _mm256_or_si256(_mm256_or_si256(a0, b0), _mm256_or_si256(c0, e0))));
        hits = _mm256_add_epi64(hits, _mm256_and_si256(k1, _mm256_or_si256(_mm256_or_si256(a1, b1), _mm256_or_si256(c1, e1))));
        const __m256 v = _mm256_add_ps(fz, _mm256_loadu_ps(g + ow));
        NK_IL_F32(d0 + 2 * ow, _mm256_and_ps(nk_mask64to32(a0, a1), v),
                  _mm256_and_ps(nk_mask64to32(b0, b1), v));
        NK_IL_F32(d1 + 2 * ow, _mm256_and_ps(nk_mask64to32(c0, c1), v),
                  _mm256_and_ps(nk_mask64to32(e0, e1), v));
        done = ow + 8;
        if (done >= n) break;
        ow = nk_min_i64(done, n - 8);
    }
    int64_t h[4];
    _mm256_storeu_si256((__m256i *)h, hits);
    return -(h[0] + h[1] + h[2] + h[3]);
}

static inline __attribute__((always_inline)) NK_TARGET_AVX2 int64_t
max_bwd_2x2_row_f64(const double *g, const int64_t *ind, int64_t W, int64_t oh, int64_t n,
                    double *d0, double *d1) {
    const __m256i step = _mm256_setr_epi64x(0, 2, 4, 6), one = _mm256_set1_epi64x(1);
    const __m256i vw = _mm256_set1_epi64x(W), vw1 = _mm256_set1_epi64x(W + 1);
    const __m256i zero = _mm256_setzero_si256();
    const __m256d fz = _mm256_setzero_pd();
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256i hits = zero;
    for (int64_t ow = 0, done = 0;;) {
        const __m256i k0 = _mm256_cmpgt_epi64(lane, _mm256_set1_epi64x(done - ow - 1));
        const __m256i base = _mm256_add_epi64(_mm256_set1_epi64x(2 * oh * W + 2 * ow), step);
        const __m256i l0 = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(ind + ow)), base);
        const __m256i a0 = _mm256_cmpeq_epi64(l0, zero), b0 = _mm256_cmpeq_epi64(l0, one);
        const __m256i c0 = _mm256_cmpeq_epi64(l0, vw), e0 = _mm256_cmpeq_epi64(l0, vw1);
        hits = _mm256_add_epi64(hits, _mm256_and_si256(k0, _mm256_or_si256(_mm256_or_si256(a0, b0), _mm256_or_si256(c0, e0))));
        const __m256d v = _mm256_add_pd(fz, _mm256_loadu_pd(g + ow));
        NK_IL_F64(d0 + 2 * ow, _mm256_and_pd(_mm256_castsi256_pd(a0), v),
                  _mm256_and_pd(_mm256_castsi256_pd(b0), v));
        NK_IL_F64(d1 + 2 * ow, _mm256_and_pd(_mm256_castsi256_pd(c0), v),
                  _mm256_and_pd(_mm256_castsi256_pd(e0), v));
        done = ow + 4;
        if (done >= n) break;
        ow = nk_min_i64(done, n - 4);
    }
    int64_t h[4];
    _mm256_storeu_si256((__m256i *)h, hits);
    return -(h[0] + h[1] + h[2] + h[3]);
}

#define NK_MAXB2_PLANE(SFX, T)                                                              \
    NK_TARGET_AVX2 int nk_pool_max_bwd_2x2_plane_avx2_##SFX(const T *dy, const int64_t *ind,   \
                                                            int64_t W, int64_t OH,            \
                                                            int64_t OW, T *dx) {              \
        for (int64_t oh = 0; oh < OH; oh++) {                                                 \
            T *d0 = dx + 2 * oh * W, *d1 = d0 + W;                                            \
            if (max_bwd_2x2_row_##SFX(dy + oh * OW, ind + oh * OW, W, oh, OW, d0, d1) != OW)   \
                return 0;                                                                     \
            for (int64_t w = 2 * OW; w < W; w++) d0[w] = d1[w] = 0;                           \
        }                                                                                     \
        return 1;                                                                             \
    }
NK_MAXB2_PLANE(f32, float)
NK_MAXB2_PLANE(f64, double)

/* dst[0..n) = src[0..n) with non-temporal stores for the 32-byte aligned
 * body (no read-for-ownership of dst).  The caller ends with
 * nk_pool_store_fence() before the data is read by another thread. */
NK_TARGET_AVX2
void nk_pool_stream_copy_f32(float *dst, const float *src, int64_t n) {
    int64_t i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 31); i++) dst[i] = src[i];
    for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
    for (; i < n; i++) dst[i] = src[i];
}

NK_TARGET_AVX2
void nk_pool_stream_copy_f64(double *dst, const double *src, int64_t n) {
    int64_t i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 31); i++) dst[i] = src[i];
    for (; i + 4 <= n; i += 4) _mm256_stream_pd(dst + i, _mm256_loadu_pd(src + i));
    for (; i < n; i++) dst[i] = src[i];
}

void nk_pool_store_fence(void) { _mm_sfence(); }

#else /* never called without x86 dispatch */
void nk_pool_store_fence(void) {}
void nk_pool_stream_copy_f32(float *dst, const float *src, int64_t n) {}
void nk_pool_stream_copy_f64(double *dst, const double *src, int64_t n) {}
void nk_pool_avg_grad_row_avx2_f32(const float *dy, const float *cf, float rf, int64_t n, float *g) {}
void nk_pool_avg_grad_row_avx2_f64(const double *dy, const double *cf, double rf, int64_t n,
                                   double *g) {}
void nk_pool_avg_hrow_avx2_f32(const float *S, int64_t W, int64_t kw, int64_t sw, int64_t pw,
                               float *d, int64_t *a, int64_t *b) { *a = *b = 0; }
void nk_pool_avg_hrow_avx2_f64(const double *S, int64_t W, int64_t kw, int64_t sw, int64_t pw,
                               double *d, int64_t *a, int64_t *b) { *a = *b = 0; }
int nk_pool_max_bwd_2x2_plane_avx2_f32(const float *dy, const int64_t *ind, int64_t W,
                                       int64_t OH, int64_t OW, float *dx) { return 0; }
int nk_pool_max_bwd_2x2_plane_avx2_f64(const double *dy, const int64_t *ind, int64_t W,
                                       int64_t OH, int64_t OW, double *dx) { return 0; }
#endif
