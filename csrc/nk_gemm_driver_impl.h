/* nk_gemm_driver_impl.h -- dtype template of nk_gemm_driver.c (included once
 * per dtype; see there for the blocking rationale).  Not a public header.
 * Expects NK_T, NK_FN(x), NK_OPERAND, NK_EPILOGUE, NK_UKR_ARGS, NK_UKR_FN,
 * NK_MR, NK_NR, NK_MC, NK_KC, NK_NC, NK_UKR_AVX2, NK_UKR_AVX512, NK_UKR_AVX512_ROW,
 * NK_UKR_AVX512_COL, NK_UKR_GENERIC, NK_SMALL_JOB,
 * NK_SMALL_AXPY_FN, NK_SMALL_DOT_FN. */

typedef struct NK_FN(gemm_job) {
    int64_t M, N, K;
    NK_T alpha, beta;
    const NK_OPERAND *A, *B;
    NK_T *C;
    int64_t rs_c, cs_c;
    const NK_EPILOGUE *ep;
    NK_UKR_FN ukr;  /* MR x NR micro-kernel */
    NK_UKR_FN ukr2; /* 2*MR x 2*NR micro-kernel (AVX-512), or NULL */
    NK_UKR_FN ukr_row, ukr_col; /* MR x 2*NR and 2*MR x NR (AVX-512), or NULL */
    int64_t kc;     /* depth block: depends on K only (bitwise reproducibility) */
    int64_t mb, nb; /* unit of work: mb x nb block of C (multiples of MR, NR) */
    int64_t um, un; /* units along M and N */
    const NK_T *apacked; /* A's prepacked panels (NK_OPERAND.packed), or NULL */
    int64_t mp;          /* M rounded up to MR: a prepacked depth block's row count */
} NK_FN(gemm_job);

/* Elements of the packed A and B buffers one unit needs. */
static int64_t NK_FN(abuf_elems)(const NK_FN(gemm_job) *j) {
    return nk_min_i64(j->mb, NK_MC) * j->kc;
}
static int64_t NK_FN(bbuf_elems)(const NK_FN(gemm_job) *j) { return j->nb * j->kc; }

/* Bytes of one thread's workspace (A and B panels, 64-byte aligned each,
 * plus slack to align a caller's pointer). */
static size_t NK_FN(thread_ws_bytes)(const NK_FN(gemm_job) *j) {
    int64_t a = (NK_FN(abuf_elems)(j) * (int64_t)sizeof(NK_T) + 63) & ~(int64_t)63;
    int64_t b = (NK_FN(bbuf_elems)(j) * (int64_t)sizeof(NK_T) + 63) & ~(int64_t)63;
    return (size_t)(a + b + 64);
}

/* Balanced depth blocks of at most NK_KC. */
static int64_t NK_FN(depth_block)(int64_t K) {
    if (K <= 0) return 1;
    int64_t nk = nk_ceil_div(K, NK_KC);
    return nk_ceil_div(K, nk);
}

/* Cut C into units, one per thread (or a multiple of nthr): a unit spans
 * whole columns of blocks and iterates MC row blocks inside, so its packed B
 * block is reused by all its rows (the Goto order).  The larger dimension is
 * split first: each thread then packs its own share of that operand and all
 * of the smaller one.  Any cut gives the same bits (nk_gemm_internal.h). */
static void NK_FN(plan_units)(NK_FN(gemm_job) *j, int nthr) {
    int64_t um = 1, un = nk_ceil_div(j->N, NK_NC);
    while (nthr > 1) {
        int64_t units = um * un;
        if (units >= nthr && (units % nthr == 0 || units >= 4 * nthr)) break;
        int64_t rows = nk_ceil_div(j->M, um), cols = nk_ceil_div(j->N, un);
        if (cols >= rows && cols >= 2 * NK_NR) un++;
        else if (rows >= 2 * NK_MR) um++;
        else if (cols >= 2 * NK_NR) un++;
        else break;
    }
    j->mb = nk_ceil_div(nk_ceil_div(j->M, um), NK_MR) * NK_MR;
    j->nb = nk_ceil_div(nk_ceil_div(j->N, un), NK_NR) * NK_NR;
    j->um = nk_ceil_div(j->M, j->mb);
    j->un = nk_ceil_div(j->N, j->nb);
}

