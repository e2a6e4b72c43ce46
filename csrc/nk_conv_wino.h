/* nk_conv_wino.h -- Winograd F(4x4, 3x3) transforms of nk_conv_winograd.c
 * (internal; not part of the public API).
 *
 * A tile is 4x4 output pixels (oh0 + dh*i, ow0 + dw*j), i, j < 4, read from
 * the 6x6 input values (oh0 - ph + dh*i', ow0 - pw + dw*j'), i', j' < 6.
 * The kernels work on 16 tiles at a time, one per vector lane, described
 * by a nk_wino_lanes: per lane the input offset of its tile's (0, 0) value,
 * the output offset of its (0, 0) pixel, and bit masks of the lanes whose
 * input rows / columns i', j' and output rows / columns i, j are inside the
 * image (masked values read as zero and are not written).
 *
 * Transformed values are indexed by xi = 6*a + b (a: the row transform, b:
 * the column transform); the input transform writes, for each xi and
 * channel c, the 16 lanes' values at v[xi*vs + c*16] (a packed 16-wide B
 * panel of the GEMM); the output transform reads m[xi*ms] (16 lanes). */
#ifndef NK_CONV_WINO_H
#define NK_CONV_WINO_H

#include <stdint.h>
#include "nk_common.h"

typedef struct nk_wino_lanes {
    int32_t in[16];  /* offset in x of the tile's input (0, 0), may be negative */
    int32_t out[16]; /* offset in y (channel 0) of the tile's output (0, 0) */
    uint16_t irow[6], icol[6]; /* lanes whose input row i' / column j' is inside */
    uint16_t orow[4], ocol[4]; /* lanes whose output row i / column j is inside */
} nk_wino_lanes;

#if NK_X86_DISPATCH
/* Input transform B^T d B of 16 tiles for channels 0..C-1 (channel c at
 * x + c*HW); rs = dh*W, cs = dw: the steps between a tile's input rows and
 * columns.  Writes v[xi*vs + c*vcs + lane] (vcs = 16: the forward's packed
 * B panels; the tile count: the weight gradient's rows of tiles).  Returns 1 when a transformed
 * value is not finite (an inf or NaN input, or an overflow), else 0. */
int nk_wino_in_f32_avx512(const nk_wino_lanes *L, const float *x, int64_t C, int64_t HW,
                          int64_t rs, int64_t cs, float *v, int64_t vs, int64_t vcs);
/* Output transform A^T m A (+ bias) of 16 tiles for one output channel:
 * reads m[xi*ms + lane], writes y[out[lane] + dh*OW*i + dw*j] (ors = dh*OW,
 * ocs = dw) for the lanes inside. */
void nk_wino_out_f32_avx512(const nk_wino_lanes *L, const float *m, int64_t ms, float bias,
                            float *y, int64_t ors, int64_t ocs);
/* Weight transform G g G^T of one packed 6-row panel kp (output channels
 * kp*6 + r, zero for those >= K) for the nc <= 16 input channels c0..:
 * U[xi*us + c*6 + r], g = w[k, c] (w: K x C x 3 x 3; the backward-data's
 * flipped, transposed kernels are copied into that layout first).  Returns
 * 1 when a value of U is not finite. */
int nk_wino_weights_f32_avx512(const float *w, int64_t K, int64_t C, int64_t kp,
                               int64_t c0, int nc, float *U, int64_t us);
/* Weight gradient.  dY transform A dY A^T of 16 tiles for output channels
 * 0..K-1 (channel k at dy + k*OHW; dy read at out[lane] + ors*i + ocs*j,
 * masked like the outputs): writes p[xi*ps + k*pks + lane]; 1 when a value
 * is not finite.  Final transform G^T S G for output channel k and the nc
 * <= 16 input channels c0..: reads s[xi*ss + c] (S[xi][k][c0 + c]), writes
 * dw[c*9 + kh*3 + kw]. */
int nk_wino_dy_f32_avx512(const nk_wino_lanes *L, const float *dy, int64_t K, int64_t OHW,
                          int64_t ors, int64_t ocs, float *p, int64_t ps, int64_t pks);
void nk_wino_dw_f32_avx512(const float *s, int64_t ss, int nc, float *dw);

/* AVX2 twins (nk_conv_ukr_f32_wino_avx2.c): same contracts, same bits. */
int nk_wino_in_f32_avx2(const nk_wino_lanes *L, const float *x, int64_t C, int64_t HW,
                        int64_t rs, int64_t cs, float *v, int64_t vs, int64_t vcs);
void nk_wino_out_f32_avx2(const nk_wino_lanes *L, const float *m, int64_t ms, float bias,
                          float *y, int64_t ors, int64_t ocs);
int nk_wino_weights_f32_avx2(const float *w, int64_t K, int64_t C, int64_t kp,
                             int64_t c0, int nc, float *U, int64_t us);
int nk_wino_dy_f32_avx2(const nk_wino_lanes *L, const float *dy, int64_t K, int64_t OHW,
                        int64_t ors, int64_t ocs, float *p, int64_t ps, int64_t pks);
void nk_wino_dw_f32_avx2(const float *s, int64_t ss, int nc, float *dw);
#endif

#endif /* NK_CONV_WINO_H */
