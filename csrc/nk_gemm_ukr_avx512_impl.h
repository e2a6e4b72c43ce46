/* nk_gemm_ukr_avx512_impl.h -- dtype template of the AVX-512 GEMM
 * micro-kernels (nk_gemm_ukr_f32_avx512.c, nk_gemm_ukr_f64_avx512.c).  Not
 * a public header.
 *
 * Tile: 12 rows x 2 zmm columns (f32 12 x 32, f64 12 x 16), i.e. a 2 x 2
 * block of the standard MR x NR tiles (MR = 6; NR = 16 f32 / 8 f64), read
 * from two consecutive packed A panels and two consecutive packed B panels
 * (the second panel of each starts kc * MR resp. kc * NR elements after
 * the first).  The packed layout, and with it the packing callbacks of
 * conv, is therefore the same at every ISA level.
 *
 * Registers: 24 zmm accumulators + 2 B vectors + the broadcast (an
 * embedded-broadcast memory operand of the FMA) = 26-27 of 32.  Per depth
 * step: 24 FMAs for 2 vector loads and 12 scalar broadcasts, which keeps
 * both 512-bit FMA pipes busy (24 independent chains >= 2 pipes x 4 cycles)
 * within the load ports' budget; this is the shape BLIS uses on
 * Skylake-X (its 32 x 12, transposed).
 *
 * Every element is computed exactly like the AVX2 6 x NR kernel computes it
 * (same FMA chain from p = 0, then * alpha, + beta * c, + bias, relu, in
 * the same order and with the same operand order), so the driver may mix
 * this kernel with the AVX2 kernel on edge tiles without changing a bit.
 *
 * Included once per tile shape: NK_UKR_ROWS (12 = two A panels, or 6 = one)
 * x NK_UKR_COLS (2 = two B panels, or 1 = one) zmm columns.  The 12 x 2 shape
 * is the main kernel; 6 x 2 and 12 x 1 serve the trailing single panel row
 * or column of a block (e.g. C_out = 64 = 10 panels + 4 rows), where the
 * AVX2 kernel would run at half the vector width.  Same per-element
 * operations in all three.
 *
 * With NK_UKR_SHIFT defined, A is not packed: depth step p broadcasts
 * a[aoff[p] + r] for row r (rows are consecutive values), i.e. the kernel
 * takes an extra `const int64_t *aoff` after a.  Conv's stride-1 path
 * (nk_conv_shift.c) uses this to read 12 consecutive pixels of a
 * zero-padded input in place of an im2col panel; B (the weights) stays
 * packed and aligned, and the arithmetic is unchanged.  NK_UKR_SW (default
 * 1) spaces the rows: row r broadcasts a[aoff[p] + r*NK_UKR_SW] (stride-2
 * convolutions).
 *
 * Expects NK_T, NK_V (vector type), NK_VN (lanes), NK_NR (NR), NK_ARGS,
 * NK_SET1, NK_ZERO, NK_LOAD, NK_LOADU, NK_STOREU, NK_FMADD, NK_MUL, NK_ADD,
 * NK_MAX, NK_UKR_NAME, NK_UKR_ROWS, NK_UKR_COLS. */

#ifndef NK_UKR_SW
#define NK_UKR_SW 1
#endif
#ifdef NK_UKR_SHIFT
#define NK_SET_A() aq0 = a + *ao; aq1 = aq0 + 6 * NK_UKR_SW
#define NK_ADV_A() ao++
#else
#define NK_SET_A() ((void)0)
#define NK_ADV_A() (aq0 += 6, aq1 += 6)
#endif

#if NK_UKR_COLS == 2
#define NK_ROW(r, ap)                                       \
    do {                                                    \
        const NK_V av = NK_SET1((ap)[((r) % 6) * NK_UKR_SW]);             \
        c##r##_0 = NK_FMADD(av, b0, c##r##_0);              \
        c##r##_1 = NK_FMADD(av, b1, c##r##_1);              \
    } while (0)
#define NK_LOAD_B()                                         \
    const NK_V b0 = NK_LOAD(bq0);                           \
    const NK_V b1 = NK_LOAD(bq1)
