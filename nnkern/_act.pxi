# _act.pxi -- bindings for the activation kernels (csrc/nk_act.h).
#
# Called by nnkern/functional/_activation.py with arrays it has already
# converted; every binding still re-checks dtype, contiguity, sizes and
# writeability so that C can never write out of bounds.

cdef extern from "nk_act.h":
    ctypedef enum nk_act_op:
        NK_ACT_RELU
        NK_ACT_LEAKY_RELU
        NK_ACT_SIGMOID
        NK_ACT_TANH
    nk_status nk_relu_forward_f32(int64_t n, const float *x, float *y, int nt) nogil
    nk_status nk_leaky_relu_forward_f32(int64_t n, const float *x, float *y, float s, int nt) nogil
    nk_status nk_sigmoid_forward_f32(int64_t n, const float *x, float *y, int nt) nogil
    nk_status nk_tanh_forward_f32(int64_t n, const float *x, float *y, int nt) nogil
    nk_status nk_relu_backward_f32(int64_t n, const float *g, const float *y, float *gi, int nt) nogil
    nk_status nk_leaky_relu_backward_f32(int64_t n, const float *g, const float *x, float *gi,
                                         float s, int nt) nogil
    nk_status nk_sigmoid_backward_f32(int64_t n, const float *g, const float *y, float *gi, int nt) nogil
    nk_status nk_tanh_backward_f32(int64_t n, const float *g, const float *y, float *gi, int nt) nogil
    nk_status nk_relu_forward_f64(int64_t n, const double *x, double *y, int nt) nogil
    nk_status nk_leaky_relu_forward_f64(int64_t n, const double *x, double *y, double s, int nt) nogil
    nk_status nk_sigmoid_forward_f64(int64_t n, const double *x, double *y, int nt) nogil
    nk_status nk_tanh_forward_f64(int64_t n, const double *x, double *y, int nt) nogil
    nk_status nk_relu_backward_f64(int64_t n, const double *g, const double *y, double *gi, int nt) nogil
    nk_status nk_leaky_relu_backward_f64(int64_t n, const double *g, const double *x, double *gi,
                                         double s, int nt) nogil
    nk_status nk_sigmoid_backward_f64(int64_t n, const double *g, const double *y, double *gi,
                                      int nt) nogil
    nk_status nk_tanh_backward_f64(int64_t n, const double *g, const double *y, double *gi,
                                   int nt) nogil
    nk_status nk_act_forward_ref_f32(nk_act_op op, int64_t n, const float *x, float *y,
                                     float s) nogil
    nk_status nk_act_backward_ref_f32(nk_act_op op, int64_t n, const float *g, const float *t,
                                      float *gi, float s) nogil
    nk_status nk_act_forward_ref_f64(nk_act_op op, int64_t n, const double *x, double *y,
                                     double s) nogil
    nk_status nk_act_backward_ref_f64(nk_act_op op, int64_t n, const double *g, const double *t,
                                      double *gi, double s) nogil

_ACT_OPS = {"relu": NK_ACT_RELU, "leaky_relu": NK_ACT_LEAKY_RELU,
            "sigmoid": NK_ACT_SIGMOID, "tanh": NK_ACT_TANH}


cdef int _act_check(str what, arrays, out) except -1:
    """Same float dtype, C-contiguous, equal sizes, writeable output."""
    cdef cnp.ndarray first = arrays[0]
    if first.dtype.num not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise TypeError(f"{what}: expected float32 or float64 arrays, got {first.dtype}")
    for a in list(arrays) + [out]:
        if not isinstance(a, cnp.ndarray):
            raise TypeError(f"{what}: expected numpy arrays")
        if (<cnp.ndarray>a).dtype.num != first.dtype.num:
            raise TypeError(f"{what}: all arrays must share one dtype")
        if not cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>a) or not (<cnp.ndarray>a).dtype.isnative:
            raise ValueError(f"{what}: arrays must be C-contiguous, aligned, native order")
        if cnp.PyArray_SIZE(<cnp.ndarray>a) != cnp.PyArray_SIZE(first):
            raise ValueError(f"{what}: arrays must have the same number of elements")
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>out):
        raise ValueError(f"{what}: output array is read-only")
    return 0


cdef object _act_fwd(int op, cnp.ndarray x, cnp.ndarray y, double slope, bint ref):
    _act_check("activation forward", (x,), y)
    cdef int64_t n = cnp.PyArray_SIZE(x)
    cdef int nt = num_threads()
    cdef nk_status st = NK_OK
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint f32 = x.dtype.num == cnp.NPY_FLOAT32
    with nogil:
        if ref:
            if f32:
                st = nk_act_forward_ref_f32(<nk_act_op>op, n, <float *>px, <float *>py, <float>slope)
            else:
                st = nk_act_forward_ref_f64(<nk_act_op>op, n, <double *>px, <double *>py, slope)
        elif f32:
            if op == NK_ACT_RELU:
                st = nk_relu_forward_f32(n, <float *>px, <float *>py, nt)
            elif op == NK_ACT_LEAKY_RELU:
                st = nk_leaky_relu_forward_f32(n, <float *>px, <float *>py, <float>slope, nt)
            elif op == NK_ACT_SIGMOID:
                st = nk_sigmoid_forward_f32(n, <float *>px, <float *>py, nt)
            else:
                st = nk_tanh_forward_f32(n, <float *>px, <float *>py, nt)
        else:
            if op == NK_ACT_RELU:
                st = nk_relu_forward_f64(n, <double *>px, <double *>py, nt)
            elif op == NK_ACT_LEAKY_RELU:
                st = nk_leaky_relu_forward_f64(n, <double *>px, <double *>py, slope, nt)
            elif op == NK_ACT_SIGMOID:
                st = nk_sigmoid_forward_f64(n, <double *>px, <double *>py, nt)
            else:
                st = nk_tanh_forward_f64(n, <double *>px, <double *>py, nt)
    check_status(st, "activation forward")
    return y


