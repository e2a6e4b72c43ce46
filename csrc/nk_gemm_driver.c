/* nk_gemm_driver.c -- the GEMM drivers of nk_gemm.h: Goto/BLIS blocking,
 * packing, micro-kernel dispatch, OpenMP over blocks of C.
 *
 * Loop structure (per unit of work, a block of C of at most MC x NC):
 *     for pc in K step KC:            depth blocks, always in the same order
 *         pack B[j0:j0+nc, pc:pc+kc]  -> NR-wide panels   (L2/L3 resident)
 *         pack A[i0:i0+mc, pc:pc+kc]  -> MR-wide panels   (L2 resident)
 *         for jr in nc step NR:       B micro-panel (kc x NR) stays in L1
 *             for ir in mc step MR:   A micro-panel streams from L2
 *                 micro-kernel        MR x NR accumulators in registers
 *
 * Blocking, chosen for Zen3 (32 KiB L1d, 512 KiB L2 per core, 16-32 MiB
 * shared L3); the same numbers suit the larger caches of recent Intel cores:
 *   KC = 256: the B micro-panel is KC*NR*4 = 16 KiB (f32: 256 x 16 floats;
 *       f64: 256 x 8 doubles) -- half of L1d, leaving room for the A
 *       micro-panel being streamed (6 KiB f32 / 12 KiB f64) and the C tile.
 *       Deeper K amortises the C-tile load/store better, but would push the
 *       B panel out of L1.  K is cut into balanced blocks of <= KC that depend
 *       on K alone (never on the thread count).
 *   MC = 144 (f32) / 72 (f64): the packed A block is MC*KC*elem = 144 KiB,
 *       about a third of L2, so it survives while B panels and C stream
 *       through L2 (BLIS uses the same order of magnitude on Zen).
 *   NC = 4080: the packed B block is KC*NC*elem = 4 MiB (f32) / 8 MiB (f64),
 *       which fits a core's share of L3 and keeps the number of C passes per
 *       depth block low.
 * AVX-512 level (nk_isa_level() == NK_ISA_AVX512; nk_gemm_ukr_*_avx512.c):
 *   the micro-kernel covers a 2 x 2 block of MR x NR tiles (f32 12 x 32,
 *   f64 12 x 16) read from the same packed panels, so packing, the panel
 *   widths seen by conv's callbacks and the blocking stay as above.  Its two
 *   B micro-panels (2 x 16 KiB) share L1d with the streamed A panels, which
 *   suits the 48 KiB L1d of the AVX-512 Intel cores.  A trailing single
 *   panel row or column uses a 6 x 2-zmm or 12 x 1-zmm AVX-512 kernel (with
 *   C_out = 64, the last 4 rows ran at AVX2 width and took 13% of a 3x3
 *   conv's time), a single 6 x NR corner the AVX2 kernel; all compute each
 *   element identically, so the AVX-512 results equal the AVX2 ones bit
 *   for bit.
 * Only the depth block affects rounding; MC/NC and the work split do not
 * (each C element is always "sum over one depth block in order, then
 * update"), so results are bitwise identical for any thread count.
 *
 * Parallelism: C is cut into one unit per thread (column strips of at most
 * NC, split further along the larger dimension); a unit runs the loops above
 * over its rows, so its packed B block serves all its MC row blocks.  Each
 * thread packs its own A and B blocks into its own 64-byte aligned
 * workspace, allocated once per call: no barriers, no shared buffers.  The
 * price is that a thread packs all of the operand that was not split; that
 * is O(1/N) or O(1/M) of the FLOPs.  Never split over K.
 *
 * Small path (AVX2, strided operands only; nk_gemm_small_avx2.c): when one
 * side of C has at most 16 rows, packing B would cost about as much as the
 * multiply, so B is read in place by an axpy, direct (6 x 16 register tile)
 * or dot-product kernel chosen from the shapes and strides -- never from the
 * thread count, so the bits stay independent of it.  Callback operands
 * always take the packed path. */
#include "nk_gemm_internal.h"
#include "nk_runtime.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many FMAs per thread another thread does not pay. */
#define NK_GEMM_MIN_FMA_PER_THREAD ((int64_t)1 << 20)
/* Same for the (bandwidth-bound, slower per FMA) small path. */
#define NK_GEMM_MIN_FMA_SMALL ((int64_t)1 << 18)

