/* nk_gemm_placeholder.c -- TEMPORARY correct-but-slow implementation of the
 * nk_gemm.h drivers, so that code built on GEMM (conv) can be written and
 * tested before the optimized GEMM lands.  The GEMM issue replaces this file.
 * Packs one row of A and one row of B (width-1 panels) and takes dot
 * products, accumulating in the operand's precision. */
#include <stdlib.h>
#include "nk_gemm.h"
#include "nk_runtime.h"

#define NK_DEFINE_PLACEHOLDER(T, SFX)                                                         \
    static void row_##SFX(const nk_gemm_operand_##SFX *op, int64_t i, int64_t K, T *dst) {   \
        if (op->pack) {                                                                      \
            op->pack(op->ctx, i, 1, 0, K, 1, dst);                                           \
        } else {                                                                             \
            for (int64_t p = 0; p < K; p++) dst[p] = op->ptr[i * op->rs + p * op->cs];        \
        }                                                                                    \
    }                                                                                        \
    size_t nk_gemm_workspace_##SFX(int64_t M, int64_t N, int64_t K) {                        \
        (void)M; (void)N;                                                                    \
        return (size_t)(2 * (K > 0 ? K : 1)) * sizeof(T) + 64;                               \
    }                                                                                        \
    nk_status nk_gemm_serial_##SFX(int64_t M, int64_t N, int64_t K, T alpha,                 \
                                   const nk_gemm_operand_##SFX *A,                           \
                                   const nk_gemm_operand_##SFX *B, T beta, T *C,             \
                                   int64_t rs_c, int64_t cs_c,                               \
                                   const nk_gemm_epilogue_##SFX *ep, void *ws) {             \
        if (M < 0 || N < 0 || K < 0) return NK_ERR_ARG;                                      \
        if (M == 0 || N == 0) return NK_OK;                                                  \
        T *a = (T *)ws, *b = a + K;                                                          \
        for (int64_t i = 0; i < M; i++) {                                                    \
            if (K) row_##SFX(A, i, K, a);                                                    \
            for (int64_t j = 0; j < N; j++) {                                                \
                if (K) row_##SFX(B, j, K, b);                                                \
                T s = 0;                                                                     \
                for (int64_t p = 0; p < K; p++) s += a[p] * b[p];                            \
                T *c = &C[i * rs_c + j * cs_c];                                              \
                T v = alpha * s + (beta == 0 ? (T)0 : beta * *c);                            \
                if (ep && ep->bias) v += ep->bias[ep->bias_per_row ? i : j];                 \
                if (ep && ep->relu) v = (v > 0 || v != v) ? v : (T)0;                       \
                *c = v;                                                                      \
            }                                                                                \
        }                                                                                    \
        return NK_OK;                                                                        \
    }                                                                                        \
    nk_status nk_gemm_##SFX(int64_t M, int64_t N, int64_t K, T alpha,                        \
                            const nk_gemm_operand_##SFX *A, const nk_gemm_operand_##SFX *B,  \
                            T beta, T *C, int64_t rs_c, int64_t cs_c,                        \
                            const nk_gemm_epilogue_##SFX *ep, int nthreads) {                \
        (void)nthreads;                                                                      \
        if (M < 0 || N < 0 || K < 0) return NK_ERR_ARG;                                      \
        void *ws = nk_aligned_alloc(nk_gemm_workspace_##SFX(M, N, K));                       \
        if (!ws) return NK_ERR_NOMEM;                                                        \
        nk_status st = nk_gemm_serial_##SFX(M, N, K, alpha, A, B, beta, C, rs_c, cs_c, ep,   \
                                            ws);                                             \
        nk_aligned_free(ws);                                                                 \
        return st;                                                                           \
    }                                                                                        \
    nk_status nk_gemm_ref_##SFX(int64_t M, int64_t N, int64_t K, T alpha,                    \
                                const nk_gemm_operand_##SFX *A,                              \
                                const nk_gemm_operand_##SFX *B, T beta, T *C, int64_t rs_c,  \
                                int64_t cs_c, const nk_gemm_epilogue_##SFX *ep) {            \
        return nk_gemm_##SFX(M, N, K, alpha, A, B, beta, C, rs_c, cs_c, ep, 1);              \
    }

NK_DEFINE_PLACEHOLDER(float, f32)
NK_DEFINE_PLACEHOLDER(double, f64)
