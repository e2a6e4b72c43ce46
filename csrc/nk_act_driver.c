/* nk_act_driver.c -- activation drivers: validation, ISA dispatch, OpenMP
 * over fixed blocks (see nk_act.h). */
#include "nk_act.h"
#include "nk_runtime.h"

#define NK_ACT_DRIVERS(T, SFX)                                                                \
    static nk_status act_fwd_##SFX(nk_act_op op, int64_t n, const T *x, T *y, T slope,       \
                                   int nthreads) {                                            \
        if (n < 0 || nthreads < 1) return NK_ERR_ARG;                                         \
        if (n == 0) return NK_OK;                                                             \
        if (!x || !y) return NK_ERR_ARG;                                                      \
        void (*blk)(nk_act_op, int64_t, const T *, T *, T) = nk_act_fwd_generic_##SFX;        \
        if (NK_X86_DISPATCH && nk_isa_active() == NK_ISA_AVX2) blk = nk_act_fwd_avx2_##SFX;   \
        int64_t nb = nk_ceil_div(n, NK_ACT_BLOCK);                                            \
        int nt = n < NK_ACT_PARALLEL_MIN ? 1 : nk_threads_for(nthreads, nb, 4);               \
        if (nt <= 1) {                                                                        \
            blk(op, n, x, y, slope);                                                          \
            return NK_OK;                                                                     \
        }                                                                                     \
        _Pragma("omp parallel for num_threads(nt) schedule(static)")                          \
        for (int64_t b = 0; b < nb; b++) {                                                    \
            int64_t i0 = b * NK_ACT_BLOCK, len = nk_min_i64(NK_ACT_BLOCK, n - i0);            \
            blk(op, len, x + i0, y + i0, slope);                                              \
        }                                                                                     \
        return NK_OK;                                                                         \
    }                                                                                         \
    static nk_status act_bwd_##SFX(nk_act_op op, int64_t n, const T *g, const T *t, T *gi,   \
                                   T slope, int nthreads) {                                   \
        if (n < 0 || nthreads < 1) return NK_ERR_ARG;                                         \
        if (n == 0) return NK_OK;                                                             \
        if (!g || !t || !gi) return NK_ERR_ARG;                                               \
        void (*blk)(nk_act_op, int64_t, const T *, const T *, T *, T) =                       \
            nk_act_bwd_generic_##SFX;                                                         \
        if (NK_X86_DISPATCH && nk_isa_active() == NK_ISA_AVX2) blk = nk_act_bwd_avx2_##SFX;   \
        int64_t nb = nk_ceil_div(n, NK_ACT_BLOCK);                                            \
        int nt = n < NK_ACT_PARALLEL_MIN ? 1 : nk_threads_for(nthreads, nb, 4);               \
        if (nt <= 1) {                                                                        \
            blk(op, n, g, t, gi, slope);                                                      \
            return NK_OK;                                                                     \
        }                                                                                     \
        _Pragma("omp parallel for num_threads(nt) schedule(static)")                          \
        for (int64_t b = 0; b < nb; b++) {                                                    \
            int64_t i0 = b * NK_ACT_BLOCK, len = nk_min_i64(NK_ACT_BLOCK, n - i0);            \
            blk(op, len, g + i0, t + i0, gi + i0, slope);                                     \
        }                                                                                     \
        return NK_OK;                                                                         \
    }                                                                                         \
    nk_status nk_relu_forward_##SFX(int64_t n, const T *x, T *y, int nthreads) {              \
        return act_fwd_##SFX(NK_ACT_RELU, n, x, y, 0, nthreads);                              \
    }                                                                                         \
    nk_status nk_leaky_relu_forward_##SFX(int64_t n, const T *x, T *y, T slope, int nthreads) { \
        return act_fwd_##SFX(NK_ACT_LEAKY_RELU, n, x, y, slope, nthreads);                    \
    }                                                                                         \
    nk_status nk_sigmoid_forward_##SFX(int64_t n, const T *x, T *y, int nthreads) {           \
        return act_fwd_##SFX(NK_ACT_SIGMOID, n, x, y, 0, nthreads);                           \
    }                                                                                         \
    nk_status nk_tanh_forward_##SFX(int64_t n, const T *x, T *y, int nthreads) {              \
        return act_fwd_##SFX(NK_ACT_TANH, n, x, y, 0, nthreads);                              \
    }                                                                                         \
    nk_status nk_relu_backward_##SFX(int64_t n, const T *g, const T *y, T *gi, int nthreads) { \
        return act_bwd_##SFX(NK_ACT_RELU, n, g, y, gi, 0, nthreads);                          \
    }                                                                                         \
    nk_status nk_leaky_relu_backward_##SFX(int64_t n, const T *g, const T *x, T *gi, T slope,  \
                                           int nthreads) {                                    \
        return act_bwd_##SFX(NK_ACT_LEAKY_RELU, n, g, x, gi, slope, nthreads);                \
    }                                                                                         \
    nk_status nk_sigmoid_backward_##SFX(int64_t n, const T *g, const T *y, T *gi,             \
                                        int nthreads) {                                       \
        return act_bwd_##SFX(NK_ACT_SIGMOID, n, g, y, gi, 0, nthreads);                       \
    }                                                                                         \
    nk_status nk_tanh_backward_##SFX(int64_t n, const T *g, const T *y, T *gi, int nthreads) { \
        return act_bwd_##SFX(NK_ACT_TANH, n, g, y, gi, 0, nthreads);                          \
    }

NK_ACT_DRIVERS(float, f32)
NK_ACT_DRIVERS(double, f64)
