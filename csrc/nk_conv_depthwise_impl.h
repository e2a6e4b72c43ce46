/* nk_conv_depthwise_impl.h -- the loops of the depthwise conv2d
 * (nk_conv_depthwise.c), by planes and by channel lanes, compiled once per
 * dtype and ISA level.  Not a public header.
 *
 * Plain C loops (the planes), which the compiler vectorizes for the
 * level's target, and vector-type arithmetic (the lanes).  Every element
 * gets the same multiplies and adds in the same order at every level
 * (separate multiply and add: -std=c11 does not contract them into FMAs),
 * so the three levels give the same bits.  The lanes' transposes use
 * in-register transposes for float at AVX-512 (DW_TR16) and AVX2 (DW_TR8),
 * plain copies otherwise; they only move values.
 *
 * Layout (nk_conv_depthwise.c): a padded plane cut into sh x sw phases of
 * Hq x Wq values, and the output grid of OH x Wq values; tap t reads phase
 * plane ph_t at the flat offset off_t (nk_dw_tap).  Lanes: NK_DWL values
 * per pixel, pixel-major.
 *
 * Expects T (float / double), DW_FN(name) (a suffix per dtype and level),
 * DW_ATTR (the level's target attribute, or nothing) and DW_VB (the
 * level's vector width in bytes). */

/* y[r*ys + i] += a * x[r*xs + i] for r < rows, i < n.  Not inlined, so that
 * the compiler vectorizes the loop as it stands (inlined into the tap
 * loops, GCC jammed two taps into a scalar loop). */
DW_ATTR __attribute__((noinline)) static void DW_FN(nk_dw_axpy)(T *NK_RESTRICT y, int64_t ys,
                                                                 const T *NK_RESTRICT x,
                                                                 int64_t xs, T a, int64_t rows,
                                                                 int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        T *NK_RESTRICT yr = y + r * ys;
        const T *NK_RESTRICT xr = x + r * xs;
        for (int64_t i = 0; i < n; i++) yr[i] += a * xr[i];
    }
}

/* a[l] += d[r*ds + i] * x[r*xs + i], rows in order, lane l = i % 64 (64
 * lanes: four to eight independent vector sums; 16 lanes were one chain
 * of dependent adds at AVX-512, latency-bound) */
DW_ATTR __attribute__((noinline)) static void DW_FN(nk_dw_dot64)(T *NK_RESTRICT a,
                                                                  const T *NK_RESTRICT d,
                                                                  int64_t ds,
                                                                  const T *NK_RESTRICT x,
                                                                  int64_t xs, int64_t rows,
                                                                  int64_t n) {
    T acc[64];
    for (int l = 0; l < 64; l++) acc[l] = a[l];
    for (int64_t r = 0; r < rows; r++) {
        const T *NK_RESTRICT dr = d + r * ds, *NK_RESTRICT xr = x + r * xs;
        int64_t i = 0;
        for (; i + 64 <= n; i += 64)
            for (int l = 0; l < 64; l++) acc[l] += dr[i + l] * xr[i + l];
        for (int l = 0; i + l < n; l++) acc[l] += dr[i + l] * xr[i + l];
    }
    for (int l = 0; l < 64; l++) a[l] = acc[l];
}

/* xq <- plane xc (H x W) zero-padded, in phases: phase (rp, cp) value
 * (r, c) = x[r*sh + rp - pad_h][c*sw + cp - pad_w], 0 outside x.  With
 * check, returns 1 when a value of the plane is not finite (else 0). */
