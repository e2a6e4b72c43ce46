/* nk_gemm_small_impl.h -- dtype template of nk_gemm_small_avx2.c (included
 * once per dtype).  Not a public header.  Expects NK_T, NK_FN(x), NK_SMALL_JOB,
 * NK_V (vector type), NK_VL (lanes), NK_VZERO, NK_VLOAD, NK_VSTORE, NK_VSET1,
 * NK_VFMA(a, b, c) = a*b+c, NK_VMASKLOAD(ptr, n) (first n lanes, zeros after),
 * NK_VHSUM(v), NK_NB (columns per axpy block). */

/* Scalar epilogue for one element: alpha*acc (+ beta*c), bias, relu. */
NK_INLINE void NK_FN(small_store)(const NK_SMALL_JOB *s, int64_t r, int64_t col, NK_T acc) {
    NK_T *c = s->c + r * s->rs_c + col * s->cs_c;
    NK_T v = s->alpha * acc;
    if (s->beta != 0) v = s->beta * *c + v;
    if (s->bias) v += s->bias[s->bias_per_row ? r : col];
    if (s->relu) v = (v > 0 || v != v) ? v : (NK_T)0;
    *c = v;
}

/* tmp[r][0:nv*VL] += sum_{q<4} A(r, p+q) * B(p+q, cols) for rows r, r+1 */
#define NK_AXPY_ROWS2(NQ)                                                                   \
    do {                                                                                    \
        for (int64_t v = 0; v < nfull; v++) {                                               \
            const NK_T *bp = bc + v * NK_VL;                                                \
            NK_V t0 = NK_VLOAD(t0p + v * NK_VL), t1 = NK_VLOAD(t1p + v * NK_VL);            \
            for (int q = 0; q < (NQ); q++) {                                                \
                NK_V bv = NK_VLOAD(bp + q * ldb);                                           \
                t0 = NK_VFMA(a0[q], bv, t0);                                                \
                t1 = NK_VFMA(a1[q], bv, t1);                                                \
            }                                                                               \
            NK_VSTORE(t0p + v * NK_VL, t0);                                                 \
            NK_VSTORE(t1p + v * NK_VL, t1);                                                 \
        }                                                                                   \
        if (ntail) {                                                                        \
            const NK_T *bp = bc + nfull * NK_VL;                                            \
            NK_V t0 = NK_VLOAD(t0p + nfull * NK_VL), t1 = NK_VLOAD(t1p + nfull * NK_VL);    \
            for (int q = 0; q < (NQ); q++) {                                                \
                NK_V bv = NK_VMASKLOAD(bp + q * ldb, ntail);                                \
                t0 = NK_VFMA(a0[q], bv, t0);                                                \
                t1 = NK_VFMA(a1[q], bv, t1);                                                \
            }                                                                               \
            NK_VSTORE(t0p + nfull * NK_VL, t0);                                             \
            NK_VSTORE(t1p + nfull * NK_VL, t1);                                             \
        }                                                                                   \
    } while (0)

/* the same for one row r */
#define NK_AXPY_ROW1(NQ)                                                                    \
    do {                                                                                    \
        for (int64_t v = 0; v < nfull; v++) {                                               \
            const NK_T *bp = bc + v * NK_VL;                                                \
            NK_V t0 = NK_VLOAD(t0p + v * NK_VL);                                            \
            for (int q = 0; q < (NQ); q++) t0 = NK_VFMA(a0[q], NK_VLOAD(bp + q * ldb), t0); \
            NK_VSTORE(t0p + v * NK_VL, t0);                                                 \
        }                                                                                   \
        if (ntail) {                                                                        \
            const NK_T *bp = bc + nfull * NK_VL;                                            \
            NK_V t0 = NK_VLOAD(t0p + nfull * NK_VL);                                        \
            for (int q = 0; q < (NQ); q++)                                                  \
                t0 = NK_VFMA(a0[q], NK_VMASKLOAD(bp + q * ldb, ntail), t0);                 \
            NK_VSTORE(t0p + nfull * NK_VL, t0);                                             \
        }                                                                                   \
    } while (0)

