/* nk_act.h -- element-wise activations and their backward passes:
 * relu, leaky_relu, sigmoid, tanh; float32 and float64.
 *
 * Forward  : y[i]  = f(x[i])                      (y may alias x: in place)
 * Backward : gi[i] = g[i] * f'(...)               (gi may alias g)
 *   relu_backward(g, y)          gi = y <= 0 ? 0 : g     (y = relu output;
 *                                NaN passes the gradient, as torch)
 *   leaky_relu_backward(g, x, s) gi = x > 0 ? g : g * s  (x = the input)
 *   sigmoid_backward(g, y)       gi = g * (1 - y) * y    (y = sigmoid output)
 *   tanh_backward(g, y)          gi = g * (1 - y * y)    (y = tanh output)
 * relu propagates NaN (relu(NaN) = NaN).
 *
 * Drivers split the array into fixed blocks of NK_ACT_BLOCK elements and
 * spread them over at most `nthreads` OpenMP threads (arrays below
 * NK_ACT_PARALLEL_MIN elements run serially); element-wise work, so results
 * are bitwise identical for any thread count.  They return NK_ERR_ARG for
 * n < 0 or NULL pointers with n > 0.
 */
#ifndef NK_ACT_H
#define NK_ACT_H

#include "nk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NK_ACT_BLOCK 8192
#define NK_ACT_PARALLEL_MIN 65536

typedef enum nk_act_op {
    NK_ACT_RELU = 0,
    NK_ACT_LEAKY_RELU = 1,
    NK_ACT_SIGMOID = 2,
    NK_ACT_TANH = 3
} nk_act_op;

#define NK_ACT_DECLARE(T, SFX)                                                                \
    nk_status nk_relu_forward_##SFX(int64_t n, const T *x, T *y, int nthreads);               \
    nk_status nk_leaky_relu_forward_##SFX(int64_t n, const T *x, T *y, T slope, int nthreads); \
    nk_status nk_sigmoid_forward_##SFX(int64_t n, const T *x, T *y, int nthreads);            \
    nk_status nk_tanh_forward_##SFX(int64_t n, const T *x, T *y, int nthreads);               \
    nk_status nk_relu_backward_##SFX(int64_t n, const T *g, const T *y, T *gi, int nthreads);  \
    nk_status nk_leaky_relu_backward_##SFX(int64_t n, const T *g, const T *x, T *gi, T slope,  \
                                           int nthreads);                                     \
    nk_status nk_sigmoid_backward_##SFX(int64_t n, const T *g, const T *y, T *gi, int nthreads); \
    nk_status nk_tanh_backward_##SFX(int64_t n, const T *g, const T *y, T *gi, int nthreads);  \
    /* naive references (tests' oracle): scalar libm loops, one thread */                     \
    nk_status nk_act_forward_ref_##SFX(nk_act_op op, int64_t n, const T *x, T *y, T slope);   \
    nk_status nk_act_backward_ref_##SFX(nk_act_op op, int64_t n, const T *g, const T *t,      \
                                        T *gi, T slope);                                      \
    /* block kernels (internal): one contiguous block, one thread */                          \
    void nk_act_fwd_generic_##SFX(nk_act_op op, int64_t n, const T *x, T *y, T slope);        \
    void nk_act_bwd_generic_##SFX(nk_act_op op, int64_t n, const T *g, const T *t, T *gi,     \
                                  T slope);                                                   \
    void nk_act_fwd_avx2_##SFX(nk_act_op op, int64_t n, const T *x, T *y, T slope);           \
    void nk_act_bwd_avx2_##SFX(nk_act_op op, int64_t n, const T *g, const T *t, T *gi, T slope);

NK_ACT_DECLARE(float, f32)
NK_ACT_DECLARE(double, f64)
#undef NK_ACT_DECLARE

#ifdef __cplusplus
}
#endif
#endif /* NK_ACT_H */
