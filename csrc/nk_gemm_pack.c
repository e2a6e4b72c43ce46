/* nk_gemm_pack.c -- packing of strided GEMM operands into the panel layout
 * the micro-kernels read (see nk_pack_<dtype>_fn in nk_gemm.h): panels of
 * width w, depth-major inside a panel, the last panel zero-padded so edge
 * tiles never need a special micro-kernel.  Callback operands pack
 * themselves. */
#include "nk_gemm_internal.h"
#include "nk_runtime.h"

#define NK_T float
#define NK_OPERAND nk_gemm_operand_f32
#define NK_FN(x) x##_f32
#define NK_PACK_VL 8
#define NK_PACK_ROWS_AVX2 nk_gemm_pack_rows_f32_avx2
#include "nk_gemm_pack_impl.h"
#undef NK_T
#undef NK_OPERAND
#undef NK_FN
#undef NK_PACK_VL
#undef NK_PACK_ROWS_AVX2

#define NK_T double
#define NK_OPERAND nk_gemm_operand_f64
#define NK_FN(x) x##_f64
#define NK_PACK_VL 4
#define NK_PACK_ROWS_AVX2 nk_gemm_pack_rows_f64_avx2
#include "nk_gemm_pack_impl.h"
#undef NK_T
#undef NK_OPERAND
#undef NK_FN
