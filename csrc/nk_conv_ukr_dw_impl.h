/* nk_conv_ukr_dw_impl.h -- template of conv's weight-gradient micro-kernel
 * (nk_conv_shift.c): a tile of 6 taps x NK_DW_NV vectors of output channels
 * of dW^T, summed over a band of output pixel rows of one image.
 *
 *   c[t][o] (+)= sum over rows r < rows, columns i < ncol of
 *                a_t[r*rs + i*NK_DW_SW] * b[(r*ncol + i)*ldb + o]
 *
 * a_t = arow[t]: the input value under tap t for the band's first output
 * pixel, in a zero-padded copy of the image (rs = stride_h * its row
 * length, NK_DW_SW = stride_w = 1 or 2; so tap t of pixel (r, i) is
 * a_t[r*rs + i*NK_DW_SW]: six broadcasts per pixel, read in place, no
 * im2col); b: dy transposed to pixel-major rows of ldb channels (aligned to
 * the vector).  Per pixel: NK_DW_NV aligned loads, 6 broadcasts,
 * 6*NK_DW_NV FMAs on as many accumulators.  first != 0 starts from zero,
 * else from c.  Every c element is one FMA chain over the pixels in order,
 * whatever the vector width -- so the AVX2 and AVX-512 kernels give the
 * same bits.
 *
 * Included once per kernel, after the vector parameters (nk_ukr_avx2_f32.h
 * or nk_ukr_avx512_f32.h), with NK_DW_TARGET, NK_DW_NAME, NK_DW_NV and
 * NK_DW_SW defined; undefines the last three. */

#define NK_DW_ROW(t)                                                         \
    do {                                                                     \
        const NK_V s = NK_SET1(a##t[i * NK_DW_SW]);                          \
        _Pragma("GCC unroll 4") for (int v = 0; v < NK_DW_NV; v++)           \
            acc[t][v] = NK_FMADD(s, bv[v], acc[t][v]);                       \
    } while (0)

NK_DW_TARGET void NK_DW_NAME(int64_t rows, int64_t ncol, int64_t rs, const float *const *arow,
                             const float *b, int64_t ldb, float *c, int64_t ldc, int first) {
    NK_V acc[6][NK_DW_NV];
    _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)
        _Pragma("GCC unroll 4") for (int v = 0; v < NK_DW_NV; v++)
            acc[t][v] = first ? NK_ZERO() : NK_LOADU(c + t * ldc + NK_VN * v);
    const float *a0 = arow[0], *a1 = arow[1], *a2 = arow[2];
    const float *a3 = arow[3], *a4 = arow[4], *a5 = arow[5];
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < ncol; i++) {
            NK_V bv[NK_DW_NV];
            _Pragma("GCC unroll 4") for (int v = 0; v < NK_DW_NV; v++)
                bv[v] = NK_LOAD(b + NK_VN * v);
            b += ldb;
            NK_DW_ROW(0); NK_DW_ROW(1); NK_DW_ROW(2);
            NK_DW_ROW(3); NK_DW_ROW(4); NK_DW_ROW(5);
        }
        a0 += rs; a1 += rs; a2 += rs; a3 += rs; a4 += rs; a5 += rs;
    }
    _Pragma("GCC unroll 6") for (int t = 0; t < 6; t++)
        _Pragma("GCC unroll 4") for (int v = 0; v < NK_DW_NV; v++)
            NK_STOREU(c + t * ldc + NK_VN * v, acc[t][v]);
}

#undef NK_DW_ROW
#undef NK_DW_NAME
#undef NK_DW_NV
#undef NK_DW_SW
