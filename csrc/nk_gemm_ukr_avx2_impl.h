/* nk_gemm_ukr_avx2_impl.h -- dtype template of the AVX2+FMA GEMM
 * micro-kernels (nk_gemm_ukr_f32_6x16_avx2.c, nk_gemm_ukr_f64_6x8_avx2.c).
 * Not a public header.
 *
 * Tile: 6 rows x 2 ymm columns (f32 6 x 16, f64 6 x 8).  Registers: 12
 * accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers.
 * Each depth step issues 12 independent FMAs for 2 loads and 6 broadcasts,
 * enough (12 >= 2 ports x 4-5 cycles latency) to keep both FMA pipes busy
 * while the loads stay under the 2-3/cycle the load ports sustain.  Contract
 * in nk_gemm_internal.h.
 *
 * Expects NK_T, NK_V (vector type), NK_VN (lanes), NK_ARGS, NK_BCAST,
 * NK_SET1, NK_ZERO, NK_LOAD, NK_LOADU, NK_STOREU, NK_FMADD, NK_MUL, NK_ADD,
 * NK_MAX, NK_UKR_NAME. */

#define NK_NR2 (2 * NK_VN) /* NR: two vectors */

#define NK_ROW_FMA(r)                                      \
    do {                                                   \
        NK_V av = NK_BCAST(a + (r));                       \
        c##r##0 = NK_FMADD(av, b0, c##r##0);               \
        c##r##1 = NK_FMADD(av, b1, c##r##1);               \
    } while (0)

#define NK_STEP()                                          \
    do {                                                   \
        NK_V b0 = NK_LOAD(b);                              \
        NK_V b1 = NK_LOAD(b + NK_VN);                      \
        NK_ROW_FMA(0); NK_ROW_FMA(1); NK_ROW_FMA(2);       \
        NK_ROW_FMA(3); NK_ROW_FMA(4); NK_ROW_FMA(5);       \
        a += 6;                                            \
        b += NK_NR2;                                       \
    } while (0)

NK_TARGET_AVX2 NK_INLINE void store_row(NK_T *c, NK_V t0, NK_V t1, int r, const NK_ARGS *args) {
    if (args->alpha != (NK_T)1) {
        NK_V va = NK_SET1(args->alpha);
        t0 = NK_MUL(t0, va);
        t1 = NK_MUL(t1, va);
    }
    if (args->beta == (NK_T)1) {
        t0 = NK_ADD(NK_LOADU(c), t0);
        t1 = NK_ADD(NK_LOADU(c + NK_VN), t1);
    } else if (args->beta != (NK_T)0) {
        NK_V vb = NK_SET1(args->beta);
        t0 = NK_FMADD(NK_LOADU(c), vb, t0);
        t1 = NK_FMADD(NK_LOADU(c + NK_VN), vb, t1);
    }
    if (args->bias) {
        if (args->bias_per_row) {
            NK_V vb = NK_SET1(args->bias[r]);
            t0 = NK_ADD(t0, vb);
            t1 = NK_ADD(t1, vb);
        } else {
            t0 = NK_ADD(t0, NK_LOADU(args->bias));
            t1 = NK_ADD(t1, NK_LOADU(args->bias + NK_VN));
        }
    }
    if (args->relu) { /* max returns its 2nd operand when one is NaN */
        NK_V z = NK_ZERO();
        t0 = NK_MAX(z, t0);
        t1 = NK_MAX(z, t1);
    }
    NK_STOREU(c, t0);
    NK_STOREU(c + NK_VN, t1);
}

NK_TARGET_AVX2 void NK_UKR_NAME(int64_t kc, const NK_T *NK_RESTRICT a, const NK_T *NK_RESTRICT b,
                                NK_T *NK_RESTRICT c, int64_t rs_c, const NK_ARGS *args) {
    NK_V c00 = NK_ZERO(), c01 = NK_ZERO();
    NK_V c10 = NK_ZERO(), c11 = NK_ZERO();
    NK_V c20 = NK_ZERO(), c21 = NK_ZERO();
    NK_V c30 = NK_ZERO(), c31 = NK_ZERO();
    NK_V c40 = NK_ZERO(), c41 = NK_ZERO();
    NK_V c50 = NK_ZERO(), c51 = NK_ZERO();
    if (args->beta != (NK_T)0)
        for (int r = 0; r < 6; r++) { /* a row may straddle two lines */
            _mm_prefetch((const char *)(c + r * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + r * rs_c + NK_NR2 - 1), _MM_HINT_T0);
        }
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(a + 96), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 16 * NK_NR2), _MM_HINT_T0);
        NK_STEP(); NK_STEP(); NK_STEP(); NK_STEP();
    }
    for (; p < kc; p++) NK_STEP();
    store_row(c + 0 * rs_c, c00, c01, 0, args);
    store_row(c + 1 * rs_c, c10, c11, 1, args);
    store_row(c + 2 * rs_c, c20, c21, 2, args);
    store_row(c + 3 * rs_c, c30, c31, 3, args);
    store_row(c + 4 * rs_c, c40, c41, 4, args);
    store_row(c + 5 * rs_c, c50, c51, 5, args);
}