NK_TARGET_AVX2 void NK_FN(nk_gemm_small_axpy)(const NK_SMALL_JOB *s, int64_t n0, int64_t n1) {
    _Alignas(64) NK_T tmp[NK_GEMM_SMALL_AXPY * NK_NB];
    const int64_t M = s->M, K = s->K, ldb = s->ldb;
    assert(M <= NK_GEMM_SMALL_AXPY);
    /* column block: as wide as the tile budget allows (long contiguous runs
     * of B rows for the prefetchers), the tile staying within ~16 KiB */
    const int64_t nbmax = nk_min_i64(NK_NB * NK_GEMM_SMALL_AXPY / 2, NK_NB * 4 / (M + 1) * 2);
    const int64_t ld = nk_ceil_div(nk_min_i64(nbmax, n1 - n0), NK_VL) * NK_VL;
    assert(M * ld <= NK_GEMM_SMALL_AXPY * NK_NB); /* M * (2 * 4 NB / (M + 1) + VL) */
    for (int64_t c0 = n0; c0 < n1; c0 += nbmax) {
        const int64_t nb = nk_min_i64(nbmax, n1 - c0);
        const int64_t nfull = nb / NK_VL, ntail = nb % NK_VL;
        const int64_t nvec = nfull + (ntail != 0);
        for (int64_t r = 0; r < M; r++)
            for (int64_t v = 0; v < nvec * NK_VL; v++) tmp[r * ld + v] = 0;
        for (int64_t p = 0; p < K; p += 4) {
            const int nq = (int)nk_min_i64(4, K - p);
            const NK_T *bc = s->b + c0 + p * ldb;
            int64_t r = 0;
            for (; r + 2 <= M; r += 2) {
                NK_V a0[4], a1[4];
                for (int q = 0; q < 4; q++) {
                    a0[q] = NK_VSET1(q < nq ? s->a[r * s->rs_a + (p + q) * s->cs_a] : 0);
                    a1[q] = NK_VSET1(q < nq ? s->a[(r + 1) * s->rs_a + (p + q) * s->cs_a] : 0);
                }
                NK_T *t0p = tmp + r * ld, *t1p = tmp + (r + 1) * ld;
                if (nq == 4) NK_AXPY_ROWS2(4);
                else NK_AXPY_ROWS2(nq);
            }
            if (r < M) { /* odd last row */
                NK_V a0[4];
                for (int q = 0; q < 4; q++)
                    a0[q] = NK_VSET1(q < nq ? s->a[r * s->rs_a + (p + q) * s->cs_a] : 0);
                NK_T *t0p = tmp + r * ld;
                if (nq == 4) NK_AXPY_ROW1(4);
                else NK_AXPY_ROW1(nq);
            }
        }
        for (int64_t r = 0; r < M; r++)
            for (int64_t jj = 0; jj < nb; jj++) NK_FN(small_store)(s, r, c0 + jj, tmp[r * ld + jj]);
    }
}
#undef NK_AXPY_ROWS2
#undef NK_AXPY_ROW1

/* Dot form: 2 rows of A x 4 rows of B per block, 8 vector accumulators.
 * Rows past the end are clamped to the last one (computed, not stored), so
 * every dot product is evaluated identically wherever it falls. */
