/* nk_gemm_ukr_generic.c -- portable C micro-kernels (6 x 16 float32,
 * 6 x 8 float64: the same tiles as the AVX2 kernels, so packing is shared).
 * The accumulator tile lives in a local array the compiler keeps in vector
 * registers where it can.  Contract in nk_gemm_internal.h. */
#include "nk_gemm_internal.h"

#define NK_DEFINE_UKR_GENERIC(T, SFX, MR, NR)                                                \
    void nk_gemm_ukr_##SFX##_generic(int64_t kc, const T *NK_RESTRICT a,                     \
                                     const T *NK_RESTRICT b, T *NK_RESTRICT c, int64_t rs_c, \
                                     const nk_ukr_args_##SFX *args) {                        \
        T acc[MR][NR] = {{0}};                                                               \
        for (int64_t p = 0; p < kc; p++) {                                                   \
            for (int r = 0; r < MR; r++) {                                                   \
                T ar = a[p * MR + r];                                                        \
                for (int j = 0; j < NR; j++) acc[r][j] += ar * b[p * NR + j];                \
            }                                                                                \
        }                                                                                    \
        const T alpha = args->alpha, beta = args->beta;                                      \
        for (int r = 0; r < MR; r++) {                                                       \
            T *cr = c + r * rs_c;                                                            \
            for (int j = 0; j < NR; j++) {                                                   \
                T t = alpha * acc[r][j];                                                     \
                if (beta != 0) t = beta * cr[j] + t;                                         \
                if (args->bias) t += args->bias[args->bias_per_row ? r : j];                 \
                if (args->relu) t = (t > 0 || t != t) ? t : (T)0;                            \
                cr[j] = t;                                                                   \
            }                                                                                \
        }                                                                                    \
    }

NK_DEFINE_UKR_GENERIC(float, f32, NK_GEMM_MR_F32, NK_GEMM_NR_F32)
NK_DEFINE_UKR_GENERIC(double, f64, NK_GEMM_MR_F64, NK_GEMM_NR_F64)
