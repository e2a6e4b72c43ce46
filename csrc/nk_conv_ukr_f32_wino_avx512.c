/* nk_conv_ukr_f32_wino_avx512.c -- AVX-512F input and output transforms of
 * the Winograd F(4x4, 3x3) convolution (nk_conv_winograd.c), 16 tiles at a
 * time, one per lane (layout: nk_conv_wino.h).  Input values are read by
 * masked gathers straight from x (zero padding = masked-off lanes), outputs
 * written by masked scatters straight into y.  Plain multiplies and adds in
 * a fixed order (no FMA), so the bits depend only on the data.
 *
 *   B^T = [4  0 -5  0  1  0]      A^T = [1  1  1  1  1  0]
 *         [0 -4 -4  1  1  0]            [0  1 -1  2 -2  0]
 *         [0  4 -4 -1  1  0]            [0  1  1  4  4  0]
 *         [0 -2 -1  2  1  0]            [0  1 -1  8 -8  1]
 *         [0  2 -1 -2  1  0]
 *         [0  4  0 -5  0  1]   (Lavin & Gray, points 0, +-1, +-2) */
#include <assert.h>
#include "nk_conv_wino.h"

#if NK_X86_DISPATCH
#include <immintrin.h>

#define NK_T512 __attribute__((target("avx512f")))

/* o = B^T z (six vectors in, six out). */
static inline NK_T512 void nk_wino_bt(const __m512 *z, __m512 *o) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f),
                 five = _mm512_set1_ps(5.0f);
    const __m512 s12 = _mm512_add_ps(z[1], z[2]), d12 = _mm512_sub_ps(z[1], z[2]);
    const __m512 d31 = _mm512_sub_ps(z[3], z[1]), d42 = _mm512_sub_ps(z[4], z[2]);
    o[0] = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(four, z[0]), _mm512_mul_ps(five, z[2])),
                         z[4]);
    o[1] = _mm512_sub_ps(_mm512_add_ps(z[3], z[4]), _mm512_mul_ps(four, s12));
    o[2] = _mm512_add_ps(_mm512_sub_ps(z[4], z[3]), _mm512_mul_ps(four, d12));
    o[3] = _mm512_add_ps(d42, _mm512_mul_ps(two, d31));
    o[4] = _mm512_sub_ps(d42, _mm512_mul_ps(two, d31));
    o[5] = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(four, z[1]), _mm512_mul_ps(five, z[3])),
                         z[5]);
}

/* o = A^T m (six vectors in, four out). */
static inline NK_T512 void nk_wino_at(const __m512 *m, __m512 *o) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f),
                 eight = _mm512_set1_ps(8.0f);
    const __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    const __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    o[1] = _mm512_add_ps(d12, _mm512_mul_ps(two, d34));
    o[2] = _mm512_add_ps(s12, _mm512_mul_ps(four, s34));
    o[3] = _mm512_add_ps(_mm512_add_ps(d12, _mm512_mul_ps(eight, d34)), m[5]);
}

/* 1 when a lane of acc is not finite (acc sums v * 0 over the values v) */
static inline NK_T512 int nk_wino_nonfinite(__m512 acc) {
    return _mm512_cmp_ps_mask(acc, acc, _CMP_UNORD_Q) != 0;
}

NK_T512 int nk_wino_in_f32_avx512(const nk_wino_lanes *L, const float *x, int64_t C,
                                  int64_t HW, int64_t rs, int64_t cs, float *v, int64_t vs,
                                  int64_t vcs) {
    assert(L && x && v && C >= 0);
    const __m512i idx = _mm512_loadu_si512(L->in);
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 mk[6][6];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) mk[i][j] = (__mmask16)(L->irow[i] & L->icol[j]);
    __m512 acc[6];
    for (int b = 0; b < 6; b++) acc[b] = zero;
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * HW;
        __m512 t[6][6]; /* t[i'][b]: row i' after the column transform */
        for (int i = 0; i < 6; i++) {
            __m512 z[6];
            for (int j = 0; j < 6; j++)
                z[j] = _mm512_mask_i32gather_ps(zero, mk[i][j], idx, xc + i * rs + j * cs, 4);
            nk_wino_bt(z, t[i]);
        }
        float *vc = v + c * vcs;
        for (int b = 0; b < 6; b++) {
            __m512 z[6], o[6];
            for (int i = 0; i < 6; i++) z[i] = t[i][b];
            nk_wino_bt(z, o);
            for (int a = 0; a < 6; a++) {
                _mm512_store_ps(vc + (6 * a + b) * vs, o[a]);
                acc[b] = _mm512_add_ps(acc[b], _mm512_mul_ps(o[a], zero));
            }
        }
    }
    for (int b = 1; b < 6; b++) acc[0] = _mm512_add_ps(acc[0], acc[b]);
    return nk_wino_nonfinite(acc[0]);
}