NK_TARGET_AVX2 void NK_FN(nk_gemm_small_dot)(const NK_SMALL_JOB *s, int64_t n0, int64_t n1) {
    const int64_t M = s->M, K = s->K, kv = K / NK_VL * NK_VL, rem = K - kv;
    for (int64_t jb = n0; jb < n1; jb += 4) {
        const NK_T *b[4];
        for (int q = 0; q < 4; q++) b[q] = s->b + nk_min_i64(jb + q, n1 - 1) * s->ldb;
        for (int64_t rb = 0; rb < M; rb += 2) {
            const NK_T *a0 = s->a + rb * s->rs_a;
            const NK_T *a1 = s->a + nk_min_i64(rb + 1, M - 1) * s->rs_a;
            NK_V c00 = NK_VZERO, c01 = NK_VZERO, c02 = NK_VZERO, c03 = NK_VZERO;
            NK_V c10 = NK_VZERO, c11 = NK_VZERO, c12 = NK_VZERO, c13 = NK_VZERO;
            for (int64_t p = 0; p < kv; p += NK_VL) {
                NK_V b0 = NK_VLOAD(b[0] + p), b1 = NK_VLOAD(b[1] + p);
                NK_V b2 = NK_VLOAD(b[2] + p), b3 = NK_VLOAD(b[3] + p);
                NK_V av = NK_VLOAD(a0 + p);
                c00 = NK_VFMA(av, b0, c00); c01 = NK_VFMA(av, b1, c01);
                c02 = NK_VFMA(av, b2, c02); c03 = NK_VFMA(av, b3, c03);
                av = NK_VLOAD(a1 + p);
                c10 = NK_VFMA(av, b0, c10); c11 = NK_VFMA(av, b1, c11);
                c12 = NK_VFMA(av, b2, c12); c13 = NK_VFMA(av, b3, c13);
            }
            if (rem) {
                NK_V b0 = NK_VMASKLOAD(b[0] + kv, rem), b1 = NK_VMASKLOAD(b[1] + kv, rem);
                NK_V b2 = NK_VMASKLOAD(b[2] + kv, rem), b3 = NK_VMASKLOAD(b[3] + kv, rem);
                NK_V av = NK_VMASKLOAD(a0 + kv, rem);
                c00 = NK_VFMA(av, b0, c00); c01 = NK_VFMA(av, b1, c01);
                c02 = NK_VFMA(av, b2, c02); c03 = NK_VFMA(av, b3, c03);
                av = NK_VMASKLOAD(a1 + kv, rem);
                c10 = NK_VFMA(av, b0, c10); c11 = NK_VFMA(av, b1, c11);
                c12 = NK_VFMA(av, b2, c12); c13 = NK_VFMA(av, b3, c13);
            }
            const NK_T d[2][4] = {{NK_VHSUM(c00), NK_VHSUM(c01), NK_VHSUM(c02), NK_VHSUM(c03)},
                                  {NK_VHSUM(c10), NK_VHSUM(c11), NK_VHSUM(c12), NK_VHSUM(c13)}};
            for (int i = 0; i < 2 && rb + i < M; i++)
                for (int q = 0; q < 4 && jb + q < n1; q++) NK_FN(small_store)(s, rb + i, jb + q, d[i][q]);
        }
    }
}

/* Direct form: the 6 x (2 vectors) register tile of the packed micro-kernel,
 * reading A by scalar broadcasts and B by (masked) row loads in place; for
 * short or skinny problems whose B is row-contiguous.  Rows past M are
 * clamped to the last row (computed, not stored). */
#define NK_DIRECT_STEP(LOAD0, LOAD1)                                                       \
    do {                                                                                   \
        const NK_T *bp = b + p * ldb;                                                      \
        NK_V b0 = LOAD0, b1 = LOAD1;                                                       \
        const int64_t po = p * cs_a;                                                       \
        NK_V av;                                                                           \
        av = NK_VSET1(a0[po]); c00 = NK_VFMA(av, b0, c00); c01 = NK_VFMA(av, b1, c01);     \
        av = NK_VSET1(a1[po]); c10 = NK_VFMA(av, b0, c10); c11 = NK_VFMA(av, b1, c11);     \
        av = NK_VSET1(a2[po]); c20 = NK_VFMA(av, b0, c20); c21 = NK_VFMA(av, b1, c21);     \
        av = NK_VSET1(a3[po]); c30 = NK_VFMA(av, b0, c30); c31 = NK_VFMA(av, b1, c31);     \
        av = NK_VSET1(a4[po]); c40 = NK_VFMA(av, b0, c40); c41 = NK_VFMA(av, b1, c41);     \
        av = NK_VSET1(a5[po]); c50 = NK_VFMA(av, b0, c50); c51 = NK_VFMA(av, b1, c51);     \
    } while (0)