cdef object _act_bwd(int op, cnp.ndarray g, cnp.ndarray t, cnp.ndarray gi, double slope, bint ref):
    _act_check("activation backward", (g, t), gi)
    cdef int64_t n = cnp.PyArray_SIZE(g)
    cdef int nt = num_threads()
    cdef nk_status st = NK_OK
    cdef void *pg = cnp.PyArray_DATA(g)
    cdef void *pt = cnp.PyArray_DATA(t)
    cdef void *pi = cnp.PyArray_DATA(gi)
    cdef bint f32 = g.dtype.num == cnp.NPY_FLOAT32
    with nogil:
        if ref:
            if f32:
                st = nk_act_backward_ref_f32(<nk_act_op>op, n, <float *>pg, <float *>pt,
                                             <float *>pi, <float>slope)
            else:
                st = nk_act_backward_ref_f64(<nk_act_op>op, n, <double *>pg, <double *>pt,
                                             <double *>pi, slope)
        elif f32:
            if op == NK_ACT_RELU:
                st = nk_relu_backward_f32(n, <float *>pg, <float *>pt, <float *>pi, nt)
            elif op == NK_ACT_LEAKY_RELU:
                st = nk_leaky_relu_backward_f32(n, <float *>pg, <float *>pt, <float *>pi,
                                                <float>slope, nt)
            elif op == NK_ACT_SIGMOID:
                st = nk_sigmoid_backward_f32(n, <float *>pg, <float *>pt, <float *>pi, nt)
            else:
                st = nk_tanh_backward_f32(n, <float *>pg, <float *>pt, <float *>pi, nt)
        else:
            if op == NK_ACT_RELU:
                st = nk_relu_backward_f64(n, <double *>pg, <double *>pt, <double *>pi, nt)
            elif op == NK_ACT_LEAKY_RELU:
                st = nk_leaky_relu_backward_f64(n, <double *>pg, <double *>pt, <double *>pi,
                                                slope, nt)
            elif op == NK_ACT_SIGMOID:
                st = nk_sigmoid_backward_f64(n, <double *>pg, <double *>pt, <double *>pi, nt)
            else:
                st = nk_tanh_backward_f64(n, <double *>pg, <double *>pt, <double *>pi, nt)
    check_status(st, "activation backward")
    return gi


def act_relu_forward(cnp.ndarray x, cnp.ndarray y):
    return _act_fwd(NK_ACT_RELU, x, y, 0.0, False)


def act_leaky_relu_forward(cnp.ndarray x, cnp.ndarray y, double slope):
    return _act_fwd(NK_ACT_LEAKY_RELU, x, y, slope, False)


def act_sigmoid_forward(cnp.ndarray x, cnp.ndarray y):
    return _act_fwd(NK_ACT_SIGMOID, x, y, 0.0, False)


def act_tanh_forward(cnp.ndarray x, cnp.ndarray y):
    return _act_fwd(NK_ACT_TANH, x, y, 0.0, False)


def act_relu_backward(cnp.ndarray g, cnp.ndarray y, cnp.ndarray gi):
    return _act_bwd(NK_ACT_RELU, g, y, gi, 0.0, False)


def act_leaky_relu_backward(cnp.ndarray g, cnp.ndarray x, cnp.ndarray gi, double slope):
    return _act_bwd(NK_ACT_LEAKY_RELU, g, x, gi, slope, False)


def act_sigmoid_backward(cnp.ndarray g, cnp.ndarray y, cnp.ndarray gi):
    return _act_bwd(NK_ACT_SIGMOID, g, y, gi, 0.0, False)


def act_tanh_backward(cnp.ndarray g, cnp.ndarray y, cnp.ndarray gi):
    return _act_bwd(NK_ACT_TANH, g, y, gi, 0.0, False)


def act_forward_ref(str op, cnp.ndarray x, cnp.ndarray y, double slope=0.0):
    """Naive reference (tests' oracle): op in relu/leaky_relu/sigmoid/tanh."""
    return _act_fwd(_ACT_OPS[op], x, y, slope, True)


def act_backward_ref(str op, cnp.ndarray g, cnp.ndarray t, cnp.ndarray gi, double slope=0.0):
    return _act_bwd(_ACT_OPS[op], g, t, gi, slope, True)
