/* nk_conv.h -- 2-D convolution (NCHW), forward and backward, float32/float64.
 *
 * Geometry (struct nk_conv2d_shape):
 *   x  : N x C_in  x H  x W          (C-contiguous)
 *   w  : C_out x (C_in/groups) x kH x kW
 *   y  : N x C_out x OH x OW
 *   y[n, g*Cog + o, oh, ow] = bias[g*Cog + o] + sum_{c, kh, kw}
 *        w[g*Cog + o, c, kh, kw] * x[n, g*Cig + c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
 * where Cig = C_in/groups, Cog = C_out/groups, and x is zero outside its
 * bounds.  pad_h/pad_w are the top/left zero padding; OH/OW are given by the
 * caller, so any bottom/right padding (e.g. PyTorch's asymmetric 'same') is
 * implied by them.  The usual choice is
 *   OH = floor((H + ph + ph_bottom - dh*(kH-1) - 1) / sh) + 1,
 * but every OH, OW >= 0 is accepted and well defined (reads are bounds
 * checked), which conv_transpose2d (whose forward is bwd_data) relies on.
 *
 * Algorithm: implicit GEMM on nk_gemm.h (nk_conv_igemm.c), plus direct
 * AVX2 kernels for small float32 layers (nk_conv_direct_avx2.c; at the
 * AVX-512 level a 16 x 12 kernel, nk_conv_direct_avx512.c, and for <= 6
 * output channels Cog x rows x 16-pixel tiles, nk_conv_direct_px_avx512.c).
 * For float32 with >= 12 output channels per group (16 for bwd_weight),
 * the "shifted rows" paths of nk_conv_shift.c replace im2col: the forward for stride 1
 * (AVX2 and AVX-512 levels) and stride 2 (AVX-512), and with it bwd_data's
 * stride-1 gather form, which is a forward; the weight gradient (column
 * stride 1 or 2; AVX2 and AVX-512 levels); and strided bwd_data runs as
 * sh*sw stride-1 forwards over dy, one per output phase of dx
 * (nk_conv_bwd_data_phases in nk_conv_igemm.c).  Their bits: the forward
 * equals the im2col path exactly; the weight gradient and the
 * phase form are fixed sums of their own, the same at both levels (all
 * thread-invariant).
 *   forward      Y[Cog, pixels] = W[Cog, Cig*kH*kW] . im2col(x) per group,
 *                bias fused in the GEMM epilogue (per row).  Tasks are blocks
 *                of the flattened (image, output pixel) space: images with
 *                >= 512 output pixels (and all 1x1/stride-1/pad-0 layers) are
 *                cut into chunks of <= 1024 pixels (written in place); smaller
 *                images are grouped into blocks of
 *                <= 1024 pixels spanning images, computed into a per-thread
 *                Cog x PB tile and copied out, so GEMM sees a wide N and packs
 *                the weights rarely.  im2col exists only as GEMM's packed B
 *                panels, written by a packing callback (nk_conv_pack_avx2.c:
 *                masked row loads for stride 1, masked gathers otherwise;
 *                portable row copies on the generic path).  1x1/stride-1/pad-0
 *                blocks inside one image pass x as a plain strided operand.
 *                Cog <= 16 and Cig*kH*kW <= 256 (512 for Cog <= 6, stride 1),
 *                float32 on AVX2: direct kernel, no packing (LeNet c1/c2).
 *   bwd_data     gather form (stride 1, and Cog <= 2*Cig or the direct kernel
 *                takes it): a forward convolution of dy with the flipped,
 *                transposed weights and padding d*(k-1) - p (may be negative);
 *                writes dx once, no atomics.
 *                column form (strides, Cog > 2*Cig): per (image, group,
 *                channel block), GEMM W^T . dy into a bounded column tile,
 *                then col2im into the channel planes that task owns.
 *                float32 stride-2 stems (3 dx channels per group, k = 3, 5,
 *                7, padding (k-1)/2) at the AVX2 and AVX-512 levels: all
 *                four dx phases of a 2-row x 64-column (AVX2: 16) block in
 *                registers, dy read in place (nk_conv_bwd_data_stem.c).
 *   bwd_weight   dW[Cog, Cig*kH*kW] = dy . im2col(x)^T with depth = (image,
 *                pixel), both operands packed by callbacks.  Tasks: up to 4
 *                fixed batch chunks (while their partial dW sums stay within
 *                2^19 elements; they are added in chunk order), times a few
 *                wide blocks of dW columns when that leaves < 4 tasks; each
 *                task reduces over its images in order.
 *   bwd_bias     db[o] = sum over n, then pixels, in 8 fixed lanes (f32 sums
 *                in double).
 * Every task grid depends only on the shape, never on the thread count, so
 * the results are bitwise identical for any nthreads.
 *
 * Extra memory (allocated once per call; none of it grows with N):
 *   forward     T * (gemm_ws(Cog, PB, Cig*kH*kW) + Cog*PB elements of tile),
 *               PB <= 1024 pixels, Cog*PB <= 2^19 unless PB = 256;
 *               direct: 16*Cig*kH*kW weights + T * Cig*Hp*Wp padded image
 *   bwd_data    gather form: a copy of w (not on the shifted-rows path) +
 *               the forward's bound;
 *               column form: T * (gemm_ws + cb*kH*kW*PBc elements),
 *               cb*kH*kW*PBc <= 2^16 (or 64 pixels per chunk);
 *               stride-2 stems: one zero row of ceil(W/2) + 96 floats
 *   bwd_weight  T * gemm_ws(Cog, CB, depth), CB <= Cig*kH*kW columns of dW
 *               (GEMM blocks the depth itself), plus min(4, N) * |w| <= 2^19
 *               elements of partial sums; direct (few output channels):
 *               min(4, N) * |w| partial sums, and at AVX-512 per thread a
 *               padded image group + 16 * ceil4(Cog) * ceil6(Cig*kH*kW)
 *               floats of lane sums (<= 2.1 MiB)
 *   Winograd F(4x4, 3x3) (nk_conv_winograd.c): forward and bwd_data 36 x
 *               K x C transformed weights (bwd_data: + |w|, the flipped
 *               kernels' copy) + T * 36 * (C + K) x Tc floats
 *               (~512 KiB); bwd_weight 36 x K x C sums + 36 x (C + K) x T
 *               (~1 MiB, or up to the sums' size when there is one slot;
 *               T <= 256 tiles) + T * gemm_ws(K, C, T)
 *   shifted rows (nk_conv_shift.c; per thread each buffer is
 *               capped at 2^24 floats, else the im2col path runs):
 *               forward: packed weights (|w| rounded to 16 channels) +
 *               T * I * (padded input band, Cig*(R + dh*(kH-1))*Wg floats,
 *               or Cig*kH*R*2*Wg when strided, + a (R*Wg) x Cog tile),
 *               R*Wg ~ 1024 output pixels, I = 2 images a task when a
 *               group's packed weights exceed 4 MiB, else 1;
 *               stride-1 bwd_data: the forward's bound (w is packed
 *               flipped straight from w, no copy);
 *               bwd_weight: min(4, N) partial dW^T (|w| rounded to 16 x 6) +
 *               T * (one padded image, Cig*Hp*Wp, + a band of dy
 *               transposed, RB*OW*Cog floats with RB*OW*min(Cog, 64)
 *               ~ 2^16);
 *               bwd_data by phases: the sub-kernel weights (allocated; filled
 *               only for a phase whose forward is not this path) + the phase
 *               buffers of an image chunk, <= 2^22 floats (or one image's
 *               C_in*H*W: the phases partition dx) + the forward's bound
 * where T = threads used and gemm_ws = nk_gemm_workspace_<dtype> (bounded by
 * GEMM's cache blocks).  `python bench/run.py --only conv --memory` measures
 * the peak extra resident memory of one call per case.
 *
 * Drivers return NK_ERR_ARG for invalid geometry (non-positive stride or
 * dilation, negative padding or size, groups not dividing the channels,
 * NULL pointers), NK_ERR_OVERFLOW when sizes overflow, NK_ERR_NOMEM when the
 * workspace cannot be allocated.  Nothing is written on error.
 */
