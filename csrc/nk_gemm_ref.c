/* nk_gemm_ref.c -- naive reference GEMM, the tests' oracle.  A plain triple
 * loop over strided operands, accumulating in double, sharing no code with
 * the optimized path.  Callback operands are rejected (NK_ERR_ARG). */
#include "nk_gemm.h"

#define NK_DEFINE_REF(T, SFX)                                                                \
    nk_status nk_gemm_ref_##SFX(int64_t M, int64_t N, int64_t K, T alpha,                    \
                                const nk_gemm_operand_##SFX *A,                              \
                                const nk_gemm_operand_##SFX *B, T beta, T *C, int64_t rs_c,  \
                                int64_t cs_c, const nk_gemm_epilogue_##SFX *ep) {            \
        if (M < 0 || N < 0 || K < 0) return NK_ERR_ARG;                                      \
        if (M == 0 || N == 0) return NK_OK;                                                  \
        if (!C) return NK_ERR_ARG;                                                           \
        if (K > 0 && (!A || !B || !A->ptr || !B->ptr || A->pack || B->pack))                 \
            return NK_ERR_ARG;                                                               \
        for (int64_t i = 0; i < M; i++) {                                                    \
            for (int64_t j = 0; j < N; j++) {                                                \
                double s = 0;                                                                \
                for (int64_t p = 0; p < K; p++)                                              \
                    s += (double)A->ptr[i * A->rs + p * A->cs] *                             \
                         (double)B->ptr[j * B->rs + p * B->cs];                              \
                T *c = &C[i * rs_c + j * cs_c];                                              \
                T v = (T)((double)alpha * s);                                                \
                if (beta != 0) v = (T)((double)v + (double)beta * (double)*c);               \
                if (ep && ep->bias) v += ep->bias[ep->bias_per_row ? i : j];                 \
                if (ep && ep->relu) v = (v > 0 || v != v) ? v : (T)0;                        \
                *c = v;                                                                      \
            }                                                                                \
        }                                                                                    \
        return NK_OK;                                                                        \
    }

NK_DEFINE_REF(float, f32)
NK_DEFINE_REF(double, f64)
