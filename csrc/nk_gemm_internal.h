/* nk_gemm_internal.h -- declarations shared by the nk_gemm_*.c files only
 * (micro-kernels, packing, cache blocking); not part of the public API.
 *
 * Micro-kernel contract (both dtypes, both ISAs):
 *     ukr(kc, a, b, c, rs_c, args)
 * a: packed MR x kc panel (a[p * MR + r]); b: packed NR x kc panel
 * (b[p * NR + j]); c: a full MR x NR tile, element (r, j) at c[r * rs_c + j].
 * Every element is computed the same way whatever its position:
 *     acc = sum_p a[r,p] * b[j,p]        (p ascending, from 0)
 *     t   = alpha * acc  (+ beta * c  when beta != 0; c is not read otherwise)
 *     t  += bias[r or j]                 (when args->bias != NULL)
 *     t   = relu(t)                      (when args->relu; NaN propagates)
 * so results do not depend on how C is cut into tiles or threads.  The
 * driver handles edge tiles and non-unit column strides by running the
 * micro-kernel on a local tile and copying the valid part. */
#ifndef NK_GEMM_INTERNAL_H
#define NK_GEMM_INTERNAL_H

#include "nk_gemm.h"

/* Depth block bound (see nk_gemm_driver.c): K is cut into
 * ceil(K / KC) balanced blocks.  Anything that wants the GEMM's bits (conv's
 * stride-1 path, nk_conv_shift.c) must cut the depth the same way. */
#ifndef NK_GEMM_KC_F32
#define NK_GEMM_KC_F32 256
#endif
#ifndef NK_GEMM_KC_F64
#define NK_GEMM_KC_F64 256
#endif

typedef struct nk_ukr_args_f32 {
    float alpha, beta;
    const float *bias; /* MR (per row) or NR (per column) values, or NULL */
    int bias_per_row;
    int relu;
} nk_ukr_args_f32;

typedef struct nk_ukr_args_f64 {
    double alpha, beta;
    const double *bias;
    int bias_per_row;
    int relu;
} nk_ukr_args_f64;

/* The GEMM micro-kernel signature, T = float / double, S = f32 / f64. */
#define NK_GEMM_UKR_DECL(T, S, name)                                                   \
    void name(int64_t kc, const T *NK_RESTRICT a, const T *NK_RESTRICT b,              \
              T *NK_RESTRICT c, int64_t rs_c, const nk_ukr_args_##S *args)
typedef NK_GEMM_UKR_DECL(float, f32, (*nk_ukr_f32_fn));
typedef NK_GEMM_UKR_DECL(double, f64, (*nk_ukr_f64_fn));

/* Portable micro-kernels (nk_gemm_ukr_generic.c). */
NK_GEMM_UKR_DECL(float, f32, nk_gemm_ukr_f32_generic);
NK_GEMM_UKR_DECL(double, f64, nk_gemm_ukr_f64_generic);
#if NK_X86_DISPATCH
/* AVX2+FMA micro-kernels; call only when nk_isa_active() == NK_ISA_AVX2. */
NK_GEMM_UKR_DECL(float, f32, nk_gemm_ukr_f32_6x16_avx2);
NK_GEMM_UKR_DECL(double, f64, nk_gemm_ukr_f64_6x8_avx2);

#define NK_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
/* AVX-512F micro-kernels on a 2 x 2 block of standard tiles (2*MR x 2*NR:
 * f32 12 x 32, f64 12 x 16): a is two consecutive packed A panels (the
 * second at a + kc * MR), b two consecutive packed B panels (the second at
 * b + kc * NR, 64-byte aligned), c a full 2*MR x 2*NR tile, bias (when set)
 * 2*MR or 2*NR values.  Bitwise identical, element by element, to the AVX2
 * kernels above.  Call only when nk_isa_level() == NK_ISA_AVX512. */
NK_GEMM_UKR_DECL(float, f32, nk_gemm_ukr_f32_12x32_avx512);
NK_GEMM_UKR_DECL(double, f64, nk_gemm_ukr_f64_12x16_avx512);
/* The same for a trailing single panel row (one A panel x two B panels:
 * f32 6 x 32, f64 6 x 16) or column (two A panels x one B panel: f32
 * 12 x 16, f64 12 x 8); same per-element operations and bits. */
NK_GEMM_UKR_DECL(float, f32, nk_gemm_ukr_f32_6x32_avx512);
NK_GEMM_UKR_DECL(float, f32, nk_gemm_ukr_f32_12x16_avx512);
NK_GEMM_UKR_DECL(double, f64, nk_gemm_ukr_f64_6x16_avx512);
NK_GEMM_UKR_DECL(double, f64, nk_gemm_ukr_f64_12x8_avx512);
/* Conv's shifted-rows kernels (nk_conv_ukr_f32_shift_avx512.c): AVX-512
 * tiles (12 x 32 and 12 x 16; 14 x 32 for row-aligned tiles) whose A side
 * is read in place, depth step p broadcasting a[aoff[p] + r] for rows r
 * (_s2: a[aoff[p] + 2r], stride-2 convolutions); b: packed panels. */
#define NK_CONV_SHIFT_UKR_DECL(name)                                                   \
    void name(int64_t kc, const float *NK_RESTRICT a, const int64_t *NK_RESTRICT aoff, \
              const float *NK_RESTRICT b, float *NK_RESTRICT c, int64_t rs_c,          \
              const nk_ukr_args_f32 *args)
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_12x32_shift_avx512);
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_12x16_shift_avx512);
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_12x32_shift_s2_avx512);
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_12x16_shift_s2_avx512);
/* Row-aligned tiles: rows (7..14) pixels x 32 channels, pixel stride sw
 * (1 or 2); same contract otherwise. */