#ifndef NK_CONV_H
#define NK_CONV_H

#include "nk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_conv2d_shape {
    int64_t N, C_in, H, W;
    int64_t C_out, kH, kW;
    int64_t OH, OW;
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w; /* top / left */
    int64_t dil_h, dil_w;
    int64_t groups;
} nk_conv2d_shape;

/* Validates s (see above) and the element counts of x, w, y; NK_OK or an error. */
nk_status nk_conv2d_check(const nk_conv2d_shape *s);
/* Internal (shared by the nk_conv_*.c files): same checks, but negative
 * padding allowed when allow_negative_pad (the gather form of bwd_data). */
nk_status nk_conv2d_check_geometry(const nk_conv2d_shape *s, int allow_negative_pad);

/* Smallest work (flops) worth a thread of its own. */
#define NK_CONV_MIN_WORK ((int64_t)1 << 20)
/* Threads for one pass over s (2*N*C_out*OH*OW*C_in/groups*kH*kW flops):
 * the caller's nthreads, fewer for small work, at most ntasks. */
int nk_conv_threads(const nk_conv2d_shape *s, int64_t ntasks, int nthreads);
/* Inside a parallel region: dw[i] = sum of part[bc * nw + i] over the nbc
 * batch chunks, in chunk order (work-shared over i). */