/* K == 0: C = beta * C, then the epilogue. */
static void NK_FN(scale_only)(const NK_FN(gemm_job) *j) {
    const NK_EPILOGUE *ep = j->ep;
    for (int64_t i = 0; i < j->M; i++) {
        NK_T *c = j->C + i * j->rs_c;
        for (int64_t jj = 0; jj < j->N; jj++) {
            NK_T v = j->beta == 0 ? (NK_T)0 : j->beta * c[jj * j->cs_c];
            if (ep && ep->bias) v += ep->bias[ep->bias_per_row ? i : jj];
            if (ep && ep->relu) v = (v > 0 || v != v) ? v : (NK_T)0;
            c[jj * j->cs_c] = v;
        }
    }
}

/* One register tile of TM x TN = (wm * MR) x (wn * NR) at C[i, jj], of
 * which m x n elements are valid: run ukr on C itself when the tile is full
 * and C has unit column stride, else on a local tile and copy the valid
 * part. */
static void NK_FN(run_tile)(const NK_FN(gemm_job) *j, NK_UKR_FN ukr, int64_t TM, int64_t TN,
                            int64_t kc, const NK_T *ap, const NK_T *bp, int64_t i, int64_t jj,
                            int64_t m, int64_t n, NK_UKR_ARGS *args, const NK_T *bias,
                            NK_T *tile, NK_T *bias_pad) {
    const int64_t rs_c = j->rs_c, cs_c = j->cs_c;
    const int per_row = args->bias_per_row;
    NK_T *c = j->C + i * rs_c + jj * cs_c;
    args->bias = NULL;
    if (bias) {
        const int64_t off = per_row ? i : jj, cnt = per_row ? m : n;
        const int64_t full = per_row ? TM : TN;
        if (cnt == full) {
            args->bias = bias + off;
        } else {
            for (int64_t t = 0; t < full; t++) bias_pad[t] = t < cnt ? bias[off + t] : 0;
            args->bias = bias_pad;
        }
    }
    if (m == TM && n == TN && cs_c == 1) {
        ukr(kc, ap, bp, c, rs_c, args);
        return;
    }
    /* edge tile or strided columns: run on a local tile */
    if (args->beta != 0) {
        for (int64_t r = 0; r < TM; r++)
            for (int64_t t = 0; t < TN; t++)
                tile[r * TN + t] = (r < m && t < n) ? c[r * rs_c + t * cs_c] : 0;
    }
    ukr(kc, ap, bp, tile, TN, args);
    for (int64_t r = 0; r < m; r++)
        for (int64_t t = 0; t < n; t++) c[r * rs_c + t * cs_c] = tile[r * TN + t];
}

/* C[i0:i0+mc, j0:j0+nc] (+)= packed A block x packed B block, one depth
 * block.  With a wide kernel (j->ukr2, AVX-512), 2 x 2 blocks of MR x NR
 * tiles go to it, and a trailing single panel row or column to j->ukr; both
 * compute every element the same way, so the cut does not change the bits. */
