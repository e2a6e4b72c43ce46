/* nk_conv_ukr_f32_wino_avx2.c -- AVX2 twins of the Winograd F(4x4, 3x3)
 * transforms (nk_conv_ukr_f32_wino_avx512.c; layout in nk_conv_wino.h): the
 * 16 lanes as two 8-lane halves, masked gathers in, the outputs stored lane
 * by lane (AVX2 has no scatter).  The same multiplies and adds in the same
 * order as the AVX-512 kernels, so the same bits. */
#include <assert.h>
#include "nk_conv_wino.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_T256 __attribute__((target("avx2,fma")))

static inline NK_T256 void nk_wino_bt8(const __m256 *z, __m256 *o) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f),
                 five = _mm256_set1_ps(5.0f);
    const __m256 s12 = _mm256_add_ps(z[1], z[2]), d12 = _mm256_sub_ps(z[1], z[2]);
    const __m256 d31 = _mm256_sub_ps(z[3], z[1]), d42 = _mm256_sub_ps(z[4], z[2]);
    o[0] = _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(four, z[0]), _mm256_mul_ps(five, z[2])),
                         z[4]);
    o[1] = _mm256_sub_ps(_mm256_add_ps(z[3], z[4]), _mm256_mul_ps(four, s12));
    o[2] = _mm256_add_ps(_mm256_sub_ps(z[4], z[3]), _mm256_mul_ps(four, d12));
    o[3] = _mm256_add_ps(d42, _mm256_mul_ps(two, d31));
    o[4] = _mm256_sub_ps(d42, _mm256_mul_ps(two, d31));
    o[5] = _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(four, z[1]), _mm256_mul_ps(five, z[3])),
                         z[5]);
}

static inline NK_T256 void nk_wino_at8(const __m256 *m, __m256 *o) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f),
                 eight = _mm256_set1_ps(8.0f);
    const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
    o[1] = _mm256_add_ps(d12, _mm256_mul_ps(two, d34));
    o[2] = _mm256_add_ps(s12, _mm256_mul_ps(four, s34));
    o[3] = _mm256_add_ps(_mm256_add_ps(d12, _mm256_mul_ps(eight, d34)), m[5]);
}

/* lanes 8h..8h+7 of a 16-bit lane mask as a vector mask */
static inline NK_T256 __m256 nk_wino_mask8(unsigned bits, int h) {
    const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i b = _mm256_and_si256(_mm256_set1_epi32((int)(bits >> (8 * h)) & 255), sel);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, sel));
}

NK_T256 int nk_wino_in_f32_avx2(const nk_wino_lanes *L, const float *x, int64_t C, int64_t HW,
                                int64_t rs, int64_t cs, float *v, int64_t vs, int64_t vcs) {
    assert(L && x && v && C >= 0);
    const __m256 zero = _mm256_setzero_ps();
    __m256 acc[6];
    for (int b = 0; b < 6; b++) acc[b] = zero;
    for (int h = 0; h < 2; h++) {
        const __m256i idx = _mm256_loadu_si256((const __m256i *)(L->in + 8 * h));
        __m256 mk[6][6];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) mk[i][j] = nk_wino_mask8(L->irow[i] & L->icol[j], h);
        for (int64_t c = 0; c < C; c++) {
            const float *xc = x + c * HW;
            __m256 t[6][6];
            for (int i = 0; i < 6; i++) {
                __m256 z[6];
                for (int j = 0; j < 6; j++)
                    z[j] = _mm256_mask_i32gather_ps(zero, xc + i * rs + j * cs, idx, mk[i][j], 4);
                nk_wino_bt8(z, t[i]);
            }
            float *vc = v + c * vcs + 8 * h;
            for (int b = 0; b < 6; b++) {
                __m256 z[6], o[6];
                for (int i = 0; i < 6; i++) z[i] = t[i][b];
                nk_wino_bt8(z, o);
                for (int a = 0; a < 6; a++) {
                    _mm256_store_ps(vc + (6 * a + b) * vs, o[a]);
                    acc[b] = _mm256_add_ps(acc[b], _mm256_mul_ps(o[a], zero));
                }
            }
        }
    }
    for (int b = 1; b < 6; b++) acc[0] = _mm256_add_ps(acc[0], acc[b]);
    return _mm256_movemask_ps(_mm256_cmp_ps(acc[0], acc[0], _CMP_UNORD_Q)) != 0;
}

