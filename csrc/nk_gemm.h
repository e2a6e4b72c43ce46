/* nk_gemm.h -- general matrix multiply, the engine under linear and conv.
 *
 *   C[M,N] = alpha * A[M,K] . B[K,N] + beta * C      (then bias, then ReLU)
 *
 * Operands are described as "rows x depth": A is M x K, and B is passed as
 * its transpose view, N x K (element (j, p) = B[p][j]).  A strided B of shape
 * K x N with element strides (rs_b, cs_b) is therefore the operand
 * {ptr = B, rs = cs_b, cs = rs_b}.  Transposes and NumPy views need no copy.
 *
 * Instead of a strided matrix, an operand may be a packing callback, which
 * lets convolution build im2col panels on the fly (implicit GEMM) without
 * ever materialising the whole im2col matrix.
 */
#ifndef NK_GEMM_H
#define NK_GEMM_H

#include "nk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register-tile sizes of the micro-kernels (the same for the AVX2 and the
 * portable path, so packed panels have one layout).  A packing callback is
 * normally called with w == NK_GEMM_MR_<dtype> for operand A and
 * w == NK_GEMM_NR_<dtype> for operand B (the roles swap when C has a unit row
 * stride and a non-unit column stride, since C^T = B^T A^T is computed then),
 * with kc <= 256 and mn <= 4080; it must nevertheless honour any w, kc, mn.
 * Each element of a callback operand is packed once per (column strip of at
 * most 4080 of the other operand, per thread), i.e. usually exactly once. */
#define NK_GEMM_MR_F32 6
#define NK_GEMM_NR_F32 16
#define NK_GEMM_MR_F64 6
#define NK_GEMM_NR_F64 8

/* pack(ctx, i0, mn, p0, kc, w, dst): write rows [i0, i0+mn) x depth
 * [p0, p0+kc) of the operand into panels of width w:
 *     dst[(ii / w) * kc * w + p * w + (ii % w)] = op(i0 + ii, p0 + p)
 * for 0 <= ii < ceil(mn / w) * w, with zeros for ii >= mn.
 * Called concurrently from several threads: it must only read ctx. */
typedef void (*nk_pack_f32_fn)(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                               int64_t kc, int64_t w, float *dst);
typedef void (*nk_pack_f64_fn)(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                               int64_t kc, int64_t w, double *dst);

typedef struct nk_gemm_operand_f32 {
    const float *ptr; /* element (i, p) at ptr[i * rs + p * cs], when pack == NULL */
    int64_t rs, cs;
    nk_pack_f32_fn pack; /* optional: overrides ptr/rs/cs */
    const void *ctx;
    /* optional (NULL): this operand's panels from nk_gemm_prepack_a_f32 for
     * the call's M x K; the blocked path then reads them instead of packing
     * A (an operand used many times, e.g. conv weights over images).  Used
     * in the A role only; ptr/rs/cs or pack must still describe the operand
     * (the small path and the transposed problem read it that way). */
    const float *packed;
} nk_gemm_operand_f32;

typedef struct nk_gemm_operand_f64 {
    const double *ptr;
    int64_t rs, cs;
    nk_pack_f64_fn pack;
    const void *ctx;
    const double *packed;
} nk_gemm_operand_f64;

/* Fused epilogue, applied while C is written: C = relu(C + bias). */
typedef struct nk_gemm_epilogue_f32 {
    const float *bias; /* NULL, or length M (bias_per_row) / N */
    int bias_per_row;  /* 1: bias[i] added to row i; 0: bias[j] to column j */
    int relu;          /* 1: max(C, 0) (NaN propagates) */
} nk_gemm_epilogue_f32;

typedef struct nk_gemm_epilogue_f64 {
    const double *bias;
    int bias_per_row;
    int relu;
} nk_gemm_epilogue_f64;

/* Drivers.  M, N, K >= 0.  K == 0 only scales C by beta (the epilogue is
 * still applied, so linear with in_features == 0 yields the bias); beta == 0
 * never reads C (NaN in C does not leak).  ep may be NULL.  nthreads >= 1 is an
 * upper bound; small problems run on one thread.  The result is bitwise
 * identical for any nthreads.  Returns NK_ERR_ARG for negative sizes or NULL
 * pointers that would be dereferenced, NK_ERR_NOMEM if the packing workspace
 * cannot be allocated. */