static void NK_FN(macro_kernel)(const NK_FN(gemm_job) *j, int64_t i0, int64_t mc, int64_t j0,
                                int64_t nc, int64_t kc, int first, int last,
                                const NK_T *abuf, const NK_T *bbuf) {
    NK_UKR_ARGS args;
    args.alpha = j->alpha;
    args.beta = first ? j->beta : (NK_T)1;
    args.relu = last && j->ep && j->ep->relu;
    const NK_T *bias = last && j->ep ? j->ep->bias : NULL;
    args.bias_per_row = j->ep ? j->ep->bias_per_row : 0;
    args.bias = NULL;
    _Alignas(64) NK_T tile[4 * NK_MR * NK_NR];
    _Alignas(64) NK_T bias_pad[2 * (NK_MR > NK_NR ? NK_MR : NK_NR)];
    const int wide = j->ukr2 != NULL;
    const int64_t step_n = wide ? 2 * NK_NR : NK_NR, step_m = wide ? 2 * NK_MR : NK_MR;

    for (int64_t jr = 0; jr < nc; jr += step_n) {
        const int64_t nleft = nc - jr;
        const int wn = wide && nleft > NK_NR ? 2 : 1;
        const NK_T *bp = bbuf + (jr / NK_NR) * kc * NK_NR;
        for (int64_t ir = 0; ir < mc; ir += step_m) {
            const int64_t mleft = mc - ir;
            const int wm = wide && mleft > NK_MR ? 2 : 1;
            const NK_T *ap = abuf + (ir / NK_MR) * kc * NK_MR;
            if (wm == 2 && wn == 2) {
                NK_FN(run_tile)(j, j->ukr2, 2 * NK_MR, 2 * NK_NR, kc, ap, bp, i0 + ir, j0 + jr,
                                nk_min_i64(2 * NK_MR, mleft), nk_min_i64(2 * NK_NR, nleft), &args,
                                bias, tile, bias_pad);
                continue;
            }
            if (wm == 1 && wn == 2 && j->ukr_row) {
                NK_FN(run_tile)(j, j->ukr_row, NK_MR, 2 * NK_NR, kc, ap, bp, i0 + ir, j0 + jr,
                                nk_min_i64(NK_MR, mleft), nk_min_i64(2 * NK_NR, nleft), &args,
                                bias, tile, bias_pad);
                continue;
            }
            if (wm == 2 && wn == 1 && j->ukr_col) {
                NK_FN(run_tile)(j, j->ukr_col, 2 * NK_MR, NK_NR, kc, ap, bp, i0 + ir, j0 + jr,
                                nk_min_i64(2 * NK_MR, mleft), nk_min_i64(NK_NR, nleft), &args,
                                bias, tile, bias_pad);
                continue;
            }
            for (int sa = 0; sa < wm; sa++)
                for (int sb = 0; sb < wn; sb++)
                    NK_FN(run_tile)(j, j->ukr, NK_MR, NK_NR, kc, ap + sa * kc * NK_MR,
                                    bp + sb * kc * NK_NR, i0 + ir + sa * NK_MR,
                                    j0 + jr + sb * NK_NR, nk_min_i64(NK_MR, mleft - sa * NK_MR),
                                    nk_min_i64(NK_NR, nleft - sb * NK_NR), &args, bias, tile,
                                    bias_pad);
        }
    }
}

/* One unit of work: C[i0:i0+mlen, j0:j0+nlen] over the whole depth. */
static void NK_FN(run_unit)(const NK_FN(gemm_job) *j, int64_t i0, int64_t mlen, int64_t j0,
                            int64_t nlen, NK_T *abuf, NK_T *bbuf) {
    /* balanced row blocks of at most MC (multiples of MR) */
    const int64_t nmc = nk_ceil_div(mlen, NK_MC);
    const int64_t mcb = nk_ceil_div(nk_ceil_div(mlen, nmc), NK_MR) * NK_MR;
    for (int64_t pc = 0; pc < j->K; pc += j->kc) {
        const int64_t kc = nk_min_i64(j->kc, j->K - pc);
        const int first = pc == 0, last = pc + kc == j->K;
        NK_FN(nk_gemm_pack)(j->B, j0, nlen, pc, kc, NK_NR, bbuf);
        for (int64_t ic = 0; ic < mlen; ic += mcb) {
            const int64_t mc = nk_min_i64(mcb, mlen - ic);
            const NK_T *ap = abuf;
            if (j->apacked) /* i0 + ic is a multiple of MR */
                ap = j->apacked + pc * j->mp + (i0 + ic) / NK_MR * kc * NK_MR;
            else
                NK_FN(nk_gemm_pack)(j->A, i0 + ic, mc, pc, kc, NK_MR, abuf);
            NK_FN(macro_kernel)(j, i0 + ic, mc, j0, nlen, kc, first, last, ap, bbuf);
        }
    }
}