void nk_conv_sum_chunks_f32(const float *part, int64_t nbc, int64_t nw, float *dw);
void nk_conv_sum_chunks_f64(const double *part, int64_t nbc, int64_t nw, double *dw);

/* Internal: geometry handed to the packing callbacks of nk_conv_igemm.c and
 * nk_conv_pack_avx2.c (ctx of nk_gemm's pack functions). */
typedef struct nk_conv_pack_ctx {
    const void *x; /* tensor read by the callback, at image 0 / the group's channel 0 */
    int64_t xs_n;  /* elements between images */
    int64_t H, W, OH, OW, sh, sw, ph, pw, dh, dw, kH, kW;
    int64_t off;   /* flattened (image, output pixel) index of the operand's first
                      row (forward) or depth element (bwd_weight) */
    int64_t r0;    /* bwd_weight: dW column of the operand's row 0 */
} nk_conv_pack_ctx;

/* Internal: 1 when every index the AVX2 gather callbacks form fits in int32. */
int nk_conv_gather_ok(const nk_conv_pack_ctx *c, int64_t N, int64_t C);
/* Internal packing callbacks (layout of nk_pack_<dtype>_fn).
 *   im2col:   rows = flattened output pixels, depth = (c, kh, kw)   (forward B)
 *   im2col_t: rows = (c, kh, kw) from r0, depth = flattened pixels (bwd_weight B)
 * The _avx2 versions use AVX2 masked gathers (call only on the AVX2 path and
 * when nk_conv_gather_ok); they fall back to the portable ones for widths
 * that are not a multiple of the vector length. */
void nk_conv_pack_im2col_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                             int64_t w, float *dst);
void nk_conv_pack_im2col_f64(const void *ctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                             int64_t w, double *dst);
void nk_conv_pack_im2col_t_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                               int64_t kc, int64_t w, float *dst);
void nk_conv_pack_im2col_t_f64(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                               int64_t kc, int64_t w, double *dst);
void nk_conv_pack_im2col_avx2_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                  int64_t kc, int64_t w, float *dst);
void nk_conv_pack_im2col_avx2_f64(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                  int64_t kc, int64_t w, double *dst);
/*   dy:       rows = output channels, depth = flattened pixels (bwd_weight A;
 *             also x of a 1x1 stride-1 layer, rows = input channels, B) */
