/* nk_pool.h -- 2-D max and average pooling (NCHW), forward and backward.
 *
 * Layout: the input is `planes` = N*C contiguous planes of H x W elements,
 * the output `planes` planes of OH x OW.  Output (oh, ow) of a plane pools
 * the window of input rows  oh*sh - ph + i*dh  (0 <= i < kh)  and columns
 * ow*sw - pw + j*dw  (0 <= j < kw);  positions outside the input are padding.
 * The caller computes OH/OW (PyTorch's rule, ceil_mode included); the
 * drivers only require that every window holds at least one input element
 * (true for PyTorch's rule with pad <= effective kernel / 2).
 *
 * Semantics (PyTorch's CPU kernels):
 *   max: padding is -inf; a window element v replaces the running maximum m
 *        when v > m or v is NaN, scanning rows then columns; the index is the
 *        flat offset h*W + w of the maximum inside its plane (int64).
 *   avg: sum of the in-bounds window elements divided by
 *        divisor_override                              if != 0, else
 *        the window clipped to the padded extent      if count_include_pad,
 *        the number of in-bounds elements             otherwise.
 *   adaptive avg: window rows [floor(o*H/OH), ceil((o+1)*H/OH)), same for
 *        columns; mean of the window.
 *
 * Every driver parallelises over planes (each plane is owned by one thread,
 * so backward scatters need no atomics) and is bitwise deterministic for any
 * nthreads.  Drivers return NK_ERR_ARG for inconsistent shapes,
 * NK_ERR_INDEX when a max-pool index is outside [0, H*W) (nothing is ever
 * written out of bounds).  The *_ref_* functions are the naive oracles.
 */
#ifndef NK_POOL_H
#define NK_POOL_H

#include "nk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_pool2d_shape {
    int64_t planes;   /* N * C                                  */
    int64_t H, W;     /* input plane                            */
    int64_t OH, OW;   /* output plane                           */
    int64_t kh, kw;   /* window (kernel) size, >= 1             */
    int64_t sh, sw;   /* stride, >= 1                           */
    int64_t ph, pw;   /* padding (top/left), >= 0               */
    int64_t dh, dw;   /* dilation, >= 1 (1 for average pooling) */
} nk_pool2d_shape;

/* Checks the shape (sizes, window parameters, every window non-empty).
 * Used by every max/avg driver; exported for the bindings and tests. */
nk_status nk_pool2d_check(const nk_pool2d_shape *s);
/* Sizes only (planes/H/W/OH/OW non-negative, products fit in int64): what
 * the max backward and the adaptive passes need; adaptive != 0 also
 * requires H, W > 0 when OH, OW > 0 and (O+1)*H to fit. */
nk_status nk_pool2d_check_sizes(const nk_pool2d_shape *s, int adaptive);

/* ---- max pooling ------------------------------------------------------ */
/* y: planes x OH x OW; ind: same shape or NULL (indices not wanted). */
nk_status nk_pool_max_fwd_f32(const nk_pool2d_shape *s, const float *x, float *y,
                              int64_t *ind, int nthreads);
nk_status nk_pool_max_fwd_f64(const nk_pool2d_shape *s, const double *x, double *y,
                              int64_t *ind, int nthreads);
/* dx[plane][ind] += dy for every output; only planes/H/W/OH/OW of s are used. */
nk_status nk_pool_max_bwd_f32(const nk_pool2d_shape *s, const float *dy, const int64_t *ind,
                              float *dx, int nthreads);
nk_status nk_pool_max_bwd_f64(const nk_pool2d_shape *s, const double *dy, const int64_t *ind,
                              double *dx, int nthreads);

/* ---- average pooling -------------------------------------------------- */
nk_status nk_pool_avg_fwd_f32(const nk_pool2d_shape *s, int count_include_pad,
                              int64_t divisor_override, const float *x, float *y, int nthreads);
nk_status nk_pool_avg_fwd_f64(const nk_pool2d_shape *s, int count_include_pad,
                              int64_t divisor_override, const double *x, double *y,
                              int nthreads);
nk_status nk_pool_avg_bwd_f32(const nk_pool2d_shape *s, int count_include_pad,
                              int64_t divisor_override, const float *dy, float *dx,
                              int nthreads);
nk_status nk_pool_avg_bwd_f64(const nk_pool2d_shape *s, int count_include_pad,
                              int64_t divisor_override, const double *dy, double *dx,
                              int nthreads);

/* ---- adaptive average pooling (only planes/H/W/OH/OW of s are used) ---- */
nk_status nk_pool_adaptive_avg_fwd_f32(const nk_pool2d_shape *s, const float *x, float *y,
                                       int nthreads);
nk_status nk_pool_adaptive_avg_fwd_f64(const nk_pool2d_shape *s, const double *x, double *y,
                                       int nthreads);
nk_status nk_pool_adaptive_avg_bwd_f32(const nk_pool2d_shape *s, const float *dy, float *dx,
                                       int nthreads);
nk_status nk_pool_adaptive_avg_bwd_f64(const nk_pool2d_shape *s, const double *dy, double *dx,
                                       int nthreads);