static void NK_FN(run_units)(const NK_FN(gemm_job) *j, int64_t u0, int64_t u1, void *ws) {
    uintptr_t base = ((uintptr_t)ws + 63) & ~(uintptr_t)63;
    NK_T *abuf = (NK_T *)base;
    NK_T *bbuf = abuf + ((NK_FN(abuf_elems)(j) * (int64_t)sizeof(NK_T) + 63) / 64) * 64 /
                            (int64_t)sizeof(NK_T);
    for (int64_t u = u0; u < u1; u++) {
        const int64_t bi = u / j->un, bj = u % j->un;
        const int64_t i0 = bi * j->mb, j0 = bj * j->nb;
        NK_FN(run_unit)(j, i0, nk_min_i64(j->mb, j->M - i0), j0, nk_min_i64(j->nb, j->N - j0),
                        abuf, bbuf);
    }
}

#if NK_X86_DISPATCH
/* Decide (from shapes and strides only, never the thread count) whether the
 * small path applies, and describe it in *s (possibly for the swapped
 * problem C^T = B^T A^T). */
static int NK_FN(small_form)(int64_t M, int64_t N, const NK_OPERAND *A, const NK_OPERAND *B) {
    if (B->rs == 1) {
        if (M <= NK_GEMM_SMALL_AXPY_ALWAYS) return NK_SMALL_AXPY;
        if (N <= NK_GEMM_SMALL) return NK_SMALL_DIRECT;
        if (M <= NK_GEMM_SMALL_AXPY) return NK_SMALL_AXPY;
    } else if (B->cs == 1 && M <= NK_GEMM_SMALL) {
        return A->cs == 1 ? NK_SMALL_DOT : NK_SMALL_DOT_PACKA;
    }
    return NK_SMALL_NONE;
}

static int NK_FN(small_plan)(const NK_FN(gemm_job) *j, NK_SMALL_JOB *s) {
    if (j->ukr != NK_UKR_AVX2 || j->A->pack || j->B->pack) return NK_SMALL_NONE;
    if (j->M > NK_GEMM_SMALL && j->N > NK_GEMM_SMALL) return NK_SMALL_NONE;
    const NK_OPERAND *A = j->A, *B = j->B;
    int64_t M = j->M, N = j->N, rs_c = j->rs_c, cs_c = j->cs_c;
    int per_row = j->ep ? j->ep->bias_per_row : 0;
    int form = NK_FN(small_form)(M, N, A, B);
    if (form == NK_SMALL_NONE) {
        form = NK_FN(small_form)(N, M, B, A);
        if (form == NK_SMALL_NONE) return form;
        const NK_OPERAND *t = A; A = B; B = t;
        int64_t u = M; M = N; N = u;
        u = rs_c; rs_c = cs_c; cs_c = u;
        per_row = !per_row;
    }
    s->M = M; s->N = N; s->K = j->K;
    s->alpha = j->alpha; s->beta = j->beta;
    s->a = A->ptr; s->rs_a = A->rs; s->cs_a = A->cs;
    s->b = B->ptr;
    s->ldb = form == NK_SMALL_AXPY || form == NK_SMALL_DIRECT ? B->cs : B->rs;
    s->c = j->C; s->rs_c = rs_c; s->cs_c = cs_c;
    s->bias = j->ep ? j->ep->bias : NULL;
    s->bias_per_row = per_row;
    s->relu = j->ep ? j->ep->relu : 0;
    return form;
}

/* Run the small path on nthr threads; apack: M*K elements of scratch for
 * NK_SMALL_DOT_PACKA. */