NK_T256 void nk_wino_out_f32_avx2(const nk_wino_lanes *L, const float *m, int64_t ms,
                                  float bias, float *y, int64_t ors, int64_t ocs) {
    assert(L && m && y);
    float o16[4][4][16];
    const __m256 vb = _mm256_set1_ps(bias);
    for (int h = 0; h < 2; h++) {
        __m256 s[4][6];
        for (int b = 0; b < 6; b++) {
            __m256 z[6], o[4];
            for (int a = 0; a < 6; a++) z[a] = _mm256_load_ps(m + (6 * a + b) * ms + 8 * h);
            nk_wino_at8(z, o);
            for (int i = 0; i < 4; i++) s[i][b] = o[i];
        }
        for (int i = 0; i < 4; i++) {
            __m256 o[4];
            nk_wino_at8(s[i], o);
            for (int j = 0; j < 4; j++) _mm256_storeu_ps(&o16[i][j][8 * h], _mm256_add_ps(o[j], vb));
        }
    }
    for (int l = 0; l < 16; l++)
        for (int i = 0; i < 4; i++) {
            if (!((L->orow[i] >> l) & 1)) continue;
            float *yr = y + L->out[l] + i * ors;
            for (int j = 0; j < 4; j++)
                if ((L->ocol[j] >> l) & 1) yr[j * ocs] = o16[i][j][l];
        }
}

/* o = G z (three vectors in, six out): rows 1/4 z0; -(z0+z1+z2)/6;
 * -(z0-z1+z2)/6; z0/24 + z1/12 + z2/6; z0/24 - z1/12 + z2/6; z2. */
static inline NK_T256 void nk_wino_g8(const __m256 *z, __m256 *o) {
    const __m256 q4 = _mm256_set1_ps(1.0f / 4), s6 = _mm256_set1_ps(1.0f / 6),
                 t12 = _mm256_set1_ps(1.0f / 12), t24 = _mm256_set1_ps(1.0f / 24);
    const __m256 s02 = _mm256_add_ps(z[0], z[2]);
    const __m256 a = _mm256_mul_ps(t24, z[0]), b = _mm256_mul_ps(t12, z[1]), c = _mm256_mul_ps(s6, z[2]);
    o[0] = _mm256_mul_ps(q4, z[0]);
    o[1] = _mm256_mul_ps(s6, _mm256_sub_ps(_mm256_setzero_ps(), _mm256_add_ps(s02, z[1])));
    o[2] = _mm256_mul_ps(s6, _mm256_sub_ps(z[1], s02));
    o[3] = _mm256_add_ps(_mm256_add_ps(a, b), c);
    o[4] = _mm256_add_ps(_mm256_sub_ps(a, b), c);
    o[5] = z[2];
}

/* The AVX-512 kernel's panel-order lanes, 8 a vector (12 vectors). */
NK_T256 int nk_wino_weights_f32_avx2(const float *w, int64_t K, int64_t C,
                                     int64_t kp, int64_t c0, int nc, float *U, int64_t us) {
    assert(w && U && nc >= 1 && nc <= 16);
    const __m256 zero = _mm256_setzero_ps();
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i six = _mm256_set1_epi32(6), nine = _mm256_set1_epi32(9);
    __m256 acc = zero;
    float *dst = U + c0 * 6;
    for (int q = 0; 8 * q < 6 * nc; q++) {
        const __m256i e = _mm256_add_epi32(lane, _mm256_set1_epi32(8 * q));
        const __m256i c = _mm256_srli_epi32(_mm256_mullo_epi32(e, _mm256_set1_epi32(43)), 8);
        const __m256i k = _mm256_add_epi32(_mm256_set1_epi32((int32_t)(kp * 6)),
                                           _mm256_sub_epi32(e, _mm256_mullo_epi32(c, six)));
        const __m256 m = _mm256_castsi256_ps(
            _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(nc), c),
                             _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)K), k)));
        const __m256i cc = _mm256_add_epi32(c, _mm256_set1_epi32((int32_t)c0));
        const __m256i gi = _mm256_mullo_epi32(
            nine, _mm256_add_epi32(_mm256_mullo_epi32(k, _mm256_set1_epi32((int32_t)C)), cc));
        __m256 g[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                g[i][j] = _mm256_mask_i32gather_ps(zero, w + i * 3 + j, gi, m, 4);
        __m256 t[6][3]; /* t = G g, column by column */
        for (int j = 0; j < 3; j++) {
            const __m256 z[3] = {g[0][j], g[1][j], g[2][j]};
            __m256 col[6];
            nk_wino_g8(z, col);
            for (int a6 = 0; a6 < 6; a6++) t[a6][j] = col[a6];
        }
        const int left = 6 * nc - 8 * q;
        const __m256i sm = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
        for (int a6 = 0; a6 < 6; a6++) { /* (G g) G^T, row by row */
            __m256 o[6];
            nk_wino_g8(t[a6], o);
            for (int b6 = 0; b6 < 6; b6++) {
                acc = _mm256_fmadd_ps(o[b6], zero, acc); /* inf * 0 = NaN */
                _mm256_maskstore_ps(dst + (6 * a6 + b6) * us + 8 * q, sm, o[b6]);
            }
        }
    }
    return _mm256_movemask_ps(_mm256_cmp_ps(acc, acc, _CMP_UNORD_Q)) != 0;
}
static inline NK_T256 void nk_wino_a8(const __m256 *z, __m256 *o) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f),
                 eight = _mm256_set1_ps(8.0f);
    const __m256 s02 = _mm256_add_ps(z[0], z[2]), s13 = _mm256_add_ps(z[1], z[3]);
    const __m256 e02 = _mm256_add_ps(z[0], _mm256_mul_ps(four, z[2]));
    const __m256 e13 = _mm256_add_ps(_mm256_mul_ps(two, z[1]), _mm256_mul_ps(eight, z[3]));
    o[0] = z[0];
    o[1] = _mm256_add_ps(s02, s13);
    o[2] = _mm256_sub_ps(s02, s13);
    o[3] = _mm256_add_ps(e02, e13);
    o[4] = _mm256_sub_ps(e02, e13);
    o[5] = z[3];
}