#define NK_DECL(r) NK_V c##r##_0 = NK_ZERO(), c##r##_1 = NK_ZERO()
#define NK_STORE_ROW(r)                                                              \
    do {                                                                             \
        NK_T *cr = c + (r) * rs_c;                                                   \
        NK_STOREU(cr, NK_FN(finish)(c##r##_0, cr, 0, r, args));                      \
        NK_STOREU(cr + NK_VN, NK_FN(finish)(c##r##_1, cr + NK_VN, NK_VN, r, args));  \
    } while (0)
#else
#define NK_ROW(r, ap)                                       \
    do {                                                    \
        const NK_V av = NK_SET1((ap)[((r) % 6) * NK_UKR_SW]);             \
        c##r##_0 = NK_FMADD(av, b0, c##r##_0);              \
    } while (0)
#define NK_LOAD_B() const NK_V b0 = NK_LOAD(bq0)
#define NK_DECL(r) NK_V c##r##_0 = NK_ZERO()
#define NK_STORE_ROW(r)                                                              \
    do {                                                                             \
        NK_T *cr = c + (r) * rs_c;                                                   \
        NK_STOREU(cr, NK_FN(finish)(c##r##_0, cr, 0, r, args));                      \
    } while (0)
#endif

#if NK_UKR_ROWS == 12
#define NK_ROWS_B(X) X(6, aq1); X(7, aq1); X(8, aq1); X(9, aq1); X(10, aq1); X(11, aq1)
#define NK_DECL_B() NK_DECL(6); NK_DECL(7); NK_DECL(8); NK_DECL(9); NK_DECL(10); NK_DECL(11)
#define NK_STORE_B()                                                                 \
    NK_STORE_ROW(6); NK_STORE_ROW(7); NK_STORE_ROW(8);                               \
    NK_STORE_ROW(9); NK_STORE_ROW(10); NK_STORE_ROW(11)
#else
#define NK_ROWS_B(X) ((void)0)
#define NK_DECL_B() ((void)0)
#define NK_STORE_B() ((void)0)
#endif

#define NK_STEP()                                           \
    do {                                                    \
        NK_SET_A();                                         \
        NK_LOAD_B();                                        \
        NK_ROW(0, aq0); NK_ROW(1, aq0); NK_ROW(2, aq0);     \
        NK_ROW(3, aq0); NK_ROW(4, aq0); NK_ROW(5, aq0);     \
        NK_ROWS_B(NK_ROW);                                  \
        NK_ADV_A();                                         \
        bq0 += NK_NR; bq1 += NK_NR;                         \
    } while (0)

#ifndef NK_UKR_FINISH_DEFINED
#define NK_UKR_FINISH_DEFINED
NK_TARGET_AVX512 NK_INLINE NK_V NK_FN(finish)(NK_V t, const NK_T *c, int col, int r,
                                              const NK_ARGS *args) {
    if (args->alpha != (NK_T)1) t = NK_MUL(t, NK_SET1(args->alpha));
    if (args->beta == (NK_T)1) {
        t = NK_ADD(NK_LOADU(c), t);
    } else if (args->beta != (NK_T)0) {
        t = NK_FMADD(NK_LOADU(c), NK_SET1(args->beta), t);
    }
    if (args->bias) {
        if (args->bias_per_row) t = NK_ADD(t, NK_SET1(args->bias[r]));
        else t = NK_ADD(t, NK_LOADU(args->bias + col));
    }
    if (args->relu) t = NK_MAX(NK_ZERO(), t); /* NaN: max returns its 2nd operand */
    return t;
}
#endif

#ifdef NK_UKR_SHIFT
NK_TARGET_AVX512 void NK_UKR_NAME(int64_t kc, const NK_T *NK_RESTRICT a,
                                  const int64_t *NK_RESTRICT aoff, const NK_T *NK_RESTRICT b,
                                  NK_T *NK_RESTRICT c, int64_t rs_c, const NK_ARGS *args) {
    const int64_t *ao = aoff;
    const NK_T *aq0 = a, *aq1 = a;
#else
NK_TARGET_AVX512 void NK_UKR_NAME(int64_t kc, const NK_T *NK_RESTRICT a,
                                  const NK_T *NK_RESTRICT b, NK_T *NK_RESTRICT c, int64_t rs_c,
                                  const NK_ARGS *args) {
    const NK_T *aq0 = a, *aq1 = a + kc * 6;
#endif
    const NK_T *bq0 = b, *bq1 = b + kc * NK_NR;
    (void)aq1; (void)bq1;
    NK_DECL(0); NK_DECL(1); NK_DECL(2); NK_DECL(3); NK_DECL(4); NK_DECL(5);
    NK_DECL_B();
    if (args->beta != (NK_T)0)
        for (int r = 0; r < NK_UKR_ROWS; r++) { /* a row may straddle several lines */
            _mm_prefetch((const char *)(c + r * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + r * rs_c + NK_UKR_COLS * NK_VN - 1), _MM_HINT_T0);
        }
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
#ifndef NK_UKR_SHIFT
        _mm_prefetch((const char *)(aq0 + 96), _MM_HINT_T0);
#if NK_UKR_ROWS == 12
        _mm_prefetch((const char *)(aq1 + 96), _MM_HINT_T0);
#endif
#endif
        NK_STEP();
        NK_STEP();
        NK_STEP();
        NK_STEP();
    }
    for (; p < kc; p++) NK_STEP();
    NK_STORE_ROW(0); NK_STORE_ROW(1); NK_STORE_ROW(2); NK_STORE_ROW(3);
    NK_STORE_ROW(4); NK_STORE_ROW(5);
    NK_STORE_B();
}

#undef NK_ROW
#undef NK_LOAD_B
#undef NK_DECL
#undef NK_STORE_ROW
#undef NK_ROWS_B
#undef NK_DECL_B
#undef NK_STORE_B
#undef NK_STEP
#undef NK_SET_A
#undef NK_ADV_A
#undef NK_UKR_NAME
#undef NK_UKR_ROWS
#undef NK_UKR_COLS
#undef NK_UKR_SW
