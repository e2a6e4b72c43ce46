/* nk_act_generic.c -- portable block kernels for the activations, and the
 * naive references (tests' oracle).  See nk_act.h for the formulas. */
#include <math.h>
#include "nk_act.h"

/* One element, forward.  relu: NaN propagates (x != x keeps x). */
#define NK_ACT_SCALAR(T, SFX, EXP, TANH)                                                      \
    static inline T fwd1_##SFX(nk_act_op op, T x, T slope) {                                  \
        switch (op) {                                                                         \
        case NK_ACT_RELU: return (x > 0 || x != x) ? x : (T)0;                                \
        case NK_ACT_LEAKY_RELU: return x > 0 ? x : x * slope;                                 \
        case NK_ACT_SIGMOID: return (T)1 / ((T)1 + EXP(-x));                                  \
        default: return TANH(x);                                                              \
        }                                                                                     \
    }                                                                                         \
    static inline T bwd1_##SFX(nk_act_op op, T g, T t, T slope) {                             \
        switch (op) {                                                                         \
        case NK_ACT_RELU: return t <= 0 ? (T)0 : g;                                           \
        case NK_ACT_LEAKY_RELU: return t > 0 ? g : g * slope;                                 \
        case NK_ACT_SIGMOID: return g * ((T)1 - t) * t;                                       \
        default: return g * ((T)1 - t * t);                                                   \
        }                                                                                     \
    }                                                                                         \
    void nk_act_fwd_generic_##SFX(nk_act_op op, int64_t n, const T *x, T *y, T slope) {       \
        switch (op) {                                                                         \
        case NK_ACT_RELU:                                                                     \
            for (int64_t i = 0; i < n; i++) y[i] = fwd1_##SFX(NK_ACT_RELU, x[i], 0);          \
            break;                                                                            \
        case NK_ACT_LEAKY_RELU:                                                               \
            for (int64_t i = 0; i < n; i++) y[i] = fwd1_##SFX(NK_ACT_LEAKY_RELU, x[i], slope); \
            break;                                                                            \
        case NK_ACT_SIGMOID:                                                                  \
            for (int64_t i = 0; i < n; i++) y[i] = fwd1_##SFX(NK_ACT_SIGMOID, x[i], 0);       \
            break;                                                                            \
        default:                                                                              \
            for (int64_t i = 0; i < n; i++) y[i] = fwd1_##SFX(NK_ACT_TANH, x[i], 0);          \
        }                                                                                     \
    }                                                                                         \
    void nk_act_bwd_generic_##SFX(nk_act_op op, int64_t n, const T *g, const T *t, T *gi,     \
                                  T slope) {                                                  \
        switch (op) {                                                                         \
        case NK_ACT_RELU:                                                                     \
            for (int64_t i = 0; i < n; i++) gi[i] = bwd1_##SFX(NK_ACT_RELU, g[i], t[i], 0);   \
            break;                                                                            \
        case NK_ACT_LEAKY_RELU:                                                               \
            for (int64_t i = 0; i < n; i++)                                                   \
                gi[i] = bwd1_##SFX(NK_ACT_LEAKY_RELU, g[i], t[i], slope);                     \
            break;                                                                            \
        case NK_ACT_SIGMOID:                                                                  \
            for (int64_t i = 0; i < n; i++) gi[i] = bwd1_##SFX(NK_ACT_SIGMOID, g[i], t[i], 0); \
            break;                                                                            \
        default:                                                                              \
            for (int64_t i = 0; i < n; i++) gi[i] = bwd1_##SFX(NK_ACT_TANH, g[i], t[i], 0);   \
        }                                                                                     \
    }                                                                                         \
    nk_status nk_act_forward_ref_##SFX(nk_act_op op, int64_t n, const T *x, T *y, T slope) {  \
        if (n < 0 || (n > 0 && (!x || !y)) || op < NK_ACT_RELU || op > NK_ACT_TANH)           \
            return NK_ERR_ARG;                                                                \
        for (int64_t i = 0; i < n; i++) y[i] = fwd1_##SFX(op, x[i], slope);                   \
        return NK_OK;                                                                         \
    }                                                                                         \
    nk_status nk_act_backward_ref_##SFX(nk_act_op op, int64_t n, const T *g, const T *t,      \
                                        T *gi, T slope) {                                     \
        if (n < 0 || (n > 0 && (!g || !t || !gi)) || op < NK_ACT_RELU || op > NK_ACT_TANH)    \
            return NK_ERR_ARG;                                                                \
        for (int64_t i = 0; i < n; i++) gi[i] = bwd1_##SFX(op, g[i], t[i], slope);            \
        return NK_OK;                                                                         \
    }

NK_ACT_SCALAR(float, f32, expf, tanhf)
NK_ACT_SCALAR(double, f64, exp, tanh)