void nk_conv_pack_dy_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                         int64_t w, float *dst);
void nk_conv_pack_dy_f64(const void *ctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                         int64_t w, double *dst);
/* The same, panels of 6 or 16 rows through 8x8 transposes (other widths:
 * portable). */
void nk_conv_pack_dy_avx2_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                              int64_t w, float *dst);
/* Stride-1 float32 forward operand from masked row loads (w == 16). */
void nk_conv_pack_im2col_rows_avx2_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                       int64_t kc, int64_t w, float *dst);
/* Stride-1 float32 bwd_weight operand from row copies + 8x8 transposes (w == 16). */
void nk_conv_pack_im2col_t_rows_avx2_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                         int64_t kc, int64_t w, float *dst);
void nk_conv_pack_im2col_t_avx2_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                    int64_t kc, int64_t w, float *dst);
void nk_conv_pack_im2col_t_avx2_f64(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                    int64_t kc, int64_t w, double *dst);

/* Internal: direct float32 forward for small layers (nk_conv_direct_avx2.c).
 * Returns 0 when it does not apply (ISA, shape); else 1 with *status set.
 * Accepts negative padding (used by the gather form of bwd_data). */
/* Depth bound (Cig*kH*kW) of the direct pixel-vector kernels (<= 6 output
 * channels, stride_w 1): 6 floats of weights per tap. */
#define NK_DIRECT_MAX_K_PX 4096
int nk_conv_direct_ok(const nk_conv2d_shape *s);
/* 16 channels x 12 pixels of the direct forward, AVX-512 level only
 * (nk_conv_direct_avx512.c): writes y[l * P + i] for channels l < nch and
 * pixels i < np (np <= 12). */
void nk_conv_direct_f32_16x12_avx512(const float *xr, int64_t Wp, int64_t HWp, int64_t sw,
                                     int64_t dh, int64_t dw, int64_t Cig, int64_t kH,
                                     int64_t kW, const float *wp, const float *bias, float *y,
                                     int64_t P, int64_t nch, int64_t np);
/* Whole rows of short output rows (6 <= OW <= 11, stride_w 1), AVX-512
 * level only: nk_conv_direct_rows_avx512(OW) rows (0: OW not covered) of
 * OW pixels x 16 channels, written to y[l * P + i], i < rows*OW, for
 * l < nch; row r of the tile reads xr + r*rs. */
int64_t nk_conv_direct_rows_avx512(int64_t OW);
/* 1 when a float32 forward of this geometry runs those tiles (for tests). */
int nk_conv_fwd_direct_rows_ok(const nk_conv2d_shape *s);
void nk_conv_direct_f32_rows_avx512(const float *xr, int64_t rs, int64_t Wp, int64_t HWp,
                                    int64_t dh, int64_t dw, int64_t Cig, int64_t kH,
                                    int64_t kW, const float *wp, const float *bias, float *y,
                                    int64_t P, int64_t OW, int64_t nch);
/* nch <= 6 channels x nr rows x np <= 16 pixels of the direct forward for
 * stride_w 1, AVX-512 level only (nk_conv_direct_px_avx512.c): writes
 * y[l * P + r * OW + i]; nr <= nk_conv_direct_px_rows_avx512(nch). */
int64_t nk_conv_direct_px_rows_avx512(int64_t nch);
/* 1 when a float32 forward of this geometry takes those tiles, or the
 * 8-channel ones below (for tests). */
int nk_conv_fwd_direct_px_ok(const nk_conv2d_shape *s);
void nk_conv_direct_f32_px_avx512(const float *xr, int64_t rs, int64_t Wp, int64_t HWp,
                                  int64_t dh, int64_t dw, int64_t Cig, int64_t kH, int64_t kW,
                                  const float *wq, const float *bias, float *y, int64_t P,
                                  int64_t OW, int64_t nch, int64_t nr, int64_t np);
/* Float32 backward-data of stride-2 stems (3 input channels per group, k x k
 * kernel, k = 3, 5, 7, padding (k-1)/2, dilation 1) at the AVX2 and AVX-512
 * levels (nk_conv_bwd_data_stem.c); same contract as nk_conv_fwd_direct_f32. */
