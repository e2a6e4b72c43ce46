# _pool.pxi -- bindings for the pooling kernels (csrc/nk_pool.h).
#
# Every function takes C-contiguous 4-D (N, C, H, W) arrays, checks dtypes,
# ranks and exact sizes (the C code is never handed a buffer it could
# overrun), allocates the output and calls C without the GIL.  ref=True calls
# the naive reference kernels (the tests' oracle).  Argument semantics
# (output sizes, errors with PyTorch's wording) live in
# nnkern/functional/_pool.py.
import numpy as np

cdef extern from "nk_pool.h":
    ctypedef struct nk_pool2d_shape:
        int64_t planes, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw
    nk_status nk_pool_max_fwd_f32(const nk_pool2d_shape *s, const float *x, float *y, int64_t *ind, int nt) nogil
    nk_status nk_pool_max_fwd_f64(const nk_pool2d_shape *s, const double *x, double *y, int64_t *ind, int nt) nogil
    nk_status nk_pool_max_bwd_f32(const nk_pool2d_shape *s, const float *dy, const int64_t *ind, float *dx, int nt) nogil
    nk_status nk_pool_max_bwd_f64(const nk_pool2d_shape *s, const double *dy, const int64_t *ind, double *dx, int nt) nogil
    nk_status nk_pool_avg_fwd_f32(const nk_pool2d_shape *s, int cip, int64_t dov, const float *x, float *y, int nt) nogil
    nk_status nk_pool_avg_fwd_f64(const nk_pool2d_shape *s, int cip, int64_t dov, const double *x, double *y, int nt) nogil
    nk_status nk_pool_avg_bwd_f32(const nk_pool2d_shape *s, int cip, int64_t dov, const float *dy, float *dx, int nt) nogil
    nk_status nk_pool_avg_bwd_f64(const nk_pool2d_shape *s, int cip, int64_t dov, const double *dy, double *dx, int nt) nogil
    nk_status nk_pool_adaptive_avg_fwd_f32(const nk_pool2d_shape *s, const float *x, float *y, int nt) nogil
    nk_status nk_pool_adaptive_avg_fwd_f64(const nk_pool2d_shape *s, const double *x, double *y, int nt) nogil
    nk_status nk_pool_adaptive_avg_bwd_f32(const nk_pool2d_shape *s, const float *dy, float *dx, int nt) nogil
    nk_status nk_pool_adaptive_avg_bwd_f64(const nk_pool2d_shape *s, const double *dy, double *dx, int nt) nogil
    nk_status nk_pool_max_fwd_ref_f32(const nk_pool2d_shape *s, const float *x, float *y, int64_t *ind) nogil
    nk_status nk_pool_max_fwd_ref_f64(const nk_pool2d_shape *s, const double *x, double *y, int64_t *ind) nogil
    nk_status nk_pool_max_bwd_ref_f32(const nk_pool2d_shape *s, const float *dy, const int64_t *ind, float *dx) nogil
    nk_status nk_pool_max_bwd_ref_f64(const nk_pool2d_shape *s, const double *dy, const int64_t *ind, double *dx) nogil
    nk_status nk_pool_avg_fwd_ref_f32(const nk_pool2d_shape *s, int cip, int64_t dov, const float *x, float *y) nogil
    nk_status nk_pool_avg_fwd_ref_f64(const nk_pool2d_shape *s, int cip, int64_t dov, const double *x, double *y) nogil
    nk_status nk_pool_avg_bwd_ref_f32(const nk_pool2d_shape *s, int cip, int64_t dov, const float *dy, float *dx) nogil
    nk_status nk_pool_avg_bwd_ref_f64(const nk_pool2d_shape *s, int cip, int64_t dov, const double *dy, double *dx) nogil
    nk_status nk_pool_adaptive_avg_fwd_ref_f32(const nk_pool2d_shape *s, const float *x, float *y) nogil
    nk_status nk_pool_adaptive_avg_fwd_ref_f64(const nk_pool2d_shape *s, const double *x, double *y) nogil
    nk_status nk_pool_adaptive_avg_bwd_ref_f32(const nk_pool2d_shape *s, const float *dy, float *dx) nogil
    nk_status nk_pool_adaptive_avg_bwd_ref_f64(const nk_pool2d_shape *s, const double *dy, double *dx) nogil