DW_ATTR static int DW_FN(nk_dw_fill)(const nk_dw_geo *g, const T *NK_RESTRICT xc,
                                     T *NK_RESTRICT xq, int check) {
    const int64_t sw = g->sw, Wq = g->Wq, W = g->W, pw = g->pw, PQ = g->Hq * Wq;
    int bad = 0;
    for (int64_t rp = 0; rp < g->sh; rp++)
        for (int64_t r = 0; r < g->Hq; r++) {
            T *NK_RESTRICT d = xq + rp * sw * PQ + r * Wq; /* phase (rp, 0), row r */
            const int64_t ih = r * g->sh + rp - g->ph;
            if (ih < 0 || ih >= g->H) {
                for (int64_t cp = 0; cp < sw; cp++)
                    for (int64_t c = 0; c < Wq; c++) d[cp * PQ + c] = 0;
                continue;
            }
            const T *NK_RESTRICT s = xc + ih * W - pw; /* s[j]: padded column j */
            if (check)
                for (int64_t iw = 0; iw < W; iw++) bad |= !(s[pw + iw] - s[pw + iw] == 0);
            if (sw == 2) {
                /* columns c whose two values 2c, 2c + 1 are both inside x */
                const int64_t lo = nk_min_i64(Wq, (pw + 1) / 2);
                const int64_t hi = nk_max_i64(lo, nk_min_i64(Wq, (W + pw) / 2));
                T *NK_RESTRICT d1 = d + PQ;
                for (int64_t c = lo; c < hi; c++) {
                    d[c] = s[2 * c];
                    d1[c] = s[2 * c + 1];
                }
                for (int64_t c = 0; c < Wq; c++) {
                    if (c == lo) c = hi;
                    if (c >= Wq) break;
                    const int64_t j0 = 2 * c - pw, j1 = j0 + 1;
                    d[c] = j0 >= 0 && j0 < W ? s[2 * c] : 0;
                    d1[c] = j1 >= 0 && j1 < W ? s[2 * c + 1] : 0;
                }
                continue;
            }
            for (int64_t cp = 0; cp < sw; cp++) {
                /* columns [c0, c1) hold input columns c*sw + cp - pad_w */
                const int64_t c0 = nk_min_i64(Wq, pw > cp ? nk_ceil_div(pw - cp, sw) : 0);
                const int64_t c1 = nk_max_i64(c0, nk_min_i64(Wq, nk_ceil_div(W + pw - cp, sw)));
                T *NK_RESTRICT dc = d + cp * PQ;
                const T *NK_RESTRICT sc = s + cp;
                int64_t c = 0;
                for (; c < c0; c++) dc[c] = 0;
                if (sw == 1)
                    for (; c < c1; c++) dc[c] = sc[c];
                else
                    for (; c < c1; c++) dc[c] = sc[c * sw];
                for (; c < Wq; c++) dc[c] = 0;
            }
        }
    return bad;
}

/* Output plane yp (OH x OW) of one channel on the grid: bias, then + w[t]
 * * x for the taps t = kh*kW + kw in order, over the whole grid at once
 * (the grid's columns ow >= OW read the next row and are dropped). */
DW_ATTR static void DW_FN(nk_dw_fwd_plane)(const nk_dw_geo *g, const T *NK_RESTRICT xq,
                                           const T *NK_RESTRICT wk, T b, T *NK_RESTRICT grid,
                                           T *NK_RESTRICT yp) {
    const int64_t n = g->OH * g->Wq;
    for (int64_t i = 0; i < n; i++) grid[i] = b;
    for (int64_t t = 0; t < g->kH * g->kW; t++)
        DW_FN(nk_dw_axpy)(grid, 0, xq + nk_dw_tap(g, t), 0, wk[t], 1, n);
    for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++) yp[oh * g->OW + ow] = grid[oh * g->Wq + ow];
}

/* grid (OH x Wq) <- dy plane (OH x OW), 0 in the columns ow >= OW */
DW_ATTR static void DW_FN(nk_dw_grid_dy)(const nk_dw_geo *g, const T *NK_RESTRICT dyp,
                                         T *NK_RESTRICT grid) {
    for (int64_t oh = 0; oh < g->OH; oh++) {
        T *NK_RESTRICT gr = grid + oh * g->Wq;
        int64_t ow = 0;
        for (; ow < g->OW; ow++) gr[ow] = dyp[oh * g->OW + ow];
        for (; ow < g->Wq; ow++) gr[ow] = 0;
    }
}