int nk_conv_bwd_data_stem_ok(const nk_conv2d_shape *s);
int nk_conv_bwd_data_stem_f32(const nk_conv2d_shape *s, const float *dy, const float *w,
                              float *dx, int nthreads, nk_status *status);
/* Its micro-kernels (nk_conv_ukr_f32_stem_dx_avx512.c, _avx2.c). */
#define NK_STEM_DX_UKR_DECL(name)                                                           \
    void name(int64_t Cog, const float *const *rows, const int64_t *rs, const uint16_t *lm, \
              const float *w, float *dx, int64_t HW, int64_t W, int nya, const uint16_t *sm, \
              int64_t pf)
NK_STEM_DX_UKR_DECL(nk_conv_ukr_f32_stem_dx_k3_avx512);
NK_STEM_DX_UKR_DECL(nk_conv_ukr_f32_stem_dx_k5_avx512);
NK_STEM_DX_UKR_DECL(nk_conv_ukr_f32_stem_dx_k7_avx512);
NK_STEM_DX_UKR_DECL(nk_conv_ukr_f32_stem_dx_k3_avx2);
NK_STEM_DX_UKR_DECL(nk_conv_ukr_f32_stem_dx_k5_avx2);
NK_STEM_DX_UKR_DECL(nk_conv_ukr_f32_stem_dx_k7_avx2);
/* The same for nch <= 8 channels whose weights are [c][kh][kw][ws] (ws = 8,
 * or 16: the first 8 lanes of a 16-channel packing), nr <= 3 rows. */
void nk_conv_direct_f32_px8_avx512(const float *xr, int64_t rs, int64_t Wp, int64_t HWp,
                                   int64_t dh, int64_t dw, int64_t Cig, int64_t kH, int64_t kW,
                                   const float *wq, const float *bias, float *y, int64_t P,
                                   int64_t OW, int64_t nch, int64_t nr, int64_t np, int ws);
/* 8 channels x nr <= 3 rows x 16 pixels at column stride 2, from the padded
 * input split into even and odd columns (planes PO apart, rows Wq apart,
 * channels HWq apart; rs: the step between output rows). */
void nk_conv_direct_f32_px8s2_avx512(const float *xr, int64_t rs, int64_t Wq, int64_t HWq,
                                     int64_t PO, int64_t dh, int64_t dw, int64_t Cig,
                                     int64_t kH, int64_t kW, const float *wq,
                                     const float *bias, float *y, int64_t P, int64_t OW,
                                     int64_t nch, int64_t nr, int64_t np);
int nk_conv_fwd_direct_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                           const float *bias, float *y, int nthreads, nk_status *status);

/* Internal: direct float32 weight gradient for small stride-1 layers
 * (nk_conv_direct_avx2.c); same contract as nk_conv_fwd_direct_f32. */
/* Float32 forward (strides 1 and 2) at the AVX2 and AVX-512 levels, the
 * input read in place from a zero-padded copy (nk_conv_shift.c).  The _f32 driver returns
 * 0 when it does not apply (then nothing is touched), else 1 with *status
 * set. */
/* Depthwise layers (nk_conv_depthwise.c): groups == C_in >= 2, any
 * multiplier, kernel, stride, padding and dilation, float32 and float64,
 * every ISA level.  1 when pass (0 forward, 1 backward-data, 2 weight
 * gradient) of s takes it; the drivers return 0 (nothing done) when it
 * does not apply, else 1 with *status. */
int nk_conv_depthwise_ok(const nk_conv2d_shape *s, int pass);
/* 1 when that pass goes by channel lanes (small planes; else by planes);
 * process-wide switch for the lanes (default on, for tests). */
