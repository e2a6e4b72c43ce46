/* nk_act_avx2.c -- AVX2/FMA block kernels for the activations (filled in
 * below; until then they use the portable kernels). */
#include "nk_act.h"

void nk_act_fwd_avx2_f32(nk_act_op op, int64_t n, const float *x, float *y, float slope) {
    nk_act_fwd_generic_f32(op, n, x, y, slope);
}
void nk_act_bwd_avx2_f32(nk_act_op op, int64_t n, const float *g, const float *t, float *gi,
                         float slope) {
    nk_act_bwd_generic_f32(op, n, g, t, gi, slope);
}
void nk_act_fwd_avx2_f64(nk_act_op op, int64_t n, const double *x, double *y, double slope) {
    nk_act_fwd_generic_f64(op, n, x, y, slope);
}
void nk_act_bwd_avx2_f64(nk_act_op op, int64_t n, const double *g, const double *t,
                         double *gi, double slope) {
    nk_act_bwd_generic_f64(op, n, g, t, gi, slope);
}