/* dq (the phases of one input plane) += w[t] * dy, taps in order.  On the
 * grid (dy copied in, 0 in the columns ow >= OW, whose products then add
 * w * 0 = 0), or, exact (a weight not finite: w * 0 would not be 0), row by
 * row over the real outputs only; both add the same values in the same
 * order. */
DW_ATTR static void DW_FN(nk_dw_dx_plane)(const nk_dw_geo *g, const T *NK_RESTRICT dyp,
                                          const T *NK_RESTRICT wk, T *NK_RESTRICT grid,
                                          int exact, T *NK_RESTRICT dq) {
    const int64_t kk = g->kH * g->kW;
    if (exact) {
        for (int64_t t = 0; t < kk; t++)
            DW_FN(nk_dw_axpy)(dq + nk_dw_tap(g, t), g->Wq, dyp, g->OW, wk[t], g->OH, g->OW);
        return;
    }
    DW_FN(nk_dw_grid_dy)(g, dyp, grid);
    for (int64_t t = 0; t < kk; t++)
        DW_FN(nk_dw_axpy)(dq + nk_dw_tap(g, t), 0, grid, 0, wk[t], 1, g->OH * g->Wq);
}

/* dx plane (H x W) <- the phases dq (inputs no output reads: 0). */
DW_ATTR static void DW_FN(nk_dw_dx_store)(const nk_dw_geo *g, const T *NK_RESTRICT dq,
                                          T *NK_RESTRICT dxp) {
    const int64_t sw = g->sw, Wq = g->Wq, W = g->W, pw = g->pw, PQ = g->Hq * Wq;
    for (int64_t ih = 0; ih < g->H; ih++) {
        T *NK_RESTRICT d = dxp + ih * W;
        const int64_t rr = ih + g->ph, r = rr / g->sh;
        if (r >= g->Hq) {
            for (int64_t iw = 0; iw < W; iw++) d[iw] = 0;
            continue;
        }
        const T *NK_RESTRICT row = dq + (rr % g->sh) * sw * PQ + r * Wq; /* phase (., 0) */
        T *NK_RESTRICT dp = d - pw; /* dp[j]: padded column j */
        if (sw == 2) {
            /* padded columns 2c, 2c + 1 in pairs where both are inside dx
             * and c < Wq (a loop that compiles to interleaving shuffles; the
             * two strided passes below were 2/3 of 8x128x56x56/s2's dx) */
            const T *NK_RESTRICT r1 = row + PQ;
            const int64_t lo = nk_min_i64(Wq, (pw + 1) / 2);
            const int64_t hi = nk_max_i64(lo, nk_min_i64(Wq, (W + pw) / 2));
            for (int64_t c = lo; c < hi; c++) {
                dp[2 * c] = row[c];
                dp[2 * c + 1] = r1[c];
            }
            for (int64_t j = pw; j < pw + W; j++) {
                if (j == 2 * lo && hi > lo) j = 2 * hi;
                if (j >= pw + W) break;
                const int64_t c = j / 2;
                dp[j] = c < Wq ? row[(j % 2) * PQ + c] : 0;
            }
            continue;
        }
        for (int64_t cp = 0; cp < sw; cp++) {
            /* input columns c*sw + cp - pw for c in [c0, c1); c >= Wq: 0 */
            const int64_t c0 = pw > cp ? nk_ceil_div(pw - cp, sw) : 0;
            const int64_t c1 = nk_max_i64(c0, nk_ceil_div(W + pw - cp, sw));
            const int64_t cm = nk_max_i64(c0, nk_min_i64(c1, Wq));
            const T *NK_RESTRICT rc = row + cp * PQ;
            T *NK_RESTRICT dc = dp + cp;
            if (sw == 1)
                for (int64_t c = c0; c < cm; c++) dc[c] = rc[c];
            else
                for (int64_t c = c0; c < cm; c++) dc[c * sw] = rc[c];
            for (int64_t c = cm; c < c1; c++) dc[c * sw] = 0;
        }
    }
}