int nk_conv_depthwise_lanes_ok(const nk_conv2d_shape *s, int pass);
void nk_conv_depthwise_lanes_enable(int on);
int nk_conv_fwd_depthwise_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                              const float *bias, float *y, int nthreads, nk_status *status);
int nk_conv_fwd_depthwise_f64(const nk_conv2d_shape *s, const double *x, const double *w,
                              const double *bias, double *y, int nthreads, nk_status *status);
int nk_conv_bwd_data_depthwise_f32(const nk_conv2d_shape *s, const float *dy, const float *w,
                                   float *dx, int nthreads, nk_status *status);
int nk_conv_bwd_data_depthwise_f64(const nk_conv2d_shape *s, const double *dy,
                                   const double *w, double *dx, int nthreads,
                                   nk_status *status);
int nk_conv_bwd_weight_depthwise_f32(const nk_conv2d_shape *s, const float *dy,
                                     const float *x, float *dw, int nthreads,
                                     nk_status *status);
int nk_conv_bwd_weight_depthwise_f64(const nk_conv2d_shape *s, const double *dy,
                                     const double *x, double *dw, int nthreads,
                                     nk_status *status);
/* Winograd F(4x4, 3x3) (nk_conv_winograd.c): float32, 3x3, stride 1,
 * groups 1, >= 16 channels in and out, AVX2 and AVX-512 levels.  1 when the forward
 * of s takes it; the bwd_data of a stride-1 layer takes it when its
 * transposed forward t (see nk_conv2d_bwd_data) does.  The _f32 drivers
 * return 0 (nothing done) when it does not apply, else 1 with *status. */
int nk_conv_fwd_winograd_ok(const nk_conv2d_shape *s);
int nk_conv_fwd_winograd_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                             const float *bias, float *y, int nthreads, nk_status *status);
int nk_conv_bwd_data_winograd_f32(const nk_conv2d_shape *t, const float *dy, const float *w,
                                  float *dx, int nthreads, nk_status *status);
/* ... and the weight gradient of s (the forward's rule and >= 32 channels
 * in and out). */
int nk_conv_bwd_weight_winograd_ok(const nk_conv2d_shape *s);
int nk_conv_bwd_weight_winograd_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                    float *dw, int nthreads, nk_status *status);
/* Process-wide switch (default on); off, those shapes take the paths below. */
void nk_conv_winograd_enable(int on);
int nk_conv_winograd_enabled(void);
int nk_conv_fwd_shift_ok(const nk_conv2d_shape *s);
/* ... and with row-aligned tiles of 7-14 pixels (AVX-512; for tests). */
int nk_conv_fwd_shift_row_tiles(const nk_conv2d_shape *s);
/* 1 when that forward runs row-aligned tiles of 4-6 pixels (AVX2 level). */
int nk_conv_fwd_shift_row6(const nk_conv2d_shape *s);
/* Images a task of that forward takes (1 or 2; 0: the path does not apply). */
int nk_conv_fwd_shift_images_per_task(const nk_conv2d_shape *s);
/* 1 when that forward writes y with non-temporal stores (AVX-512 level). */
int nk_conv_fwd_shift_stream(const nk_conv2d_shape *s);
int nk_conv_fwd_shift_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                          const float *bias, float *y, int nthreads, nk_status *status);
/* Backward-data as that forward: t is the forward's shape (dy in, dx --
 * or one output phase of a strided layer -- out, see nk_conv2d_bwd_data),
 * w the layer's own weights (kko taps a kernel), packed flipped and
 * transposed on the fly: tap t of t's kernel is w's tap[t] (NULL: the
 * whole kernel flipped, kko - 1 - t); the same contract. */
int nk_conv_bwd_data_shift_f32(const nk_conv2d_shape *t, const float *dy, const float *w,
                               int64_t kko, const int64_t *tap, float *dx, int nthreads,
                               nk_status *status);

/* 1 when float32 bwd_data of this (strided) geometry runs by output
 * phases (nk_conv_bwd_data_phases in nk_conv_igemm.c; AVX2 and AVX-512
 * levels, dilation 1, >= 12 dx channels per group, stride <= kernel). */