static void NK_FN(run_small)(NK_SMALL_JOB *s, int form, int nthr, NK_T *apack) {
    if (form == NK_SMALL_DOT_PACKA) { /* tiny A made depth-contiguous */
        for (int64_t r = 0; r < s->M; r++)
            for (int64_t p = 0; p < s->K; p++)
                apack[r * s->K + p] = s->a[r * s->rs_a + p * s->cs_a];
        s->a = apack; s->rs_a = s->K; s->cs_a = 1;
    }
    void (*kern)(const NK_SMALL_JOB *, int64_t, int64_t) =
        form == NK_SMALL_AXPY ? NK_SMALL_AXPY_FN
        : form == NK_SMALL_DIRECT ? NK_SMALL_DIRECT_FN : NK_SMALL_DOT_FN;
    const int64_t N = s->N, M = s->M;
    if (nthr <= 1) {
        kern(s, 0, N);
        return;
    }
    /* split the columns, or the rows of a tall direct-form problem; every
     * element is computed the same way whatever the split */
    const int by_rows = form == NK_SMALL_DIRECT && N < 64 * (int64_t)nthr && M >= 12;
#pragma omp parallel num_threads(nthr)
    {
#ifdef _OPENMP
        const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int tid = 0, nt = 1;
#endif
        if (by_rows) {
            const int64_t chunk = nk_ceil_div(nk_ceil_div(M, nt), 6) * 6;
            const int64_t r0 = nk_min_i64(M, tid * chunk), r1 = nk_min_i64(M, r0 + chunk);
            if (r1 > r0) {
                NK_SMALL_JOB t = *s;
                t.M = r1 - r0;
                t.a += r0 * t.rs_a;
                t.c += r0 * t.rs_c;
                if (t.bias && t.bias_per_row) t.bias += r0;
                kern(&t, 0, N);
            }
        } else {
            const int64_t chunk = nk_ceil_div(nk_ceil_div(N, nt), 64) * 64;
            const int64_t n0 = nk_min_i64(N, tid * chunk), n1 = nk_min_i64(N, n0 + chunk);
            if (n1 > n0) kern(s, n0, n1);
        }
    }
}
#endif

/* Validate and fill the job; returns NK_OK, or an error, or -1 for "nothing
 * to do". */
static int NK_FN(setup_job)(NK_FN(gemm_job) *j, int64_t M, int64_t N, int64_t K, NK_T alpha,
                            const NK_OPERAND *A, const NK_OPERAND *B, NK_T beta, NK_T *C,
                            int64_t rs_c, int64_t cs_c, const NK_EPILOGUE *ep) {
    if (M < 0 || N < 0 || K < 0) return NK_ERR_ARG;
    if (M == 0 || N == 0) return -1;
    if (!C) return NK_ERR_ARG;
    if (K > 0 && (!A || !B || (!A->pack && !A->ptr) || (!B->pack && !B->ptr))) return NK_ERR_ARG;
    j->M = M; j->N = N; j->K = K;
    j->alpha = alpha; j->beta = beta;
    j->A = A; j->B = B;
    j->C = C; j->rs_c = rs_c; j->cs_c = cs_c;
    j->ep = ep;
    j->ukr2 = j->ukr_row = j->ukr_col = NULL;
#if NK_X86_DISPATCH
    /* at the AVX-512 level the AVX2 kernel (same bits) serves edge panels
     * and the small path */
    const nk_isa level = nk_isa_level();
    j->ukr = level >= NK_ISA_AVX2 ? NK_UKR_AVX2 : NK_UKR_GENERIC;
    if (level == NK_ISA_AVX512) {
        j->ukr2 = NK_UKR_AVX512;
        j->ukr_row = NK_UKR_AVX512_ROW;
        j->ukr_col = NK_UKR_AVX512_COL;
    }
#else
    j->ukr = NK_UKR_GENERIC;
#endif
    j->kc = NK_FN(depth_block)(K);
    j->apacked = K > 0 ? A->packed : NULL;
    j->mp = nk_ceil_div(M, NK_MR) * NK_MR;
    return NK_OK;
}