/* ---- naive references (serial; the tests' oracle) ---------------------- */
nk_status nk_pool_max_fwd_ref_f32(const nk_pool2d_shape *s, const float *x, float *y,
                                  int64_t *ind);
nk_status nk_pool_max_fwd_ref_f64(const nk_pool2d_shape *s, const double *x, double *y,
                                  int64_t *ind);
nk_status nk_pool_max_bwd_ref_f32(const nk_pool2d_shape *s, const float *dy, const int64_t *ind,
                                  float *dx);
nk_status nk_pool_max_bwd_ref_f64(const nk_pool2d_shape *s, const double *dy,
                                  const int64_t *ind, double *dx);
nk_status nk_pool_avg_fwd_ref_f32(const nk_pool2d_shape *s, int count_include_pad,
                                  int64_t divisor_override, const float *x, float *y);
nk_status nk_pool_avg_fwd_ref_f64(const nk_pool2d_shape *s, int count_include_pad,
                                  int64_t divisor_override, const double *x, double *y);
nk_status nk_pool_avg_bwd_ref_f32(const nk_pool2d_shape *s, int count_include_pad,
                                  int64_t divisor_override, const float *dy, float *dx);
nk_status nk_pool_avg_bwd_ref_f64(const nk_pool2d_shape *s, int count_include_pad,
                                  int64_t divisor_override, const double *dy, double *dx);
nk_status nk_pool_adaptive_avg_fwd_ref_f32(const nk_pool2d_shape *s, const float *x, float *y);
nk_status nk_pool_adaptive_avg_fwd_ref_f64(const nk_pool2d_shape *s, const double *x,
                                           double *y);
nk_status nk_pool_adaptive_avg_bwd_ref_f32(const nk_pool2d_shape *s, const float *dy,
                                           float *dx);
nk_status nk_pool_adaptive_avg_bwd_ref_f64(const nk_pool2d_shape *s, const double *dy,
                                           double *dx);


/* ---- internal: AVX2 kernels (nk_pool_avx2.c, nk_pool_bwd_avx2.c) --------
 * Forward planes: one (n, c) plane, for stride sw in {1, 2} and OW >= the
 * vector width; they return 0 (and do nothing) otherwise.  Max indices are
 * formed in 32-bit lanes: callers use them only when W and H*W fit. */
int nk_pool_max_plane_avx2_f32(const nk_pool2d_shape *s, const float *x, float *y,
                               int64_t *ind);
int nk_pool_max_plane_avx2_f64(const nk_pool2d_shape *s, const double *x, double *y,
                               int64_t *ind);
int nk_pool_avg_plane_avx2_f32(const nk_pool2d_shape *s, int cip, int64_t dov, const float *x,
                               float *y);
int nk_pool_avg_plane_avx2_f64(const nk_pool2d_shape *s, int cip, int64_t dov, const double *x,
                               double *y);

/* Backward helpers (AVX2).  avg_grad_row: g[i] = 0 + dy[i] / (rf * cf[i]).
 * avg_hrow: one dx row from the summed gradient row S (zero-padded on both
 * sides by at least kw + 8 elements): d[iw] = sum over j = (iw+pw) mod sw,
 * +sw, ... < kw of S[(iw + pw - j) / sw], j increasing; writes a range
 * [a, b) of columns (returned in *a, *b) and leaves the rest to the caller.
 * stream_copy: copy with non-temporal stores (the backward drivers build a
 * dx plane in a cache-resident buffer and stream it out when dx is large, to
 * save the read-for-ownership traffic of ordinary stores).
 * max_bwd_2x2_plane: rows [0, 2*OH) of a dx plane, OW >= the vector width:
 * dx = 0 + dy at the index and 0 elsewhere in each 2x2 block (columns from
 * 2*OW on are 0); returns 0 as soon as an index is not in its own block
 * (the caller then scatters instead), 1 otherwise. */
void nk_pool_avg_grad_row_avx2_f32(const float *dy, const float *cf, float rf, int64_t n, float *g);
void nk_pool_avg_grad_row_avx2_f64(const double *dy, const double *cf, double rf, int64_t n,
                                   double *g);
void nk_pool_avg_hrow_avx2_f32(const float *S, int64_t W, int64_t kw, int64_t sw, int64_t pw,
                               float *d, int64_t *a, int64_t *b);
void nk_pool_avg_hrow_avx2_f64(const double *S, int64_t W, int64_t kw, int64_t sw, int64_t pw,
                               double *d, int64_t *a, int64_t *b);
void nk_pool_stream_copy_f32(float *dst, const float *src, int64_t n);
void nk_pool_stream_copy_f64(double *dst, const double *src, int64_t n);
void nk_pool_store_fence(void);
int nk_pool_max_bwd_2x2_plane_avx2_f32(const float *dy, const int64_t *ind, int64_t W,
                                       int64_t OH, int64_t OW, float *dx);
int nk_pool_max_bwd_2x2_plane_avx2_f64(const double *dy, const int64_t *ind, int64_t W,
                                       int64_t OH, int64_t OW, double *dx);

#ifdef __cplusplus
}
#endif
#endif /* NK_POOL_H */