nk_status nk_gemm_f32(int64_t M, int64_t N, int64_t K, float alpha,
                      const nk_gemm_operand_f32 *A, const nk_gemm_operand_f32 *B,
                      float beta, float *C, int64_t rs_c, int64_t cs_c,
                      const nk_gemm_epilogue_f32 *ep, int nthreads);
nk_status nk_gemm_f64(int64_t M, int64_t N, int64_t K, double alpha,
                      const nk_gemm_operand_f64 *A, const nk_gemm_operand_f64 *B,
                      double beta, double *C, int64_t rs_c, int64_t cs_c,
                      const nk_gemm_epilogue_f64 *ep, int nthreads);

/* Serial variants for callers that parallelise themselves (e.g. conv over
 * images): no OpenMP inside, and the packing workspace comes from the caller
 * (at least nk_gemm_workspace_<dtype>(M, N, K) bytes, 64-byte aligned), so
 * nothing is allocated per call.  Same results as the drivers.
 * nk_gemm_workspace_<dtype> is monotone: a workspace sized for (M, N, K)
 * serves every call with M' <= M, N' <= N, K' <= K.  It returns SIZE_MAX when
 * the size overflows (the allocation then fails). */
size_t nk_gemm_workspace_f32(int64_t M, int64_t N, int64_t K);
size_t nk_gemm_workspace_f64(int64_t M, int64_t N, int64_t K);
nk_status nk_gemm_serial_f32(int64_t M, int64_t N, int64_t K, float alpha,
                             const nk_gemm_operand_f32 *A, const nk_gemm_operand_f32 *B,
                             float beta, float *C, int64_t rs_c, int64_t cs_c,
                             const nk_gemm_epilogue_f32 *ep, void *workspace);
nk_status nk_gemm_serial_f64(int64_t M, int64_t N, int64_t K, double alpha,
                             const nk_gemm_operand_f64 *A, const nk_gemm_operand_f64 *B,
                             double beta, double *C, int64_t rs_c, int64_t cs_c,
                             const nk_gemm_epilogue_f64 *ep, void *workspace);

/* A's panels for every depth block, packed once: nk_gemm_prepack_a_size_<dtype>
 * (M, K) elements (0 on overflow), written by nk_gemm_prepack_a_<dtype> from
 * the operand (its ptr/rs/cs or pack; `packed` is ignored).  The layout
 * follows the drivers' depth blocks: block [p0, p0 + kc) at dst + p0 *
 * ceil(M / MR) * MR, panels of MR rows inside it.  Packing only copies, so
 * the results are the same bits. */
int64_t nk_gemm_prepack_a_size_f32(int64_t M, int64_t K);
int64_t nk_gemm_prepack_a_size_f64(int64_t M, int64_t K);
void nk_gemm_prepack_a_f32(const nk_gemm_operand_f32 *A, int64_t M, int64_t K, float *dst);
void nk_gemm_prepack_a_f64(const nk_gemm_operand_f64 *A, int64_t M, int64_t K, double *dst);

/* Naive reference (tests' oracle): strided operands only, same semantics. */
nk_status nk_gemm_ref_f32(int64_t M, int64_t N, int64_t K, float alpha,
                          const nk_gemm_operand_f32 *A, const nk_gemm_operand_f32 *B,
                          float beta, float *C, int64_t rs_c, int64_t cs_c,
                          const nk_gemm_epilogue_f32 *ep);
nk_status nk_gemm_ref_f64(int64_t M, int64_t N, int64_t K, double alpha,
                          const nk_gemm_operand_f64 *A, const nk_gemm_operand_f64 *B,
                          double beta, double *C, int64_t rs_c, int64_t cs_c,
                          const nk_gemm_epilogue_f64 *ep);

#ifdef __cplusplus
}
#endif
#endif /* NK_GEMM_H */