int64_t NK_FN(nk_gemm_prepack_a_size)(int64_t M, int64_t K) {
    int64_t e;
    if (M < 0 || K < 0 || M > INT64_MAX - NK_MR ||
        nk_mul_i64(nk_ceil_div(M, NK_MR) * NK_MR, K, &e))
        return 0;
    return e;
}

void NK_FN(nk_gemm_prepack_a)(const NK_OPERAND *A, int64_t M, int64_t K, NK_T *dst) {
    const int64_t kcb = NK_FN(depth_block)(K), mp = nk_ceil_div(M, NK_MR) * NK_MR;
    for (int64_t p0 = 0; p0 < K; p0 += kcb)
        NK_FN(nk_gemm_pack)(A, 0, M, p0, nk_min_i64(kcb, K - p0), NK_MR, dst + p0 * mp);
}

/* A column-major C (unit row stride) is computed as C^T = B^T A^T so the
 * micro-kernel writes contiguous rows.  Same bits: only the roles of the
 * two FMA factors swap. */
static void NK_FN(maybe_transpose)(NK_FN(gemm_job) *j, NK_EPILOGUE *ep_t) {
    if (j->cs_c == 1 || j->rs_c != 1) return;
    int64_t t = j->M; j->M = j->N; j->N = t;
    const NK_OPERAND *op = j->A; j->A = j->B; j->B = op;
    j->apacked = NULL; /* prepacked panels are A's, now the B operand */
    j->mp = nk_ceil_div(j->M, NK_MR) * NK_MR;
    t = j->rs_c; j->rs_c = j->cs_c; j->cs_c = t;
    if (j->ep) {
        *ep_t = *j->ep;
        ep_t->bias_per_row = !ep_t->bias_per_row;
        j->ep = ep_t;
    }
}

/* Bytes of packed A (rows m) and B (rows n) blocks for any problem with at
 * most m, n rows and depth k: bounds, not exact sizes, so that the result is
 * monotone in m, n and k. */
static size_t NK_FN(packed_ws_bound)(int64_t m, int64_t n, int64_t k) {
    const int64_t kc = nk_min_i64(k, NK_KC);
    const int64_t a = nk_min_i64(nk_ceil_div(m, NK_MR) * NK_MR, NK_MC) * kc;
    const int64_t b = nk_min_i64(nk_ceil_div(n, NK_NR) * NK_NR, NK_NC) * kc;
    return (size_t)(((a * (int64_t)sizeof(NK_T) + 63) & ~(int64_t)63) +
                    ((b * (int64_t)sizeof(NK_T) + 63) & ~(int64_t)63) + 64);
}

/* Monotone: a workspace for (M, N, K) serves every call with M' <= M,
 * N' <= N, K' <= K (callers size it once for their largest block). */
size_t NK_FN(nk_gemm_workspace)(int64_t M, int64_t N, int64_t K) {
    if (M <= 0 || N <= 0 || K <= 0) return 64;
    if (M > INT64_MAX / 2 || N > INT64_MAX / 2 || K > INT64_MAX / 2) return SIZE_MAX;
    size_t a = NK_FN(packed_ws_bound)(M, N, K);
    /* the transposed problem (column-major C) swaps the roles */
    size_t b = NK_FN(packed_ws_bound)(N, M, K);
    if (b > a) a = b;
    /* the small path may copy an operand of <= NK_GEMM_SMALL rows */
    const int64_t rows = nk_min_i64(NK_GEMM_SMALL, nk_max_i64(M, N));
    size_t c;
    int64_t elems;
    if (nk_mul_i64(rows, K, &elems) || nk_bytes(elems, sizeof(NK_T), &c) != NK_OK ||
        c > SIZE_MAX - 128)
        return SIZE_MAX;
    if (c + 128 > a) a = c + 128;
    return a;
}