NK_T256 int nk_wino_dy_f32_avx2(const nk_wino_lanes *L, const float *dy, int64_t K, int64_t OHW,
                                int64_t ors, int64_t ocs, float *p, int64_t ps, int64_t pks) {
    assert(L && dy && p && K >= 0);
    const __m256 zero = _mm256_setzero_ps();
    __m256 acc[6];
    for (int b = 0; b < 6; b++) acc[b] = zero;
    for (int h = 0; h < 2; h++) {
        const __m256i idx = _mm256_loadu_si256((const __m256i *)(L->out + 8 * h));
        __m256 mk[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) mk[i][j] = nk_wino_mask8(L->orow[i] & L->ocol[j], h);
        for (int64_t k = 0; k < K; k++) {
            const float *dk = dy + k * OHW;
            __m256 t[4][6];
            for (int i = 0; i < 4; i++) {
                __m256 z[4];
                for (int j = 0; j < 4; j++)
                    z[j] = _mm256_mask_i32gather_ps(zero, dk + i * ors + j * ocs, idx, mk[i][j], 4);
                nk_wino_a8(z, t[i]);
            }
            float *pk = p + k * pks + 8 * h;
            for (int b = 0; b < 6; b++) {
                __m256 z[4], o[6];
                for (int i = 0; i < 4; i++) z[i] = t[i][b];
                nk_wino_a8(z, o);
                for (int a = 0; a < 6; a++) {
                    _mm256_store_ps(pk + (6 * a + b) * ps, o[a]);
                    acc[b] = _mm256_add_ps(acc[b], _mm256_mul_ps(o[a], zero));
                }
            }
        }
    }
    for (int b = 1; b < 6; b++) acc[0] = _mm256_add_ps(acc[0], acc[b]);
    return _mm256_movemask_ps(_mm256_cmp_ps(acc[0], acc[0], _CMP_UNORD_Q)) != 0;
}

static inline NK_T256 void nk_wino_gt8(const __m256 *m, __m256 *o) {
    const __m256 q4 = _mm256_set1_ps(1.0f / 4), s6 = _mm256_set1_ps(1.0f / 6),
                 t12 = _mm256_set1_ps(1.0f / 12), t24 = _mm256_set1_ps(1.0f / 24);
    const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(q4, m[0]), _mm256_mul_ps(s6, s12)),
                         _mm256_mul_ps(t24, s34));
    o[1] = _mm256_sub_ps(_mm256_mul_ps(t12, d34), _mm256_mul_ps(s6, d12));
    o[2] = _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(s6, s34), _mm256_mul_ps(s6, s12)), m[5]);
}

NK_T256 void nk_wino_dw_f32_avx2(const float *s, int64_t ss, int nc, float *dw) {
    assert(s && dw && nc >= 1 && nc <= 16);
    float o16[3][3][16];
    for (int h = 0; h < 2 && 8 * h < nc; h++) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - 8 * h), lane);
        __m256 t[3][6];
        for (int b = 0; b < 6; b++) {
            __m256 z[6], o[3];
            for (int a = 0; a < 6; a++)
                z[a] = _mm256_maskload_ps(s + (6 * a + b) * ss + 8 * h, lanes);
            nk_wino_gt8(z, o);
            for (int i = 0; i < 3; i++) t[i][b] = o[i];
        }
        for (int i = 0; i < 3; i++) {
            __m256 o[3];
            nk_wino_gt8(t[i], o);
            for (int j = 0; j < 3; j++) _mm256_storeu_ps(&o16[i][j][8 * h], o[j]);
        }
    }
    for (int l = 0; l < nc; l++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) dw[l * 9 + i * 3 + j] = o16[i][j][l];
}
#endif