NK_TARGET_AVX2 void NK_FN(nk_gemm_small_direct)(const NK_SMALL_JOB *s, int64_t n0, int64_t n1) {
    const int64_t M = s->M, K = s->K, ldb = s->ldb, cs_a = s->cs_a;
    _Alignas(64) NK_T tile[6][2 * NK_VL];
    for (int64_t j0 = n0; j0 < n1; j0 += 2 * NK_VL) {
        const int64_t nc = nk_min_i64(2 * NK_VL, n1 - j0);
        const NK_T *b = s->b + j0;
        for (int64_t r0 = 0; r0 < M; r0 += 6) {
            const NK_T *a0 = s->a + r0 * s->rs_a;
            const NK_T *a1 = s->a + nk_min_i64(r0 + 1, M - 1) * s->rs_a;
            const NK_T *a2 = s->a + nk_min_i64(r0 + 2, M - 1) * s->rs_a;
            const NK_T *a3 = s->a + nk_min_i64(r0 + 3, M - 1) * s->rs_a;
            const NK_T *a4 = s->a + nk_min_i64(r0 + 4, M - 1) * s->rs_a;
            const NK_T *a5 = s->a + nk_min_i64(r0 + 5, M - 1) * s->rs_a;
            NK_V c00 = NK_VZERO, c01 = NK_VZERO, c10 = NK_VZERO, c11 = NK_VZERO;
            NK_V c20 = NK_VZERO, c21 = NK_VZERO, c30 = NK_VZERO, c31 = NK_VZERO;
            NK_V c40 = NK_VZERO, c41 = NK_VZERO, c50 = NK_VZERO, c51 = NK_VZERO;
            if (nc == 2 * NK_VL) {
                for (int64_t p = 0; p < K; p++) NK_DIRECT_STEP(NK_VLOAD(bp), NK_VLOAD(bp + NK_VL));
            } else if (nc > NK_VL) {
                const int64_t n2 = nc - NK_VL;
                for (int64_t p = 0; p < K; p++)
                    NK_DIRECT_STEP(NK_VLOAD(bp), NK_VMASKLOAD(bp + NK_VL, n2));
            } else if (nc == NK_VL) {
                for (int64_t p = 0; p < K; p++) NK_DIRECT_STEP(NK_VLOAD(bp), NK_VZERO);
            } else {
                for (int64_t p = 0; p < K; p++) NK_DIRECT_STEP(NK_VMASKLOAD(bp, nc), NK_VZERO);
            }
            NK_VSTORE(tile[0], c00); NK_VSTORE(tile[0] + NK_VL, c01);
            NK_VSTORE(tile[1], c10); NK_VSTORE(tile[1] + NK_VL, c11);
            NK_VSTORE(tile[2], c20); NK_VSTORE(tile[2] + NK_VL, c21);
            NK_VSTORE(tile[3], c30); NK_VSTORE(tile[3] + NK_VL, c31);
            NK_VSTORE(tile[4], c40); NK_VSTORE(tile[4] + NK_VL, c41);
            NK_VSTORE(tile[5], c50); NK_VSTORE(tile[5] + NK_VL, c51);
            const int64_t mr = nk_min_i64(6, M - r0);
            for (int64_t r = 0; r < mr; r++)
                for (int64_t jj = 0; jj < nc; jj++) NK_FN(small_store)(s, r0 + r, j0 + jj, tile[r][jj]);
        }
    }
}
#undef NK_DIRECT_STEP