nk_status NK_FN(nk_gemm_serial)(int64_t M, int64_t N, int64_t K, NK_T alpha, const NK_OPERAND *A,
                                const NK_OPERAND *B, NK_T beta, NK_T *C, int64_t rs_c,
                                int64_t cs_c, const NK_EPILOGUE *ep, void *workspace) {
    NK_FN(gemm_job) j;
    NK_EPILOGUE ep_t;
    int st = NK_FN(setup_job)(&j, M, N, K, alpha, A, B, beta, C, rs_c, cs_c, ep);
    if (st < 0) return NK_OK;
    if (st != NK_OK) return (nk_status)st;
    if (K == 0) {
        NK_FN(scale_only)(&j);
        return NK_OK;
    }
    if (!workspace) return NK_ERR_ARG;
#if NK_X86_DISPATCH
    NK_SMALL_JOB sj;
    int form = NK_FN(small_plan)(&j, &sj);
    if (form != NK_SMALL_NONE) {
        NK_T *apack = (NK_T *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
        NK_FN(run_small)(&sj, form, 1, apack);
        return NK_OK;
    }
#endif
    NK_FN(maybe_transpose)(&j, &ep_t);
    NK_FN(plan_units)(&j, 1);
    NK_FN(run_units)(&j, 0, j.um * j.un, workspace);
    return NK_OK;
}

nk_status NK_FN(nk_gemm)(int64_t M, int64_t N, int64_t K, NK_T alpha, const NK_OPERAND *A,
                         const NK_OPERAND *B, NK_T beta, NK_T *C, int64_t rs_c, int64_t cs_c,
                         const NK_EPILOGUE *ep, int nthreads) {
    NK_FN(gemm_job) j;
    NK_EPILOGUE ep_t;
    int st = NK_FN(setup_job)(&j, M, N, K, alpha, A, B, beta, C, rs_c, cs_c, ep);
    if (st < 0) return NK_OK;
    if (st != NK_OK) return (nk_status)st;
    if (K == 0) {
        NK_FN(scale_only)(&j);
        return NK_OK;
    }
    int nthr = nk_threads_for(nthreads, nk_gemm_fma_count(M, N, K), NK_GEMM_MIN_FMA_PER_THREAD);
#if NK_X86_DISPATCH
    NK_SMALL_JOB sj;
    int form = NK_FN(small_plan)(&j, &sj);
    if (form != NK_SMALL_NONE) {
        NK_T *apack = NULL;
        if (form == NK_SMALL_DOT_PACKA) {
            size_t bytes;
            int64_t elems;
            if (nk_mul_i64(sj.M, K, &elems) || nk_bytes(elems, sizeof(NK_T), &bytes) != NK_OK)
                return NK_ERR_OVERFLOW;
            apack = (NK_T *)nk_aligned_alloc(bytes);
            if (!apack) return NK_ERR_NOMEM;
        }
        /* the small forms are bandwidth-bound: a second thread pays earlier */
        nthr = nk_threads_for(nthreads, nk_gemm_fma_count(M, N, K), NK_GEMM_MIN_FMA_SMALL);
        NK_FN(run_small)(&sj, form, nthr, apack);
        nk_aligned_free(apack);
        return NK_OK;
    }
#endif
    NK_FN(maybe_transpose)(&j, &ep_t);
    NK_FN(plan_units)(&j, nthr);
    const int64_t units = j.um * j.un;
    if (nthr > units) nthr = (int)units;
    const size_t per_thread = NK_FN(thread_ws_bytes)(&j);
    size_t total;
    if (__builtin_mul_overflow(per_thread, (size_t)nthr, &total)) return NK_ERR_OVERFLOW;
    char *ws = (char *)nk_aligned_alloc(total);
    if (!ws) return NK_ERR_NOMEM;
    if (nthr <= 1) {
        NK_FN(run_units)(&j, 0, units, ws);
    } else {
#pragma omp parallel num_threads(nthr)
        {
#ifdef _OPENMP
            const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
#else
            const int tid = 0, nt = 1;
#endif
            /* contiguous, balanced ranges of units */
            const int64_t u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
            NK_FN(run_units)(&j, u0, u1, ws + (size_t)tid * per_thread);
        }
    }
    nk_aligned_free(ws);
    return NK_OK;
}