/* acc[t*64 + l] += dy * x over one image's plane, tap by tap.  On the grid
 * (dy copied in with 0 in the columns ow >= OW; lane l = grid index % 64),
 * or, exact (x not finite: 0 * x would not be 0), over the real outputs
 * row by row (lane l = ow % 64). */
DW_ATTR static void DW_FN(nk_dw_dw_plane)(const nk_dw_geo *g, const T *NK_RESTRICT xq,
                                          const T *NK_RESTRICT dyp, T *NK_RESTRICT grid,
                                          int exact, T *NK_RESTRICT acc) {
    const int64_t kk = g->kH * g->kW;
    if (exact) {
        for (int64_t t = 0; t < kk; t++)
            DW_FN(nk_dw_dot64)(acc + t * 64, dyp, g->OW, xq + nk_dw_tap(g, t), g->Wq, g->OH,
                               g->OW);
        return;
    }
    DW_FN(nk_dw_grid_dy)(g, dyp, grid);
    for (int64_t t = 0; t < kk; t++)
        DW_FN(nk_dw_dot64)(acc + t * 64, grid, 0, xq + nk_dw_tap(g, t), 0, 1, g->OH * g->Wq);
}

/* ---- channel lanes (nk_conv_depthwise.c, nk_dwl_geometry): NK_DWL
 * channels side by side, pixel-major ---- */

/* dst[(r*pitch + c)*NK_DWL + l] = src[l][r*ld + c] for r < rows, c < cols;
 * 0 for the lanes whose src[l] is NULL. */
DW_ATTR static void DW_FN(nk_dwl_rows)(T *NK_RESTRICT dst, int64_t pitch,
                                       const T *const *src, int64_t ld, int64_t rows,
                                       int64_t cols) {
#if defined(DW_TR16)
    /* float, AVX-512: 16 channels x 16 pixels per in-register transpose */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            const int64_t nc = nk_min_i64(16, cols - c0);
            const __mmask16 k = (__mmask16)((1u << nc) - 1u);
            __m512 v[16];
            for (int l = 0; l < 16; l++)
                v[l] = src[l] ? _mm512_maskz_loadu_ps(k, src[l] + r * ld + c0)
                              : _mm512_setzero_ps();
            nk_tr16_avx512(v);
            T *d = dst + (r * pitch + c0) * NK_DWL;
            /* (a loop to nc became a memcpy from the stack) */
            for (int i = 0; i < 16; i++)
                if (i < nc) _mm512_store_ps(d + i * NK_DWL, v[i]);
        }
#elif defined(DW_TR8)
    /* float, AVX2: two halves of 8 channels x 8 pixels */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c0 = 0; c0 < cols; c0 += 8) {
            const int64_t nc = nk_min_i64(8, cols - c0);
            const __m256i k = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nc),
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (int h = 0; h < 2; h++) {
                __m256 v[8];
                for (int l = 0; l < 8; l++)
                    v[l] = src[h * 8 + l] ? _mm256_maskload_ps(src[h * 8 + l] + r * ld + c0, k)
                                          : _mm256_setzero_ps();
                nk_tr8_avx2(v);
                T *d = dst + (r * pitch + c0) * NK_DWL + h * 8;
                for (int i = 0; i < 8; i++)
                    if (i < nc) _mm256_store_ps(d + i * NK_DWL, v[i]);
            }
        }