void nk_conv_ukr_f32_rx32_shift_avx512(int rows, int sw, int64_t kc, const float *a,
                                       const int64_t *aoff, const float *b, float *c,
                                       int64_t rs_c, const nk_ukr_args_f32 *args);
/* Two rows of 7 pixels x 32 channels: pixels 0-6 as above, pixels 7-13 read
 * from a + da and stored at c + dc (the next row of the grid). */
void nk_conv_ukr_f32_7x2x32_shift_avx512(int sw, int64_t kc, const float *a,
                                         const int64_t *aoff, const float *b, float *c,
                                         int64_t rs_c, int64_t da, int64_t dc,
                                         const nk_ukr_args_f32 *args);
/* One row of 7 pixels x 64 channels (four packed 16-channel panels kc*16
 * apart); bias, when set, covers the 64. */
void nk_conv_ukr_f32_7x64_shift_avx512(int sw, int64_t kc, const float *a,
                                       const int64_t *aoff, const float *b, float *c,
                                       int64_t rs_c, const nk_ukr_args_f32 *args);
/* Conv's weight-gradient kernels (nk_conv_ukr_f32_dw_avx512.c): 6 taps x
 * NV*16 channels (NV = 1..4), summed over a band of an image's pixels;
 * columns one (_dw) or two (_dw_s2) values apart (nk_conv_ukr_dw_impl.h). */
#define NK_CONV_DW_UKR_DECL(name)                                                    \
    void name(int64_t rows, int64_t ncol, int64_t rs, const float *const *arow,      \
              const float *b, int64_t ldb, float *c, int64_t ldc, int first)
typedef NK_CONV_DW_UKR_DECL((*nk_conv_dw_ukr_fn));
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x1v_dw_avx512);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x2v_dw_avx512);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x3v_dw_avx512);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x4v_dw_avx512);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x1v_dw_s2_avx512);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x2v_dw_s2_avx512);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x3v_dw_s2_avx512);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x4v_dw_s2_avx512);
#endif

#if NK_X86_DISPATCH
/* The weight-gradient kernels at the AVX2 level (nk_conv_ukr_f32_dw_avx2.c):
 * 6 taps x 16 channels, the same contract and the same bits. */
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x16_dw_avx2);
NK_CONV_DW_UKR_DECL(nk_conv_ukr_f32_6x16_dw_s2_avx2);
/* The shifted-rows kernels at the AVX2 level (nk_conv_ukr_f32_shift_avx2.c):
 * 6 pixels x 16 channels, rows 1 or 2 values apart. */
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_6x16_shift_avx2);
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_6x16_shift_s2_avx2);
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_5x16_shift_avx2);
NK_CONV_SHIFT_UKR_DECL(nk_conv_ukr_f32_4x16_shift_avx2);
#endif

