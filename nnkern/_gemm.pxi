# _gemm.pxi -- bindings for the GEMM kernels (csrc/nk_gemm.h).
#
# One entry point, gemm_into(a, b, c, ...), computes
#     c = relu?(alpha * a @ b + beta * c + bias)
# in place for 2-D arrays a (M x K), b (K x N), c (M x N) of one float dtype.
# NumPy strides (transposes, views, negative steps) go straight to C: no
# copies.  The functional layer (nnkern/functional/_linear.py) builds on it.
from libc.stdint cimport int64_t, intptr_t
from libc.stddef cimport size_t
from libc.string cimport memset

cdef extern from "nk_gemm.h":
    ctypedef void (*nk_pack_f32_fn)(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                    int64_t kc, int64_t w, float *dst) noexcept nogil
    ctypedef void (*nk_pack_f64_fn)(const void *ctx, int64_t i0, int64_t mn, int64_t p0,
                                    int64_t kc, int64_t w, double *dst) noexcept nogil
    ctypedef struct nk_gemm_operand_f32:
        const float *ptr
        int64_t rs
        int64_t cs
        nk_pack_f32_fn pack
        const void *ctx
        const float *packed
    ctypedef struct nk_gemm_operand_f64:
        const double *ptr
        int64_t rs
        int64_t cs
        nk_pack_f64_fn pack
        const void *ctx
        const double *packed
    ctypedef struct nk_gemm_epilogue_f32:
        const float *bias
        int bias_per_row
        int relu
    ctypedef struct nk_gemm_epilogue_f64:
        const double *bias
        int bias_per_row
        int relu
    int NK_GEMM_MR_F32
    int NK_GEMM_NR_F32
    int NK_GEMM_MR_F64
    int NK_GEMM_NR_F64
    nk_status nk_gemm_f32(int64_t M, int64_t N, int64_t K, float alpha,
                          const nk_gemm_operand_f32 *A, const nk_gemm_operand_f32 *B,
                          float beta, float *C, int64_t rs_c, int64_t cs_c,
                          const nk_gemm_epilogue_f32 *ep, int nthreads) nogil
    nk_status nk_gemm_f64(int64_t M, int64_t N, int64_t K, double alpha,
                          const nk_gemm_operand_f64 *A, const nk_gemm_operand_f64 *B,
                          double beta, double *C, int64_t rs_c, int64_t cs_c,
                          const nk_gemm_epilogue_f64 *ep, int nthreads) nogil
    int64_t nk_gemm_prepack_a_size_f32(int64_t M, int64_t K) nogil
    int64_t nk_gemm_prepack_a_size_f64(int64_t M, int64_t K) nogil
    void nk_gemm_prepack_a_f32(const nk_gemm_operand_f32 *A, int64_t M, int64_t K,
                               float *dst) nogil
    void nk_gemm_prepack_a_f64(const nk_gemm_operand_f64 *A, int64_t M, int64_t K,
                               double *dst) nogil
    size_t nk_gemm_workspace_f32(int64_t M, int64_t N, int64_t K) nogil
    size_t nk_gemm_workspace_f64(int64_t M, int64_t N, int64_t K) nogil
    nk_status nk_gemm_serial_f32(int64_t M, int64_t N, int64_t K, float alpha,
                                 const nk_gemm_operand_f32 *A, const nk_gemm_operand_f32 *B,
                                 float beta, float *C, int64_t rs_c, int64_t cs_c,
                                 const nk_gemm_epilogue_f32 *ep, void *workspace) nogil
    nk_status nk_gemm_serial_f64(int64_t M, int64_t N, int64_t K, double alpha,
                                 const nk_gemm_operand_f64 *A, const nk_gemm_operand_f64 *B,
                                 double beta, double *C, int64_t rs_c, int64_t cs_c,
                                 const nk_gemm_epilogue_f64 *ep, void *workspace) nogil
    nk_status nk_gemm_ref_f32(int64_t M, int64_t N, int64_t K, float alpha,
                              const nk_gemm_operand_f32 *A, const nk_gemm_operand_f32 *B,
                              float beta, float *C, int64_t rs_c, int64_t cs_c,
                              const nk_gemm_epilogue_f32 *ep) nogil
    nk_status nk_gemm_ref_f64(int64_t M, int64_t N, int64_t K, double alpha,
                              const nk_gemm_operand_f64 *A, const nk_gemm_operand_f64 *B,
                              double beta, double *C, int64_t rs_c, int64_t cs_c,
                              const nk_gemm_epilogue_f64 *ep) nogil

