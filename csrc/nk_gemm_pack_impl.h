/* nk_gemm_pack_impl.h -- dtype template of nk_gemm_pack.c (included once per
 * dtype with NK_T = element type and NK_FN(x) = x##_<dtype>).  Not a public
 * header. */

/* One panel of width w (a compile-time constant after inlining): rows
 * s[r * rs + p * cs], r < m, p < kc, zero rows m..w-1. */
NK_INLINE void NK_FN(pack_panel)(const NK_T *NK_RESTRICT s, int64_t rs, int64_t cs, int64_t m,
                                 int64_t kc, int64_t w, NK_T *NK_RESTRICT d) {
    if (m == w && cs == 1) {
        /* depth contiguous: w read streams, contiguous writes */
        for (int64_t p = 0; p < kc; p++)
            for (int64_t r = 0; r < w; r++) d[p * w + r] = s[r * rs + p];
    } else if (m == w && rs == 1) {
        /* rows contiguous: one contiguous run of w per depth step */
        for (int64_t p = 0; p < kc; p++)
            for (int64_t r = 0; r < w; r++) d[p * w + r] = s[p * cs + r];
    } else {
        for (int64_t p = 0; p < kc; p++) {
            int64_t r = 0;
            for (; r < m; r++) d[p * w + r] = s[r * rs + p * cs];
            for (; r < w; r++) d[p * w + r] = (NK_T)0;
        }
    }
}

/* d[q * kc * w + t] = s[q * w + t] for q < npieces, t < w */
NK_INLINE void NK_FN(copy_pieces)(const NK_T *NK_RESTRICT s, NK_T *NK_RESTRICT d, int64_t npieces,
                                  int64_t kc, int64_t w) {
    for (int64_t q = 0; q < npieces; q++)
        for (int64_t t = 0; t < w; t++) d[q * kc * w + t] = s[q * w + t];
}

void NK_FN(nk_gemm_pack)(const NK_OPERAND *op, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                         int64_t w, NK_T *NK_RESTRICT dst) {
    if (op->pack) {
        op->pack(op->ctx, i0, mn, p0, kc, w, dst);
        return;
    }
    const int64_t rs = op->rs, cs = op->cs;
    if (rs == 1 && mn >= w) {
        /* rows contiguous (e.g. B of a row-major K x N matrix): walk the
         * source one depth row at a time, so that reads stream through
         * memory, and scatter w-wide pieces to the panels */
        const int64_t full = mn / w;
        for (int64_t p = 0; p < kc; p++) {
            const NK_T *s = op->ptr + i0 + (p0 + p) * cs;
            NK_T *d = dst + p * w;
            /* constant widths: inline copies (with w known only at run time
             * GCC called memcpy for every 6-float piece -- a fifth of a 1x1
             * conv's backward-data, whose A = W^T has contiguous rows) */
            if (w == 16) NK_FN(copy_pieces)(s, d, full, kc, 16);
            else if (w == 8) NK_FN(copy_pieces)(s, d, full, kc, 8);
            else if (w == 6) NK_FN(copy_pieces)(s, d, full, kc, 6);
            else NK_FN(copy_pieces)(s, d, full, kc, w);
        }
        if (full * w == mn) return;
        const int64_t i = full * w;
        NK_FN(pack_panel)(op->ptr + i0 + i + p0 * cs, 1, cs, mn - i, kc, w, dst + full * kc * w);
        return;
    }
#if NK_X86_DISPATCH
    const int rows_avx2 = cs == 1 && w % NK_PACK_VL == 0 && nk_isa_active() == NK_ISA_AVX2;
#endif
    for (int64_t i = 0; i < mn; i += w) {
        int64_t m = nk_min_i64(w, mn - i);
        const NK_T *s = op->ptr + (i0 + i) * rs + p0 * cs;
        NK_T *d = dst + (i / w) * kc * w;
#if NK_X86_DISPATCH
        if (rows_avx2 && m == w) {
            NK_PACK_ROWS_AVX2(s, rs, kc, w, d);
            continue;
        }
#endif
        /* constant widths let the compiler unroll and vectorise */
        if (w == 16) NK_FN(pack_panel)(s, rs, cs, m, kc, 16, d);
        else if (w == 8) NK_FN(pack_panel)(s, rs, cs, m, kc, 8, d);
        else if (w == 6) NK_FN(pack_panel)(s, rs, cs, m, kc, 6, d);
        else NK_FN(pack_panel)(s, rs, cs, m, kc, w, d);
    }
}