/* Small-problem path (no packing of B), used when one side of C is at most
 * NK_GEMM_SMALL rows after an optional C^T = B^T A^T swap.  Operands are
 * strided; C is written through its strides by a scalar epilogue.
 *   axpy and direct forms: B row-contiguous, B(j, p) = b[j + p * ldb];
 *              A any strides.
 *   dot form:  B depth-contiguous, B(j, p) = b[j * ldb + p]; A(r, p) =
 *              a[r * rs_a + p] (depth-contiguous too).
 * Each kernel computes columns [n0, n1) of C for all M rows; every element is
 * computed the same way whatever n0/n1, so any column split gives the same
 * bits. */
#ifndef NK_GEMM_SMALL
#define NK_GEMM_SMALL 16
#endif
/* Measured crossovers (one core), for a row-contiguous B: the axpy form
 * (streams B row by row) beats packing up to 8 rows, and is always used up
 * to 2 rows (matrix-vector); the direct form (6 x 16 register tile on
 * unpacked operands) is used when C has at most NK_GEMM_SMALL columns, so
 * that its 16-column strips of B are whole rows.  For a depth-contiguous B
 * the dot form wins up to NK_GEMM_SMALL rows. */
#define NK_GEMM_SMALL_AXPY 8
#define NK_GEMM_SMALL_AXPY_ALWAYS 2
/* Forms of the small path (NK_SMALL_DOT_PACKA: dot form after copying A). */
enum {
    NK_SMALL_NONE = 0,
    NK_SMALL_AXPY = 1,
    NK_SMALL_DOT = 2,
    NK_SMALL_DOT_PACKA = 3,
    NK_SMALL_DIRECT = 4
};

typedef struct nk_gemm_small_f32 {
    int64_t M, N, K;
    float alpha, beta;
    const float *a;
    int64_t rs_a, cs_a;
    const float *b;
    int64_t ldb;
    float *c;
    int64_t rs_c, cs_c;
    const float *bias;
    int bias_per_row, relu;
} nk_gemm_small_f32;

typedef struct nk_gemm_small_f64 {
    int64_t M, N, K;
    double alpha, beta;
    const double *a;
    int64_t rs_a, cs_a;
    const double *b;
    int64_t ldb;
    double *c;
    int64_t rs_c, cs_c;
    const double *bias;
    int bias_per_row, relu;
} nk_gemm_small_f64;

#if NK_X86_DISPATCH
void nk_gemm_small_axpy_f32_avx2(const nk_gemm_small_f32 *s, int64_t n0, int64_t n1);
void nk_gemm_small_dot_f32_avx2(const nk_gemm_small_f32 *s, int64_t n0, int64_t n1);
void nk_gemm_small_direct_f32_avx2(const nk_gemm_small_f32 *s, int64_t n0, int64_t n1);
void nk_gemm_small_direct_f32_avx512(const nk_gemm_small_f32 *s, int64_t n0, int64_t n1);
void nk_gemm_small_direct_f64_avx2(const nk_gemm_small_f64 *s, int64_t n0, int64_t n1);
void nk_gemm_small_axpy_f64_avx2(const nk_gemm_small_f64 *s, int64_t n0, int64_t n1);
void nk_gemm_small_dot_f64_avx2(const nk_gemm_small_f64 *s, int64_t n0, int64_t n1);
#endif

#if NK_X86_DISPATCH
/* AVX2 packing of one full panel of w depth-contiguous rows (s + r * rs):
 * d[p * w + r] = s[r * rs + p]; w a multiple of 8 (f32) / 4 (f64). */
void nk_gemm_pack_rows_f32_avx2(const float *s, int64_t rs, int64_t kc, int64_t w, float *d);
void nk_gemm_pack_rows_f64_avx2(const double *s, int64_t rs, int64_t kc, int64_t w, double *d);
#endif

/* Pack rows [i0, i0+mn) x depth [p0, p0+kc) of a strided or callback
 * operand into panels of width w (layout of nk_pack_<dtype>_fn), zero-padded
 * to a multiple of w rows (nk_gemm_pack.c). */
void nk_gemm_pack_f32(const nk_gemm_operand_f32 *op, int64_t i0, int64_t mn, int64_t p0,
                      int64_t kc, int64_t w, float *NK_RESTRICT dst);
void nk_gemm_pack_f64(const nk_gemm_operand_f64 *op, int64_t i0, int64_t mn, int64_t p0,
                      int64_t kc, int64_t w, double *NK_RESTRICT dst);

#endif /* NK_GEMM_INTERNAL_H */
