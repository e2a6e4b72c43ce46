/* nk_conv_shape.c -- geometry validation shared by the conv drivers. */
#include "nk_conv.h"
#include "nk_runtime.h"

nk_status nk_conv2d_check_geometry(const nk_conv2d_shape *s, int allow_negative_pad) {
    if (!s) return NK_ERR_ARG;
    if (s->N < 0 || s->C_in < 0 || s->H < 0 || s->W < 0 || s->C_out < 0 || s->OH < 0 ||
        s->OW < 0)
        return NK_ERR_ARG;
    if (s->kH < 1 || s->kW < 1) return NK_ERR_ARG;
    if (s->stride_h < 1 || s->stride_w < 1 || s->dil_h < 1 || s->dil_w < 1) return NK_ERR_ARG;
    if (!allow_negative_pad && (s->pad_h < 0 || s->pad_w < 0)) return NK_ERR_ARG;
    if (s->groups < 1 || s->C_in % s->groups || s->C_out % s->groups) return NK_ERR_ARG;
    int64_t t, dims[4];
    dims[0] = s->N; dims[1] = s->C_in; dims[2] = s->H; dims[3] = s->W;
    nk_status st = nk_size_product(dims, 4, &t);
    if (st) return st;
    dims[1] = s->C_out; dims[2] = s->OH; dims[3] = s->OW;
    if ((st = nk_size_product(dims, 4, &t))) return st;
    dims[0] = s->C_out; dims[1] = s->C_in; dims[2] = s->kH; dims[3] = s->kW;
    if ((st = nk_size_product(dims, 4, &t))) return st;
    /* Index arithmetic: oh*sh + kh*dh +- pad must stay far from overflow. */
    const int64_t lim = INT64_MAX / 4;
    int64_t a, b;
    if (nk_mul_i64(s->OH, s->stride_h, &a) || nk_mul_i64(s->kH, s->dil_h, &b) || a > lim ||
        b > lim || s->pad_h > lim || s->pad_h < -lim)
        return NK_ERR_OVERFLOW;
    if (nk_mul_i64(s->OW, s->stride_w, &a) || nk_mul_i64(s->kW, s->dil_w, &b) || a > lim ||
        b > lim || s->pad_w > lim || s->pad_w < -lim)
        return NK_ERR_OVERFLOW;
    if (s->H > lim || s->W > lim) return NK_ERR_OVERFLOW;
    return NK_OK;
}

nk_status nk_conv2d_check(const nk_conv2d_shape *s) { return nk_conv2d_check_geometry(s, 0); }

int nk_conv_threads(const nk_conv2d_shape *s, int64_t ntasks, int nthreads) {
    int64_t flops;
    const int64_t K = s->C_in / s->groups * s->kH * s->kW;
    if (nk_mul_i64(2 * s->N * s->C_out * s->OH * s->OW, K, &flops)) flops = INT64_MAX;
    int nt = nk_threads_for(nthreads, flops, NK_CONV_MIN_WORK);
    return nt > ntasks ? (int)ntasks : nt;
}