cdef extern from "nk_runtime.h":
    void *nk_aligned_alloc(size_t nbytes) nogil
    void nk_aligned_free(void *p) nogil

import numpy as _np

GEMM_TILE = {"float32": (NK_GEMM_MR_F32, NK_GEMM_NR_F32),
             "float64": (NK_GEMM_MR_F64, NK_GEMM_NR_F64)}

_GEMM_IMPLS = ("fast", "serial", "callback", "ref", "prepacked")


# Test hook: a packing callback that reads a strided matrix, so that the
# callback path (used by conv's implicit GEMM) is exercised by the tests.
ctypedef struct _strided_ctx_f32:
    const float *ptr
    int64_t rs
    int64_t cs
    int64_t rows
    int64_t depth
    int *bad

ctypedef struct _strided_ctx_f64:
    const double *ptr
    int64_t rs
    int64_t cs
    int64_t rows
    int64_t depth
    int *bad

cdef void _pack_cb_f32(const void *ctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                       int64_t w, float *dst) noexcept nogil:
    cdef const _strided_ctx_f32 *c = <const _strided_ctx_f32 *>ctx
    cdef int64_t ii, p, i
    cdef int64_t padded = ((mn + w - 1) // w) * w
    cdef bint ok = i0 >= 0 and mn >= 0 and i0 + mn <= c.rows and p0 >= 0 and kc >= 0 \
        and p0 + kc <= c.depth and w > 0
    if not ok:
        c.bad[0] = 1  # the driver asked for rows/depth outside the operand
    for ii in range(padded):
        i = i0 + ii
        for p in range(kc):
            if ok and ii < mn:
                dst[(ii // w) * kc * w + p * w + (ii % w)] = c.ptr[i * c.rs + (p0 + p) * c.cs]
            else:
                dst[(ii // w) * kc * w + p * w + (ii % w)] = 0

cdef void _pack_cb_f64(const void *ctx, int64_t i0, int64_t mn, int64_t p0, int64_t kc,
                       int64_t w, double *dst) noexcept nogil:
    cdef const _strided_ctx_f64 *c = <const _strided_ctx_f64 *>ctx
    cdef int64_t ii, p, i
    cdef int64_t padded = ((mn + w - 1) // w) * w
    cdef bint ok = i0 >= 0 and mn >= 0 and i0 + mn <= c.rows and p0 >= 0 and kc >= 0 \
        and p0 + kc <= c.depth and w > 0
    if not ok:
        c.bad[0] = 1  # the driver asked for rows/depth outside the operand
    for ii in range(padded):
        i = i0 + ii
        for p in range(kc):
            if ok and ii < mn:
                dst[(ii // w) * kc * w + p * w + (ii % w)] = c.ptr[i * c.rs + (p0 + p) * c.cs]
            else:
                dst[(ii // w) * kc * w + p * w + (ii % w)] = 0


cdef int64_t _elem_stride(cnp.ndarray x, int axis, str name) except? -1:
    cdef Py_ssize_t s = x.strides[axis]
    cdef Py_ssize_t isz = x.itemsize
    if s % isz != 0:
        raise ValueError(f"{name}: strides must be multiples of the item size")
    return s // isz


cdef enum:
    _GUARD = 256  # canary bytes after the serial workspace (test hook)


cdef bint _guard_intact(const unsigned char *g) noexcept nogil:
    cdef int i
    for i in range(_GUARD):
        if g[i] != 0xA5:
            return False
    return True


def gemm_into(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c, double alpha=1.0,
              double beta=0.0, cnp.ndarray bias=None, bint bias_per_row=False,
              bint relu=False, str impl="fast", ws_shape=None):
    """c = relu?(alpha * a @ b + beta * c + bias), in place; returns c.

    a: (M, K), b: (K, N), c: (M, N), all float32 or all float64, any strides
    (multiples of the item size; c writable and not overlapping a, b or
    bias).  bias: None or a contiguous vector of length M (bias_per_row) or
    N, added after the product.  beta == 0 never reads c.
    impl: "fast" (threaded driver), "serial" (nk_gemm_serial_* with a
    caller-provided workspace), "callback" (the fast driver with both
    operands supplied through packing callbacks -- a test hook for conv's
    path), "prepacked" (the fast driver with A's panels packed beforehand by
    nk_gemm_prepack_a_*, as conv does for its weights) or "ref" (the naive
    reference).
    ws_shape: for impl="serial", size the workspace with
    nk_gemm_workspace(*ws_shape) instead of (M, N, K) (a test hook: it must
    be at least the problem's shape); canary bytes after it are checked.
    """
    if impl not in _GEMM_IMPLS:
        raise ValueError(f"impl must be one of {_GEMM_IMPLS}, got {impl!r}")
    if a.ndim != 2 or b.ndim != 2 or c.ndim != 2:
        raise ValueError(f"gemm_into: expected 2-D arrays, got {a.ndim}-D, {b.ndim}-D "
                         f"and {c.ndim}-D")
    dt = c.dtype
    if dt != _np.float32 and dt != _np.float64:
        raise TypeError(f"gemm_into: dtype {dt} is not supported; expected float32 or float64")
    if a.dtype != dt or b.dtype != dt or (bias is not None and bias.dtype != dt):
        raise TypeError("gemm_into: all operands must share one dtype (float32 or float64)")
    cdef int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1]
    if b.shape[0] != K or c.shape[0] != M or c.shape[1] != N:
        raise ValueError(f"gemm_into: shapes {(<object>a).shape} @ {(<object>b).shape} -> "
                         f"{(<object>c).shape} do not match")
    if not c.flags.writeable:
        raise ValueError("gemm_into: output array is read-only")
    cdef int64_t nb = 0
    if bias is not None:
        if bias.ndim != 1 or not bias.flags.c_contiguous:
            raise ValueError("gemm_into: bias must be a contiguous 1-D array")
        nb = M if bias_per_row else N
        if bias.shape[0] != nb:
            raise ValueError(f"gemm_into: bias has {bias.shape[0]} elements, expected {nb}")
    cdef int64_t rs_a = _elem_stride(a, 0, "a"), cs_a = _elem_stride(a, 1, "a")
    cdef int64_t rs_b = _elem_stride(b, 1, "b"), cs_b = _elem_stride(b, 0, "b")
    cdef int64_t rs_c = _elem_stride(c, 0, "c"), cs_c = _elem_stride(c, 1, "c")
    if M > 0 and N > 0 and ((M > 1 and rs_c == 0) or (N > 1 and cs_c == 0)):
        raise ValueError("gemm_into: the output has a zero stride (its elements overlap)")
    if not (a.flags.aligned and b.flags.aligned and c.flags.aligned
            and (bias is None or bias.flags.aligned)):
        raise ValueError("gemm_into: arrays must be aligned to their item size")
    cdef int64_t wm = M, wn = N, wk = K
    if ws_shape is not None:
        wm, wn, wk = ws_shape
        if wm < M or wn < N or wk < K:
            raise ValueError(f"gemm_into: ws_shape {ws_shape} is smaller than the problem")
    cdef int nt = num_threads()
    cdef bint guard_ok = True
    cdef int mode = _GEMM_IMPLS.index(impl)
    cdef void *ws = NULL
    cdef size_t wsz
    cdef nk_status st = NK_OK
    cdef int bad = 0
    cdef nk_gemm_operand_f32 A32, B32
    cdef nk_gemm_operand_f64 A64, B64
    cdef nk_gemm_epilogue_f32 E32
    cdef nk_gemm_epilogue_f64 E64
    cdef _strided_ctx_f32 ca32, cb32
    cdef _strided_ctx_f64 ca64, cb64
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef void *pb = cnp.PyArray_DATA(b)
    cdef void *pc = cnp.PyArray_DATA(c)
    cdef void *pbias = NULL if bias is None else cnp.PyArray_DATA(bias)
    if dt == _np.float32:
        A32.ptr = <const float *>pa; A32.rs = rs_a; A32.cs = cs_a; A32.pack = NULL; A32.ctx = NULL
        A32.packed = NULL
        B32.ptr = <const float *>pb; B32.rs = rs_b; B32.cs = cs_b; B32.pack = NULL; B32.ctx = NULL
        B32.packed = NULL
        E32.bias = <const float *>pbias; E32.bias_per_row = bias_per_row; E32.relu = relu
        if mode == 2:
            ca32.ptr = A32.ptr; ca32.rs = rs_a; ca32.cs = cs_a; ca32.rows = M
            cb32.ptr = B32.ptr; cb32.rs = rs_b; cb32.cs = cs_b; cb32.rows = N
            ca32.depth = K; cb32.depth = K; ca32.bad = &bad; cb32.bad = &bad
            A32.pack = _pack_cb_f32; A32.ctx = &ca32; A32.ptr = NULL
            B32.pack = _pack_cb_f32; B32.ctx = &cb32; B32.ptr = NULL
        with nogil:
            if mode == 4:
                wsz = <size_t>nk_gemm_prepack_a_size_f32(M, K) * sizeof(float)
                ws = nk_aligned_alloc(wsz + 64)
                if ws == NULL:
                    st = NK_ERR_NOMEM
                else:
                    nk_gemm_prepack_a_f32(&A32, M, K, <float *>ws)
                    A32.packed = <const float *>ws
                    st = nk_gemm_f32(M, N, K, <float>alpha, &A32, &B32, <float>beta,
                                     <float *>pc, rs_c, cs_c, &E32, nt)
                    nk_aligned_free(ws)
            elif mode == 0 or mode == 2:
                st = nk_gemm_f32(M, N, K, <float>alpha, &A32, &B32, <float>beta,
                                 <float *>pc, rs_c, cs_c, &E32, nt)
            elif mode == 1:
                wsz = nk_gemm_workspace_f32(wm, wn, wk)
                ws = nk_aligned_alloc(wsz + _GUARD) if wsz < (<size_t>1 << 40) else NULL
                if ws == NULL:
                    st = NK_ERR_NOMEM
                else:
                    memset(<char *>ws + wsz, 0xA5, _GUARD)
                    st = nk_gemm_serial_f32(M, N, K, <float>alpha, &A32, &B32, <float>beta,
                                            <float *>pc, rs_c, cs_c, &E32, ws)
                    guard_ok = _guard_intact(<unsigned char *>ws + wsz)
                    nk_aligned_free(ws)
            else:
                st = nk_gemm_ref_f32(M, N, K, <float>alpha, &A32, &B32, <float>beta,
                                     <float *>pc, rs_c, cs_c, &E32)
    else:
        A64.ptr = <const double *>pa; A64.rs = rs_a; A64.cs = cs_a; A64.pack = NULL; A64.ctx = NULL
        A64.packed = NULL
        B64.ptr = <const double *>pb; B64.rs = rs_b; B64.cs = cs_b; B64.pack = NULL; B64.ctx = NULL
        B64.packed = NULL
        E64.bias = <const double *>pbias; E64.bias_per_row = bias_per_row; E64.relu = relu
        if mode == 2:
            ca64.ptr = A64.ptr; ca64.rs = rs_a; ca64.cs = cs_a; ca64.rows = M
            cb64.ptr = B64.ptr; cb64.rs = rs_b; cb64.cs = cs_b; cb64.rows = N
            ca64.depth = K; cb64.depth = K; ca64.bad = &bad; cb64.bad = &bad
            A64.pack = _pack_cb_f64; A64.ctx = &ca64; A64.ptr = NULL
            B64.pack = _pack_cb_f64; B64.ctx = &cb64; B64.ptr = NULL
        with nogil:
            if mode == 4:
                wsz = <size_t>nk_gemm_prepack_a_size_f64(M, K) * sizeof(double)
                ws = nk_aligned_alloc(wsz + 64)
                if ws == NULL:
                    st = NK_ERR_NOMEM
                else:
                    nk_gemm_prepack_a_f64(&A64, M, K, <double *>ws)
                    A64.packed = <const double *>ws
                    st = nk_gemm_f64(M, N, K, alpha, &A64, &B64, beta,
                                     <double *>pc, rs_c, cs_c, &E64, nt)
                    nk_aligned_free(ws)
            elif mode == 0 or mode == 2:
                st = nk_gemm_f64(M, N, K, alpha, &A64, &B64, beta,
                                 <double *>pc, rs_c, cs_c, &E64, nt)
            elif mode == 1:
                wsz = nk_gemm_workspace_f64(wm, wn, wk)
                ws = nk_aligned_alloc(wsz + _GUARD) if wsz < (<size_t>1 << 40) else NULL
                if ws == NULL:
                    st = NK_ERR_NOMEM
                else:
                    memset(<char *>ws + wsz, 0xA5, _GUARD)
                    st = nk_gemm_serial_f64(M, N, K, alpha, &A64, &B64, beta,
                                            <double *>pc, rs_c, cs_c, &E64, ws)
                    guard_ok = _guard_intact(<unsigned char *>ws + wsz)
                    nk_aligned_free(ws)
            else:
                st = nk_gemm_ref_f64(M, N, K, alpha, &A64, &B64, beta,
                                     <double *>pc, rs_c, cs_c, &E64)
    check_status(st, "gemm")
    if not guard_ok:
        raise AssertionError("gemm: nk_gemm_serial wrote past nk_gemm_workspace bytes")
    if bad:
        raise AssertionError("gemm: a packing callback was asked for rows or depth outside "
                             "its operand")
    return c


def gemm_ref(a, b, c, alpha=1.0, beta=0.0, bias=None, bias_per_row=False, relu=False):
    """The naive reference GEMM (test oracle); same arguments as gemm_into."""
    return gemm_into(a, b, c, alpha, beta, bias, bias_per_row, relu, "ref")


def _gemm_status_probe():
    """Test hook: status codes of the C drivers for invalid calls that the
    bindings never make (negative sizes, NULL pointers, missing workspace)."""
    cdef float x[4]
    cdef double y[4]
    cdef nk_gemm_operand_f32 ok32, null32
    cdef nk_gemm_operand_f64 ok64
    ok32.ptr = x; ok32.rs = 1; ok32.cs = 1; ok32.pack = NULL; ok32.ctx = NULL
    null32.ptr = NULL; null32.rs = 1; null32.cs = 1; null32.pack = NULL; null32.ctx = NULL
    ok64.ptr = y; ok64.rs = 1; ok64.cs = 1; ok64.pack = NULL; ok64.ctx = NULL
    ok32.packed = NULL; null32.packed = NULL; ok64.packed = NULL
    x[0] = x[1] = x[2] = x[3] = 1
    y[0] = y[1] = y[2] = y[3] = 1
    return {
        "negative_m": nk_gemm_f32(-1, 1, 1, 1, &ok32, &ok32, 0, x, 1, 1, NULL, 1),
        "negative_k_f64": nk_gemm_f64(1, 1, -2, 1, &ok64, &ok64, 0, y, 1, 1, NULL, 1),
        "null_c": nk_gemm_f32(1, 1, 1, 1, &ok32, &ok32, 0, NULL, 1, 1, NULL, 1),
        "null_operand": nk_gemm_f32(1, 1, 1, 1, &null32, &ok32, 0, x, 1, 1, NULL, 1),
        "null_operand_struct": nk_gemm_f32(1, 1, 1, 1, NULL, &ok32, 0, x, 1, 1, NULL, 1),
        "null_operand_k0": nk_gemm_f32(1, 1, 0, 1, NULL, NULL, 0, x, 1, 1, NULL, 1),
        "empty_null_c": nk_gemm_f32(0, 5, 5, 1, &ok32, &ok32, 0, NULL, 1, 1, NULL, 1),
        "serial_no_workspace": nk_gemm_serial_f32(2, 2, 2, 1, &ok32, &ok32, 0, x, 2, 1, NULL,
                                                  NULL),
        "serial_negative": nk_gemm_serial_f64(1, -1, 1, 1, &ok64, &ok64, 0, y, 1, 1, NULL,
                                              NULL),
        "ref_negative": nk_gemm_ref_f32(1, 1, -1, 1, &ok32, &ok32, 0, x, 1, 1, NULL),
        "ref_null_c": nk_gemm_ref_f64(1, 1, 1, 1, &ok64, &ok64, 0, NULL, 1, 1, NULL),
        "workspace_empty": nk_gemm_workspace_f32(0, 0, 0),
        "workspace_huge": nk_gemm_workspace_f64(1, 1, 1 << 62),
        "workspace_huge2": nk_gemm_workspace_f32(16, 3, 1 << 62),
    }
