/* nk_gemm_ukr_generic.c -- portable C micro-kernels (6 x 16 float32,
 * 6 x 8 float64: the same tiles as the AVX2 kernels, so packing is shared).
 * Contract in nk_gemm_internal.h.
 *
 * The tile is computed in two column halves so that a half's accumulators
 * (6 x 8 floats or 6 x 4 doubles = 12 128-bit vectors) fit the 16 vector
 * registers of a baseline x86-64 (SSE2) or ARM (NEON) target.  With GCC or
 * Clang the half is written with generic vector extensions (any target);
 * otherwise with plain loops.  Either way every element is the sequence
 * acc = acc + a * b over p, in order, from 0. */
#include <string.h>

#include "nk_gemm_internal.h"

_Static_assert(NK_GEMM_MR_F32 == 6 && NK_GEMM_NR_F32 == 16 && NK_GEMM_MR_F64 == 6 &&
                   NK_GEMM_NR_F64 == 8,
               "the portable micro-kernels are written for 6x16 (f32) and 6x8 (f64) tiles");

#if (defined(__GNUC__) || defined(__clang__)) && !defined(NK_NO_VECTOR_EXT)
#define NK_GENERIC_VECTORS 1
typedef float nk_v4f __attribute__((vector_size(16)));
typedef double nk_v2d __attribute__((vector_size(16)));
#else
#define NK_GENERIC_VECTORS 0
#endif

/* Epilogue of one row of the tile (contract in nk_gemm_internal.h). */
#define NK_GENERIC_STORE(T, NR)                                                             \
    const T alpha = args->alpha, beta = args->beta;                                         \
    for (int r = 0; r < 6; r++) {                                                           \
        T *cr = c + r * rs_c;                                                               \
        for (int j = 0; j < NR; j++) {                                                      \
            T t = alpha * acc[r][j];                                                        \
            if (beta != 0) t = beta * cr[j] + t;                                            \
            if (args->bias) t += args->bias[args->bias_per_row ? r : j];                    \
            if (args->relu) t = (t > 0 || t != t) ? t : (T)0;                               \
            cr[j] = t;                                                                      \
        }                                                                                   \
    }

#if NK_GENERIC_VECTORS
/* acc[r][h + 0 .. h + 4*V) for V vectors of W lanes per row half */
#define NK_GENERIC_HALF(T, VT, W, V, NR)                                                    \
    for (int h = 0; h < NR; h += NR / 2) {                                                  \
        VT hacc[6][V];                                                                      \
        memset(hacc, 0, sizeof hacc);                                                       \
        for (int64_t p = 0; p < kc; p++) {                                                  \
            VT bv[V];                                                                       \
            memcpy(bv, b + p * NR + h, sizeof bv);                                          \
            for (int r = 0; r < 6; r++) {                                                   \
                const T x = a[p * 6 + r];                                                   \
                VT av;                                                                      \
                for (int l = 0; l < W; l++) av[l] = x;                                      \
                for (int v = 0; v < V; v++) hacc[r][v] = hacc[r][v] + av * bv[v];           \
            }                                                                               \
        }                                                                                   \
        for (int r = 0; r < 6; r++) memcpy(&acc[r][h], hacc[r], sizeof hacc[r]);            \
    }
#else
#define NK_GENERIC_HALF(T, VT, W, V, NR)                                                    \
    for (int h = 0; h < NR; h += NR / 2) {                                                  \
        T hacc[6][NR / 2] = {{0}};                                                          \
        for (int64_t p = 0; p < kc; p++)                                                    \
            for (int r = 0; r < 6; r++) {                                                   \
                const T x = a[p * 6 + r];                                                   \
                for (int j = 0; j < NR / 2; j++) hacc[r][j] = hacc[r][j] + x * b[p * NR + h + j]; \
            }                                                                               \
        for (int r = 0; r < 6; r++) memcpy(&acc[r][h], hacc[r], sizeof hacc[r]);            \
    }
#endif

void nk_gemm_ukr_f32_generic(int64_t kc, const float *NK_RESTRICT a, const float *NK_RESTRICT b,
                             float *NK_RESTRICT c, int64_t rs_c, const nk_ukr_args_f32 *args) {
    float acc[6][16];
    NK_GENERIC_HALF(float, nk_v4f, 4, 2, 16)
    NK_GENERIC_STORE(float, 16)
}

void nk_gemm_ukr_f64_generic(int64_t kc, const double *NK_RESTRICT a,
                             const double *NK_RESTRICT b, double *NK_RESTRICT c, int64_t rs_c,
                             const nk_ukr_args_f64 *args) {
    double acc[6][8];
    NK_GENERIC_HALF(double, nk_v2d, 2, 2, 8)
    NK_GENERIC_STORE(double, 8)
}