#else
    for (int l = 0; l < NK_DWL; l++) {
        const T *NK_RESTRICT s = src[l];
        for (int64_t r = 0; r < rows; r++) {
            T *NK_RESTRICT d = dst + r * pitch * NK_DWL + l;
            if (s)
                for (int64_t c = 0; c < cols; c++) d[c * NK_DWL] = s[r * ld + c];
            else
                for (int64_t c = 0; c < cols; c++) d[c * NK_DWL] = 0;
        }
    }
#endif
}

/* dst[l][r*ld + c] = src[(r*pitch + c)*NK_DWL + l] for r < rows, c < cols,
 * for the lanes whose dst[l] is not NULL (nk_dwl_rows' inverse). */
DW_ATTR static void DW_FN(nk_dwl_planes)(T *const *dst, int64_t ld, const T *NK_RESTRICT src,
                                         int64_t pitch, int64_t rows, int64_t cols) {
#if defined(DW_TR16)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            const int64_t nc = nk_min_i64(16, cols - c0);
            const __mmask16 k = (__mmask16)((1u << nc) - 1u);
            const T *s = src + (r * pitch + c0) * NK_DWL;
            __m512 v[16];
            for (int i = 0; i < 16; i++)
                v[i] = i < nc ? _mm512_load_ps(s + i * NK_DWL) : _mm512_setzero_ps();
            nk_tr16_avx512(v);
            for (int l = 0; l < 16; l++)
                if (dst[l]) _mm512_mask_storeu_ps(dst[l] + r * ld + c0, k, v[l]);
        }
#elif defined(DW_TR8)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c0 = 0; c0 < cols; c0 += 8) {
            const int64_t nc = nk_min_i64(8, cols - c0);
            const __m256i k = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nc),
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (int h = 0; h < 2; h++) {
                const T *s = src + (r * pitch + c0) * NK_DWL + h * 8;
                __m256 v[8];
                for (int i = 0; i < 8; i++)
                    v[i] = i < nc ? _mm256_load_ps(s + i * NK_DWL) : _mm256_setzero_ps();
                nk_tr8_avx2(v);
                for (int l = 0; l < 8; l++)
                    if (dst[h * 8 + l]) _mm256_maskstore_ps(dst[h * 8 + l] + r * ld + c0, k, v[l]);
            }
        }
#else
    for (int l = 0; l < NK_DWL; l++) {
        T *NK_RESTRICT d = dst[l];
        if (!d) continue;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                d[r * ld + c] = src[(r * pitch + c) * NK_DWL + l];
    }
#endif
}

/* The lanes' arithmetic on GCC/clang vector types of the level's width
 * (DW_VB bytes; a wider type was split through the stack at AVX2): NK_DWL
 * lanes = DW_NV vectors.  Multiply and add stay separate, as in the plain
 * loops, so every level gives the same bits. */
typedef T DW_FN(nk_dwl_vec) __attribute__((vector_size(DW_VB)));
#define DW_NV ((int)(NK_DWL * sizeof(T) / DW_VB))
#define DW_LD(v, p) memcpy(&(v), (p), DW_VB)
#define DW_ST(p, v) memcpy((p), &(v), DW_VB)
#define DW_VL ((int)(DW_VB / sizeof(T))) /* lanes per vector */

/* acc[t*NK_DWL + l] += dy * x over one image, outputs in row-major order,
 * taps in order within each output: xt is the lanes' zero-padded input
 * (row r = input row r - pad_h, pitch Wp), dyt their dy (OH x OW), toff[t]
 * tap t's offset in xt. */
