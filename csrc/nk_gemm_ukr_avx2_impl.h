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
 * With NK_UKR_SHIFT defined (conv's shifted-rows kernels,
 * nk_conv_ukr_f32_shift_avx2.c), A is not packed: depth step p broadcasts
 * a[aoff[p] + r*NK_UKR_SW] for row r (the kernel takes `const int64_t
 * *aoff` after a); the arithmetic is unchanged.  May be included several
 * times per file (each inclusion defines NK_UKR_NAME, and NK_UKR_SW when
 * not 1).
 *
 * Expects NK_T, NK_V (vector type), NK_VN (lanes), NK_ARGS, NK_BCAST,
 * NK_SET1, NK_ZERO, NK_LOAD, NK_LOADU, NK_STOREU, NK_FMADD, NK_MUL, NK_ADD,
 * NK_MAX, NK_UKR_NAME. */

#define NK_NR2 (2 * NK_VN) /* NR: two vectors */
#ifndef NK_UKR_SW
#define NK_UKR_SW 1
#endif
#ifdef NK_UKR_SHIFT
#define NK_STEP_A() const NK_T *aq = a + *ao++
#define NK_ADV_A() ((void)0)
#else
#define NK_STEP_A() const NK_T *aq = a
#define NK_ADV_A() (a += 6)
#endif

#define NK_ROW_FMA(r)                                      \
    do {                                                   \
        NK_V av = NK_BCAST(aq + (r) * NK_UKR_SW);          \
        c##r##0 = NK_FMADD(av, b0, c##r##0);               \
        c##r##1 = NK_FMADD(av, b1, c##r##1);               \
    } while (0)

#define NK_STEP()                                          \
    do {                                                   \
        NK_STEP_A();                                       \
        NK_V b0 = NK_LOAD(b);                              \
        NK_V b1 = NK_LOAD(b + NK_VN);                      \
        NK_ROW_FMA(0); NK_ROW_FMA(1); NK_ROW_FMA(2);       \
        NK_ROW_FMA(3); NK_ROW_FMA(4); NK_ROW_FMA(5);       \
        NK_ADV_A();                                        \
        b += NK_NR2;                                       \
    } while (0)

#ifndef NK_AVX2_STORE_ROW_DEFINED
#define NK_AVX2_STORE_ROW_DEFINED
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

#endif

#ifdef NK_UKR_SHIFT
NK_TARGET_AVX2 void NK_UKR_NAME(int64_t kc, const NK_T *NK_RESTRICT a,
                                const int64_t *NK_RESTRICT aoff, const NK_T *NK_RESTRICT b,
                                NK_T *NK_RESTRICT c, int64_t rs_c, const NK_ARGS *args) {
    const int64_t *ao = aoff;
#else
NK_TARGET_AVX2 void NK_UKR_NAME(int64_t kc, const NK_T *NK_RESTRICT a, const NK_T *NK_RESTRICT b,
                                NK_T *NK_RESTRICT c, int64_t rs_c, const NK_ARGS *args) {
#endif
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
#ifndef NK_UKR_SHIFT
        _mm_prefetch((const char *)(a + 96), _MM_HINT_T0);
#endif
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

#undef NK_NR2
#undef NK_STEP_A
#undef NK_ADV_A
#undef NK_ROW_FMA
#undef NK_STEP
#undef NK_UKR_SW
#undef NK_UKR_NAME