int nk_conv_bwd_data_phases_ok(const nk_conv2d_shape *s);

/* Test hook: 0 turns the shifted-rows paths off (every shape then takes the
 * im2col path, for bit comparisons), 1 (the default) back on. */
void nk_conv_shift_enable(int on);
/* The same method for the float32 weight gradient (stride_w 1 or 2; AVX2
 * and AVX-512 levels, the same bits). */
int nk_conv_bwd_weight_shift_ok(const nk_conv2d_shape *s);
int nk_conv_bwd_weight_shift_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                 float *dw, int nthreads, nk_status *status);

int nk_conv_bwd_weight_direct_ok(const nk_conv2d_shape *s);
/* Its AVX-512 micro-kernel (nk_conv_ukr_f32_dw_px_avx512.c): 4 output
 * channels x 6 taps of 16-pixel partial sums, acc[4][6][16] += over the
 * OH x OW outputs of dy[o] (planes) times xt[t] (padded rows Wp apart). */
void nk_conv_ukr_f32_dw_px4x6_avx512(int64_t OH, int64_t OW, const float *const *dy,
                                     const float *const *xt, int64_t Wp, float *acc);
int nk_conv_bwd_weight_direct_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                  float *dw, int nthreads, nk_status *status);

/* y = conv(x, w) + bias; bias may be NULL. */
nk_status nk_conv2d_fwd_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                            const float *bias, float *y, int nthreads);
nk_status nk_conv2d_fwd_f64(const nk_conv2d_shape *s, const double *x, const double *w,
                            const double *bias, double *y, int nthreads);
/* dx = d(sum y*dy)/dx (overwrites dx). */
nk_status nk_conv2d_bwd_data_f32(const nk_conv2d_shape *s, const float *dy, const float *w,
                                 float *dx, int nthreads);
nk_status nk_conv2d_bwd_data_f64(const nk_conv2d_shape *s, const double *dy, const double *w,
                                 double *dx, int nthreads);
/* dw = d(sum y*dy)/dw (overwrites dw). */
nk_status nk_conv2d_bwd_weight_f32(const nk_conv2d_shape *s, const float *dy, const float *x,
                                   float *dw, int nthreads);
nk_status nk_conv2d_bwd_weight_f64(const nk_conv2d_shape *s, const double *dy, const double *x,
                                   double *dw, int nthreads);
/* db[o] = sum_{n, oh, ow} dy[n, o, oh, ow] (overwrites db, length C_out). */
nk_status nk_conv2d_bwd_bias_f32(const nk_conv2d_shape *s, const float *dy, float *db,
                                 int nthreads);
nk_status nk_conv2d_bwd_bias_f64(const nk_conv2d_shape *s, const double *dy, double *db,
                                 int nthreads);

/* Naive references (tests' oracle): direct loops, sums in double. */
nk_status nk_conv2d_fwd_ref_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                                const float *bias, float *y);
nk_status nk_conv2d_fwd_ref_f64(const nk_conv2d_shape *s, const double *x, const double *w,
                                const double *bias, double *y);
nk_status nk_conv2d_bwd_data_ref_f32(const nk_conv2d_shape *s, const float *dy,
                                     const float *w, float *dx);
nk_status nk_conv2d_bwd_data_ref_f64(const nk_conv2d_shape *s, const double *dy,
                                     const double *w, double *dx);
nk_status nk_conv2d_bwd_weight_ref_f32(const nk_conv2d_shape *s, const float *dy,
                                       const float *x, float *dw);
nk_status nk_conv2d_bwd_weight_ref_f64(const nk_conv2d_shape *s, const double *dy,
                                       const double *x, double *dw);
nk_status nk_conv2d_bwd_bias_ref_f32(const nk_conv2d_shape *s, const float *dy, float *db);
nk_status nk_conv2d_bwd_bias_ref_f64(const nk_conv2d_shape *s, const double *dy, double *db);

#ifdef __cplusplus
}
#endif
#endif /* NK_CONV_H */