cdef int _pool_is_f32(cnp.ndarray a, str what) except -1:
    """1 for float32, 0 for float64; TypeError otherwise.  Also requires a
    C-contiguous, aligned, native-order 4-D array."""
    if a.ndim != 4:
        raise ValueError(f"{what}: expected a 4-D array, got {a.ndim}-D")
    if not (a.flags.c_contiguous and a.flags.aligned and a.dtype.isnative):
        raise ValueError(f"{what}: expected a C-contiguous, aligned, native-order array")
    if a.dtype == np.float32:
        return 1
    if a.dtype == np.float64:
        return 0
    raise TypeError(f"{what}: dtype {a.dtype} not supported; expected float32 or float64")


cdef nk_pool2d_shape _pool_shape(tuple sizes, tuple win):
    cdef nk_pool2d_shape s
    s.planes, s.H, s.W, s.OH, s.OW = sizes
    s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw = win
    return s


def pool_max_fwd(cnp.ndarray x, int64_t OH, int64_t OW, tuple win, bint want_indices,
                 bint ref=False):
    """Max pooling forward; win = (kh, kw, sh, sw, ph, pw, dh, dw).
    Returns (y, indices or None)."""
    cdef int f32 = _pool_is_f32(x, "max_pool2d")
    N, C, H, W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    cdef nk_pool2d_shape s = _pool_shape((N * C, H, W, OH, OW), win)
    cdef cnp.ndarray y = np.empty((N, C, OH, OW), dtype=x.dtype)
    cdef cnp.ndarray ind = np.empty((N, C, OH, OW), dtype=np.int64) if (want_indices or ref) else None
    cdef int64_t *ip = <int64_t *>cnp.PyArray_DATA(ind) if ind is not None else NULL
    cdef void *xp = cnp.PyArray_DATA(x)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef int nt = num_threads()
    cdef nk_status st
    with nogil:
        if ref:
            st = nk_pool_max_fwd_ref_f32(&s, <float *>xp, <float *>yp, ip) if f32 else \
                 nk_pool_max_fwd_ref_f64(&s, <double *>xp, <double *>yp, ip)
        else:
            st = nk_pool_max_fwd_f32(&s, <float *>xp, <float *>yp, ip, nt) if f32 else \
                 nk_pool_max_fwd_f64(&s, <double *>xp, <double *>yp, ip, nt)
    check_status(st, "max_pool2d")
    return y, ind


def pool_max_bwd(cnp.ndarray dy, cnp.ndarray ind, int64_t H, int64_t W, bint ref=False):
    """dx[n, c].flat[ind] += dy for every output; indices are range-checked."""
    cdef int f32 = _pool_is_f32(dy, "max_pool2d_backward")
    if (ind.dtype != np.int64 or ind.ndim != 4 or not ind.flags.c_contiguous
            or not ind.flags.aligned or not ind.dtype.isnative):
        raise ValueError("max_pool2d_backward: indices must be a C-contiguous int64 4-D array")
    if (<object>ind).shape != (<object>dy).shape:
        raise ValueError(f"max_pool2d_backward: indices shape {(<object>ind).shape} does not "
                         f"match grad_output shape {(<object>dy).shape}")
    N, C, OH, OW = dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]
    cdef nk_pool2d_shape s = _pool_shape((N * C, H, W, OH, OW), (1, 1, 1, 1, 0, 0, 1, 1))
    cdef cnp.ndarray dx = np.empty((N, C, H, W), dtype=dy.dtype)
    cdef void *gp = cnp.PyArray_DATA(dy)
    cdef void *dp = cnp.PyArray_DATA(dx)
    cdef int64_t *ip = <int64_t *>cnp.PyArray_DATA(ind)
    cdef int nt = num_threads()
    cdef nk_status st
    with nogil:
        if ref:
            st = nk_pool_max_bwd_ref_f32(&s, <float *>gp, ip, <float *>dp) if f32 else \
                 nk_pool_max_bwd_ref_f64(&s, <double *>gp, ip, <double *>dp)
        else:
            st = nk_pool_max_bwd_f32(&s, <float *>gp, ip, <float *>dp, nt) if f32 else \
                 nk_pool_max_bwd_f64(&s, <double *>gp, ip, <double *>dp, nt)
    check_status(st, "max_pool2d_backward")
    return dx