/* o = G z (three vectors in, six out): rows 1/4 z0; -(z0+z1+z2)/6;
 * -(z0-z1+z2)/6; z0/24 + z1/12 + z2/6; z0/24 - z1/12 + z2/6; z2. */
static inline NK_T512 void nk_wino_g(const __m512 *z, __m512 *o) {
    const __m512 q4 = _mm512_set1_ps(1.0f / 4), s6 = _mm512_set1_ps(1.0f / 6),
                 t12 = _mm512_set1_ps(1.0f / 12), t24 = _mm512_set1_ps(1.0f / 24);
    const __m512 s02 = _mm512_add_ps(z[0], z[2]);
    const __m512 a = _mm512_mul_ps(t24, z[0]), b = _mm512_mul_ps(t12, z[1]), c = _mm512_mul_ps(s6, z[2]);
    o[0] = _mm512_mul_ps(q4, z[0]);
    o[1] = _mm512_mul_ps(s6, _mm512_sub_ps(_mm512_setzero_ps(), _mm512_add_ps(s02, z[1])));
    o[2] = _mm512_mul_ps(s6, _mm512_sub_ps(z[1], s02));
    o[3] = _mm512_add_ps(_mm512_add_ps(a, b), c);
    o[4] = _mm512_add_ps(_mm512_sub_ps(a, b), c);
    o[5] = z[2];
}

/* (G g G^T) for the nc <= 16 input channels c0.. and the six output
 * channels kp*6 + r of one packed panel, written as U[xi*us + c*6 + r]
 * (c from c0).  The 96 (c, r) pairs are taken in the panel's own order,
 * 16 a vector (lane l of vector q: element e = 16q + l, c = e / 6,
 * r = e % 6), each lane gathering its own 3x3 kernel, so every transformed
 * vector is stored as it is: no interleave.  Lanes with c >= nc or
 * k >= K transform zeros. */
NK_T512 int nk_wino_weights_f32_avx512(const float *w, int64_t K, int64_t C,
                                        int64_t kp, int64_t c0, int nc, float *U, int64_t us) {
    assert(w && U && nc >= 1 && nc <= 16);
    const __m512 zero = _mm512_setzero_ps();
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i six = _mm512_set1_epi32(6), nine = _mm512_set1_epi32(9);
    __m512 acc = zero;
    float *dst = U + c0 * 6;
    for (int q = 0; 16 * q < 6 * nc; q++) {
        const __m512i e = _mm512_add_epi32(lane, _mm512_set1_epi32(16 * q));
        /* c = e / 6 for e < 96: (e * 43) >> 8 */
        const __m512i c = _mm512_srli_epi32(_mm512_mullo_epi32(e, _mm512_set1_epi32(43)), 8);
        const __m512i k = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(kp * 6)),
                                           _mm512_sub_epi32(e, _mm512_mullo_epi32(c, six)));
        const __mmask16 m = _mm512_cmplt_epi32_mask(c, _mm512_set1_epi32(nc)) &
                            _mm512_cmplt_epi32_mask(k, _mm512_set1_epi32((int32_t)K));
        const __m512i cc = _mm512_add_epi32(c, _mm512_set1_epi32((int32_t)c0));
        /* the kernel's first value w[k, c] (int32: the plan keeps 9 K C
         * below 2^31) */
        const __m512i gi = _mm512_mullo_epi32(
            nine, _mm512_add_epi32(_mm512_mullo_epi32(k, _mm512_set1_epi32((int32_t)C)), cc));
        __m512 g[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                g[i][j] = _mm512_mask_i32gather_ps(zero, m, gi, w + i * 3 + j, 4);
        __m512 t[6][3]; /* t = G g, column by column */
        for (int j = 0; j < 3; j++) {
            const __m512 z[3] = {g[0][j], g[1][j], g[2][j]};
            __m512 col[6];
            nk_wino_g(z, col);
            for (int a6 = 0; a6 < 6; a6++) t[a6][j] = col[a6];
        }
        const int left = 6 * nc - 16 * q;
        const __mmask16 sm = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        for (int a6 = 0; a6 < 6; a6++) { /* (G g) G^T, row by row */
            __m512 o[6];
            nk_wino_g(t[a6], o);
            for (int b6 = 0; b6 < 6; b6++) {
                acc = _mm512_fmadd_ps(o[b6], zero, acc); /* inf * 0 = NaN */
                _mm512_mask_storeu_ps(dst + (6 * a6 + b6) * us + 16 * q, sm, o[b6]);
            }
        }
    }
    return nk_wino_nonfinite(acc);
}