DW_ATTR static void DW_FN(nk_dwl_acc)(const nk_dw_geo *g, int64_t Wp, const T *NK_RESTRICT xt,
                                      const T *NK_RESTRICT dyt, const int64_t *toff,
                                      T *NK_RESTRICT acc) {
    typedef DW_FN(nk_dwl_vec) vec;
    const int64_t kk = g->kH * g->kW;
    for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++) {
            const T *d = dyt + (oh * g->OW + ow) * NK_DWL;
            const T *xb = xt + (oh * g->sh * Wp + ow * g->sw) * NK_DWL;
            vec dv[DW_NV];
            for (int v = 0; v < DW_NV; v++) DW_LD(dv[v], d + v * DW_VL);
            for (int64_t t = 0; t < kk; t++)
                for (int v = 0; v < DW_NV; v++) {
                    vec xv, av;
                    DW_LD(xv, xb + toff[t] + v * DW_VL);
                    DW_LD(av, acc + t * NK_DWL + v * DW_VL);
                    av += dv[v] * xv;
                    DW_ST(acc + t * NK_DWL + v * DW_VL, av);
                }
        }
}

/* yt[(oh*OW + ow)*NK_DWL + l] = bias + w[t] * x for the taps t in order
 * (the planes' order): xt the lanes' zero-padded input (pitch Wp), wt[t*
 * NK_DWL + l] the lanes' taps and wt[kk*NK_DWL + l] their bias, toff[t] tap
 * t's offset in xt. */
DW_ATTR static void DW_FN(nk_dwl_fwd)(const nk_dw_geo *g, int64_t Wp, const T *NK_RESTRICT xt,
                                      const T *NK_RESTRICT wt, const int64_t *toff,
                                      T *NK_RESTRICT yt) {
    typedef DW_FN(nk_dwl_vec) vec;
    const int64_t kk = g->kH * g->kW;
    for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++) {
            const T *xb = xt + (oh * g->sh * Wp + ow * g->sw) * NK_DWL;
            vec a[DW_NV];
            for (int v = 0; v < DW_NV; v++) DW_LD(a[v], wt + kk * NK_DWL + v * DW_VL);
            for (int64_t t = 0; t < kk; t++)
                for (int v = 0; v < DW_NV; v++) {
                    vec xv, wv;
                    DW_LD(xv, xb + toff[t] + v * DW_VL);
                    DW_LD(wv, wt + t * NK_DWL + v * DW_VL);
                    a[v] += wv * xv;
                }
            for (int v = 0; v < DW_NV; v++) DW_ST(yt + (oh * g->OW + ow) * NK_DWL + v * DW_VL, a[v]);
        }
}

/* Stride 1: dxt[(ih*W + iw)*NK_DWL + l] (from 0 when first, else on top of
 * its value) += w[t] * dy for the taps t in order (the planes' order): dyt
 * the lanes' zero-padded dy (pitch Wd), tap t at toff[t] past (ih*Wd +
 * iw)*NK_DWL. */
DW_ATTR static void DW_FN(nk_dwl_dx)(const nk_dw_geo *g, int64_t Wd, const T *NK_RESTRICT dyt,
                                     const T *NK_RESTRICT wt, const int64_t *toff, int first,
                                     T *NK_RESTRICT dxt) {
    typedef DW_FN(nk_dwl_vec) vec;
    const int64_t kk = g->kH * g->kW;
    for (int64_t ih = 0; ih < g->H; ih++)
        for (int64_t iw = 0; iw < g->W; iw++) {
            const T *db = dyt + (ih * Wd + iw) * NK_DWL;
            T *dp = dxt + (ih * g->W + iw) * NK_DWL;
            vec a[DW_NV];
            for (int v = 0; v < DW_NV; v++) {
                a[v] = (vec){0};
                if (!first) DW_LD(a[v], dp + v * DW_VL);
            }
            for (int64_t t = 0; t < kk; t++)
                for (int v = 0; v < DW_NV; v++) {
                    vec dv, wv;
                    DW_LD(dv, db + toff[t] + v * DW_VL);
                    DW_LD(wv, wt + t * NK_DWL + v * DW_VL);
                    a[v] += wv * dv;
                }
            for (int v = 0; v < DW_NV; v++) DW_ST(dp + v * DW_VL, a[v]);
        }
}
#undef DW_NV
#undef DW_LD
#undef DW_ST
#undef DW_VL