def pool_avg_fwd(cnp.ndarray x, int64_t OH, int64_t OW, tuple win, bint count_include_pad,
                 int64_t divisor_override, bint ref=False):
    """Average pooling forward; win = (kh, kw, sh, sw, ph, pw, 1, 1);
    divisor_override 0 means none."""
    cdef int f32 = _pool_is_f32(x, "avg_pool2d")
    N, C, H, W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    cdef nk_pool2d_shape s = _pool_shape((N * C, H, W, OH, OW), win)
    cdef cnp.ndarray y = np.empty((N, C, OH, OW), dtype=x.dtype)
    cdef void *xp = cnp.PyArray_DATA(x)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef int nt = num_threads()
    cdef int cip = count_include_pad
    cdef nk_status st
    with nogil:
        if ref:
            st = nk_pool_avg_fwd_ref_f32(&s, cip, divisor_override, <float *>xp, <float *>yp) if f32 else \
                 nk_pool_avg_fwd_ref_f64(&s, cip, divisor_override, <double *>xp, <double *>yp)
        else:
            st = nk_pool_avg_fwd_f32(&s, cip, divisor_override, <float *>xp, <float *>yp, nt) if f32 else \
                 nk_pool_avg_fwd_f64(&s, cip, divisor_override, <double *>xp, <double *>yp, nt)
    check_status(st, "avg_pool2d")
    return y


def pool_avg_bwd(cnp.ndarray dy, int64_t H, int64_t W, tuple win, bint count_include_pad,
                 int64_t divisor_override, bint ref=False):
    cdef int f32 = _pool_is_f32(dy, "avg_pool2d_backward")
    N, C, OH, OW = dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]
    cdef nk_pool2d_shape s = _pool_shape((N * C, H, W, OH, OW), win)
    cdef cnp.ndarray dx = np.empty((N, C, H, W), dtype=dy.dtype)
    cdef void *gp = cnp.PyArray_DATA(dy)
    cdef void *dp = cnp.PyArray_DATA(dx)
    cdef int nt = num_threads()
    cdef int cip = count_include_pad
    cdef nk_status st
    with nogil:
        if ref:
            st = nk_pool_avg_bwd_ref_f32(&s, cip, divisor_override, <float *>gp, <float *>dp) if f32 else \
                 nk_pool_avg_bwd_ref_f64(&s, cip, divisor_override, <double *>gp, <double *>dp)
        else:
            st = nk_pool_avg_bwd_f32(&s, cip, divisor_override, <float *>gp, <float *>dp, nt) if f32 else \
                 nk_pool_avg_bwd_f64(&s, cip, divisor_override, <double *>gp, <double *>dp, nt)
    check_status(st, "avg_pool2d_backward")
    return dx


def pool_adaptive_avg_fwd(cnp.ndarray x, int64_t OH, int64_t OW, bint ref=False):
    cdef int f32 = _pool_is_f32(x, "adaptive_avg_pool2d")
    N, C, H, W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    cdef nk_pool2d_shape s = _pool_shape((N * C, H, W, OH, OW), (1, 1, 1, 1, 0, 0, 1, 1))
    cdef cnp.ndarray y = np.empty((N, C, OH, OW), dtype=x.dtype)
    cdef void *xp = cnp.PyArray_DATA(x)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef int nt = num_threads()
    cdef nk_status st
    with nogil:
        if ref:
            st = nk_pool_adaptive_avg_fwd_ref_f32(&s, <float *>xp, <float *>yp) if f32 else \
                 nk_pool_adaptive_avg_fwd_ref_f64(&s, <double *>xp, <double *>yp)
        else:
            st = nk_pool_adaptive_avg_fwd_f32(&s, <float *>xp, <float *>yp, nt) if f32 else \
                 nk_pool_adaptive_avg_fwd_f64(&s, <double *>xp, <double *>yp, nt)
    check_status(st, "adaptive_avg_pool2d")
    return y


def pool_adaptive_avg_bwd(cnp.ndarray dy, int64_t H, int64_t W, bint ref=False):
    cdef int f32 = _pool_is_f32(dy, "adaptive_avg_pool2d_backward")
    N, C, OH, OW = dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]
    cdef nk_pool2d_shape s = _pool_shape((N * C, H, W, OH, OW), (1, 1, 1, 1, 0, 0, 1, 1))
    cdef cnp.ndarray dx = np.empty((N, C, H, W), dtype=dy.dtype)
    cdef void *gp = cnp.PyArray_DATA(dy)
    cdef void *dp = cnp.PyArray_DATA(dx)
    cdef int nt = num_threads()
    cdef nk_status st
    with nogil:
        if ref:
            st = nk_pool_adaptive_avg_bwd_ref_f32(&s, <float *>gp, <float *>dp) if f32 else \
                 nk_pool_adaptive_avg_bwd_ref_f64(&s, <double *>gp, <double *>dp)
        else:
            st = nk_pool_adaptive_avg_bwd_f32(&s, <float *>gp, <float *>dp, nt) if f32 else \
                 nk_pool_adaptive_avg_bwd_f64(&s, <double *>gp, <double *>dp, nt)
    check_status(st, "adaptive_avg_pool2d_backward")
    return dx