/* M*N*K, saturating. */
static int64_t nk_gemm_fma_count(int64_t M, int64_t N, int64_t K) {
    int64_t mn, mnk;
    if (nk_mul_i64(M, N, &mn) || nk_mul_i64(mn, K, &mnk)) return INT64_MAX;
    return mnk;
}

/* Cache blocks (see above); overridable at build time for tuning runs. */
#ifndef NK_GEMM_MC_F32
#define NK_GEMM_MC_F32 144
#endif
#ifndef NK_GEMM_MC_F64
#define NK_GEMM_MC_F64 72
#endif
/* NK_GEMM_KC_F32 / NK_GEMM_KC_F64: nk_gemm_internal.h (conv's stride-1
 * path cuts the depth the same way) */
#define NK_GEMM_NC 4080

#define NK_T float
#define NK_FN(x) x##_f32
#define NK_OPERAND nk_gemm_operand_f32
#define NK_EPILOGUE nk_gemm_epilogue_f32
#define NK_UKR_ARGS nk_ukr_args_f32
#define NK_UKR_FN nk_ukr_f32_fn
#define NK_MR NK_GEMM_MR_F32
#define NK_NR NK_GEMM_NR_F32
#define NK_MC NK_GEMM_MC_F32
#define NK_KC NK_GEMM_KC_F32
#define NK_NC NK_GEMM_NC
#define NK_UKR_AVX2 nk_gemm_ukr_f32_6x16_avx2
#define NK_UKR_AVX512 nk_gemm_ukr_f32_12x32_avx512
#define NK_UKR_AVX512_ROW nk_gemm_ukr_f32_6x32_avx512
#define NK_UKR_AVX512_COL nk_gemm_ukr_f32_12x16_avx512
#define NK_UKR_GENERIC nk_gemm_ukr_f32_generic
#define NK_SMALL_JOB nk_gemm_small_f32
#define NK_SMALL_AXPY_FN nk_gemm_small_axpy_f32_avx2
#define NK_SMALL_DOT_FN nk_gemm_small_dot_f32_avx2
#define NK_SMALL_DIRECT_FN                                                                   \
    (nk_isa_level() == NK_ISA_AVX512 ? nk_gemm_small_direct_f32_avx512                        \
                                     : nk_gemm_small_direct_f32_avx2)
#include "nk_gemm_driver_impl.h"
#undef NK_T
#undef NK_FN
#undef NK_OPERAND
#undef NK_EPILOGUE
#undef NK_UKR_ARGS
#undef NK_UKR_FN
#undef NK_MR
#undef NK_NR
#undef NK_MC
#undef NK_KC
#undef NK_NC
#undef NK_UKR_AVX2
#undef NK_UKR_AVX512
#undef NK_UKR_AVX512_ROW
#undef NK_UKR_AVX512_COL
#undef NK_UKR_GENERIC
#undef NK_SMALL_JOB
#undef NK_SMALL_AXPY_FN
#undef NK_SMALL_DOT_FN
#undef NK_SMALL_DIRECT_FN

#define NK_T double
#define NK_FN(x) x##_f64
#define NK_OPERAND nk_gemm_operand_f64
#define NK_EPILOGUE nk_gemm_epilogue_f64
#define NK_UKR_ARGS nk_ukr_args_f64
#define NK_UKR_FN nk_ukr_f64_fn
#define NK_MR NK_GEMM_MR_F64
#define NK_NR NK_GEMM_NR_F64
#define NK_MC NK_GEMM_MC_F64
#define NK_KC NK_GEMM_KC_F64
#define NK_NC NK_GEMM_NC
#define NK_UKR_AVX2 nk_gemm_ukr_f64_6x8_avx2
#define NK_UKR_AVX512 nk_gemm_ukr_f64_12x16_avx512
#define NK_UKR_AVX512_ROW nk_gemm_ukr_f64_6x16_avx512
#define NK_UKR_AVX512_COL nk_gemm_ukr_f64_12x8_avx512
#define NK_UKR_GENERIC nk_gemm_ukr_f64_generic
#define NK_SMALL_JOB nk_gemm_small_f64
#define NK_SMALL_AXPY_FN nk_gemm_small_axpy_f64_avx2
#define NK_SMALL_DOT_FN nk_gemm_small_dot_f64_avx2
#define NK_SMALL_DIRECT_FN nk_gemm_small_direct_f64_avx2
#include "nk_gemm_driver_impl.h"