NK_T512 void nk_wino_out_f32_avx512(const nk_wino_lanes *L, const float *m, int64_t ms,
                                    float bias, float *y, int64_t ors, int64_t ocs) {
    assert(L && m && y);
    const __m512i idx = _mm512_loadu_si512(L->out);
    __m512 s[4][6]; /* s[i][b]: column b after the row transform */
    for (int b = 0; b < 6; b++) {
        __m512 z[6], o[4];
        for (int a = 0; a < 6; a++) z[a] = _mm512_load_ps(m + (6 * a + b) * ms);
        nk_wino_at(z, o);
        for (int i = 0; i < 4; i++) s[i][b] = o[i];
    }
    const __m512 vb = _mm512_set1_ps(bias);
    for (int i = 0; i < 4; i++) {
        __m512 o[4];
        nk_wino_at(s[i], o);
        for (int j = 0; j < 4; j++) {
            const __mmask16 k = (__mmask16)(L->orow[i] & L->ocol[j]);
            _mm512_mask_i32scatter_ps(y + i * ors + j * ocs, k, idx, _mm512_add_ps(o[j], vb), 4);
        }
    }
}
/* o = A z (four vectors in, six out): the transpose of nk_wino_at. */
static inline NK_T512 void nk_wino_a(const __m512 *z, __m512 *o) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f),
                 eight = _mm512_set1_ps(8.0f);
    const __m512 s02 = _mm512_add_ps(z[0], z[2]), s13 = _mm512_add_ps(z[1], z[3]);
    const __m512 e02 = _mm512_add_ps(z[0], _mm512_mul_ps(four, z[2]));
    const __m512 e13 = _mm512_add_ps(_mm512_mul_ps(two, z[1]), _mm512_mul_ps(eight, z[3]));
    o[0] = z[0];
    o[1] = _mm512_add_ps(s02, s13);
    o[2] = _mm512_sub_ps(s02, s13);
    o[3] = _mm512_add_ps(e02, e13);
    o[4] = _mm512_sub_ps(e02, e13);
    o[5] = z[3];
}

NK_T512 int nk_wino_dy_f32_avx512(const nk_wino_lanes *L, const float *dy, int64_t K,
                                  int64_t OHW, int64_t ors, int64_t ocs, float *p, int64_t ps,
                                  int64_t pks) {
    assert(L && dy && p && K >= 0);
    const __m512i idx = _mm512_loadu_si512(L->out);
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 mk[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) mk[i][j] = (__mmask16)(L->orow[i] & L->ocol[j]);
    __m512 acc[6];
    for (int b = 0; b < 6; b++) acc[b] = zero;
    for (int64_t k = 0; k < K; k++) {
        const float *dk = dy + k * OHW;
        __m512 t[4][6]; /* t[i][b]: row i after the column transform */
        for (int i = 0; i < 4; i++) {
            __m512 z[4];
            for (int j = 0; j < 4; j++)
                z[j] = _mm512_mask_i32gather_ps(zero, mk[i][j], idx, dk + i * ors + j * ocs, 4);
            nk_wino_a(z, t[i]);
        }
        float *pk = p + k * pks;
        for (int b = 0; b < 6; b++) {
            __m512 z[4], o[6];
            for (int i = 0; i < 4; i++) z[i] = t[i][b];
            nk_wino_a(z, o);
            for (int a = 0; a < 6; a++) {
                _mm512_store_ps(pk + (6 * a + b) * ps, o[a]);
                acc[b] = _mm512_add_ps(acc[b], _mm512_mul_ps(o[a], zero));
            }
        }
    }
    for (int b = 1; b < 6; b++) acc[0] = _mm512_add_ps(acc[0], acc[b]);
    return nk_wino_nonfinite(acc[0]);
}

/* o = G^T m (six vectors in, three out). */
static inline NK_T512 void nk_wino_gt(const __m512 *m, __m512 *o) {
    const __m512 q4 = _mm512_set1_ps(1.0f / 4), s6 = _mm512_set1_ps(1.0f / 6),
                 t12 = _mm512_set1_ps(1.0f / 12), t24 = _mm512_set1_ps(1.0f / 24);
    const __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    const __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(q4, m[0]), _mm512_mul_ps(s6, s12)),
                         _mm512_mul_ps(t24, s34));
    o[1] = _mm512_sub_ps(_mm512_mul_ps(t12, d34), _mm512_mul_ps(s6, d12));
    o[2] = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(s6, s34), _mm512_mul_ps(s6, s12)), m[5]);
}

NK_T512 void nk_wino_dw_f32_avx512(const float *s, int64_t ss, int nc, float *dw) {
    assert(s && dw && nc >= 1 && nc <= 16);
    const __mmask16 lanes = (__mmask16)((1u << nc) - 1);
    __m512 t[3][6]; /* t[kh][b] */
    for (int b = 0; b < 6; b++) {
        __m512 z[6], o[3];
        for (int a = 0; a < 6; a++) z[a] = _mm512_maskz_loadu_ps(lanes, s + (6 * a + b) * ss);
        nk_wino_gt(z, o);
        for (int i = 0; i < 3; i++) t[i][b] = o[i];
    }
    const __m512i idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(9));
    for (int i = 0; i < 3; i++) {
        __m512 o[3];
        nk_wino_gt(t[i], o);
        for (int j = 0; j < 3; j++) _mm512_mask_i32scatter_ps(dw + i * 3 + j, lanes, idx, o[j], 4);
    }
}
#endif
