/* nk_conv_ref.c -- naive direct-loop references for the conv drivers (the
 * tests' oracle).  Sums in double.  The body below is compiled twice, for
 * float and double, by including this file into itself. */
#ifndef NK_CONV_REF_T
#include <stdlib.h>
#include <string.h>
#include "nk_conv.h"

#define NK_CONV_REF_T float
#define NK_CONV_REF_S(name) name##_f32
#include "nk_conv_ref.c"
#undef NK_CONV_REF_T
#undef NK_CONV_REF_S

#define NK_CONV_REF_T double
#define NK_CONV_REF_S(name) name##_f64
#include "nk_conv_ref.c"
#undef NK_CONV_REF_T
#undef NK_CONV_REF_S

#else /* template body */
#define T NK_CONV_REF_T

/* Visits every (n, g, o, c, oh, ow, kh, kw) term with a valid input pixel
 * and hands (y index, x index, w index) to BODY. */
#define NK_CONV_REF_LOOP(s, BODY)                                                           \
    do {                                                                                    \
        const int64_t G = s->groups, Cig = s->C_in / G, Cog = s->C_out / G;                 \
        for (int64_t n = 0; n < s->N; n++)                                                  \
            for (int64_t oc = 0; oc < s->C_out; oc++) {                                     \
                const int64_t g = oc / Cog;                                                 \
                for (int64_t oh = 0; oh < s->OH; oh++)                                      \
                    for (int64_t ow = 0; ow < s->OW; ow++) {                                \
                        const int64_t yi = ((n * s->C_out + oc) * s->OH + oh) * s->OW + ow; \
                        for (int64_t c = 0; c < Cig; c++)                                   \
                            for (int64_t kh = 0; kh < s->kH; kh++) {                        \
                                const int64_t ih = oh * s->stride_h - s->pad_h + kh * s->dil_h; \
                                if (ih < 0 || ih >= s->H) continue;                         \
                                for (int64_t kw = 0; kw < s->kW; kw++) {                    \
                                    const int64_t iw =                                      \
                                        ow * s->stride_w - s->pad_w + kw * s->dil_w;        \
                                    if (iw < 0 || iw >= s->W) continue;                     \
                                    const int64_t xi =                                      \
                                        ((n * s->C_in + g * Cig + c) * s->H + ih) * s->W + iw; \
                                    const int64_t wi = ((oc * Cig + c) * s->kH + kh) * s->kW + kw; \
                                    BODY;                                                   \
                                }                                                           \
                            }                                                               \
                    }                                                                       \
            }                                                                               \
    } while (0)

nk_status NK_CONV_REF_S(nk_conv2d_fwd_ref)(const nk_conv2d_shape *s, const T *x, const T *w,
                                           const T *bias, T *y) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    const int64_t ny = s->N * s->C_out * s->OH * s->OW;
    if (ny == 0) return NK_OK;
    if (!x || !w || !y) return NK_ERR_ARG;
    double *acc = calloc((size_t)ny, sizeof(double));
    if (!acc) return NK_ERR_NOMEM;
    NK_CONV_REF_LOOP(s, acc[yi] += (double)w[wi] * (double)x[xi]);
    const int64_t P = s->OH * s->OW;
    for (int64_t i = 0; i < ny; i++)
        y[i] = (T)(acc[i] + (bias ? (double)bias[(i / P) % s->C_out] : 0.0));
    free(acc);
    return NK_OK;
}

nk_status NK_CONV_REF_S(nk_conv2d_bwd_data_ref)(const nk_conv2d_shape *s, const T *dy,
                                                const T *w, T *dx) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    const int64_t nx = s->N * s->C_in * s->H * s->W;
    if (nx == 0) return NK_OK;
    if (!dy || !w || !dx) return NK_ERR_ARG;
    double *acc = calloc((size_t)nx, sizeof(double));
    if (!acc) return NK_ERR_NOMEM;
    NK_CONV_REF_LOOP(s, acc[xi] += (double)w[wi] * (double)dy[yi]);
    for (int64_t i = 0; i < nx; i++) dx[i] = (T)acc[i];
    free(acc);
    return NK_OK;
}

nk_status NK_CONV_REF_S(nk_conv2d_bwd_weight_ref)(const nk_conv2d_shape *s, const T *dy,
                                                  const T *x, T *dw) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    const int64_t nw = s->C_out * (s->C_in / s->groups) * s->kH * s->kW;
    if (nw == 0) return NK_OK;
    if (!dw || (s->N * s->OH * s->OW > 0 && (!dy || !x))) return NK_ERR_ARG;
    double *acc = calloc((size_t)nw, sizeof(double));
    if (!acc) return NK_ERR_NOMEM;
    NK_CONV_REF_LOOP(s, acc[wi] += (double)dy[yi] * (double)x[xi]);
    for (int64_t i = 0; i < nw; i++) dw[i] = (T)acc[i];
    free(acc);
    return NK_OK;
}

nk_status NK_CONV_REF_S(nk_conv2d_bwd_bias_ref)(const nk_conv2d_shape *s, const T *dy, T *db) {
    nk_status st = nk_conv2d_check(s);
    if (st) return st;
    if (s->C_out == 0) return NK_OK;
    if (!db || (s->N * s->OH * s->OW > 0 && !dy)) return NK_ERR_ARG;
    const int64_t P = s->OH * s->OW;
    for (int64_t o = 0; o < s->C_out; o++) {
        double a = 0;
        for (int64_t n = 0; n < s->N; n++)
            for (int64_t p = 0; p < P; p++) a += (double)dy[(n * s->C_out + o) * P + p];
        db[o] = (T)a;
    }
    return NK_OK;
}

#undef T
#undef NK_CONV_REF_LOOP
#endif
