# _conv.pxi -- bindings for the conv2d kernels (csrc/nk_conv.h).
#
# Low-level: arrays must be 4-D, C-contiguous, one float dtype; geometry is
# explicit (top/left padding, output size).  nnkern.functional does the
# PyTorch-style argument handling on top.
import numpy as np

cdef extern from "nk_conv.h":
    ctypedef struct nk_conv2d_shape:
        int64_t N, C_in, H, W
        int64_t C_out, kH, kW
        int64_t OH, OW
        int64_t stride_h, stride_w
        int64_t pad_h, pad_w
        int64_t dil_h, dil_w
        int64_t groups
    nk_status nk_conv2d_check(const nk_conv2d_shape *s) nogil
    nk_status nk_conv2d_check_geometry(const nk_conv2d_shape *s, int allow_negative_pad) nogil
    int nk_conv_fwd_shift_ok(const nk_conv2d_shape *s) nogil
    void nk_conv_shift_enable(int on) nogil
    void nk_conv_winograd_enable(int on) nogil
    int nk_conv_winograd_enabled() nogil
    int nk_conv_fwd_winograd_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_bwd_weight_winograd_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_bwd_weight_shift_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_fwd_direct_px_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_fwd_direct_rows_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_fwd_shift_row_tiles(const nk_conv2d_shape *s) nogil
    int nk_conv_fwd_shift_row6(const nk_conv2d_shape *s) nogil
    int nk_conv_fwd_shift_stream(const nk_conv2d_shape *s) nogil
    int nk_conv_fwd_shift_images_per_task(const nk_conv2d_shape *s) nogil
    int nk_conv_bwd_data_phases_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_bwd_data_stem_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_bwd_weight_direct_ok(const nk_conv2d_shape *s) nogil
    int nk_conv_depthwise_ok(const nk_conv2d_shape *s, int pass_) nogil
    int nk_conv_depthwise_lanes_ok(const nk_conv2d_shape *s, int pass_) nogil
    void nk_conv_depthwise_lanes_enable(int on) nogil
    nk_status nk_conv2d_fwd_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                                const float *bias, float *y, int nthreads) nogil
    nk_status nk_conv2d_fwd_f64(const nk_conv2d_shape *s, const double *x, const double *w,
                                const double *bias, double *y, int nthreads) nogil
    nk_status nk_conv2d_bwd_data_f32(const nk_conv2d_shape *s, const float *dy, const float *w,
                                     float *dx, int nthreads) nogil
    nk_status nk_conv2d_bwd_data_f64(const nk_conv2d_shape *s, const double *dy,
                                     const double *w, double *dx, int nthreads) nogil
    nk_status nk_conv2d_bwd_weight_f32(const nk_conv2d_shape *s, const float *dy,
                                       const float *x, float *dw, int nthreads) nogil
    nk_status nk_conv2d_bwd_weight_f64(const nk_conv2d_shape *s, const double *dy,
                                       const double *x, double *dw, int nthreads) nogil
    nk_status nk_conv2d_bwd_bias_f32(const nk_conv2d_shape *s, const float *dy, float *db,
                                     int nthreads) nogil
    nk_status nk_conv2d_bwd_bias_f64(const nk_conv2d_shape *s, const double *dy, double *db,
                                     int nthreads) nogil
    nk_status nk_conv2d_fwd_ref_f32(const nk_conv2d_shape *s, const float *x, const float *w,
                                    const float *bias, float *y) nogil
    nk_status nk_conv2d_fwd_ref_f64(const nk_conv2d_shape *s, const double *x,
                                    const double *w, const double *bias, double *y) nogil
    nk_status nk_conv2d_bwd_data_ref_f32(const nk_conv2d_shape *s, const float *dy,
                                         const float *w, float *dx) nogil
    nk_status nk_conv2d_bwd_data_ref_f64(const nk_conv2d_shape *s, const double *dy,
                                         const double *w, double *dx) nogil
    nk_status nk_conv2d_bwd_weight_ref_f32(const nk_conv2d_shape *s, const float *dy,
                                           const float *x, float *dw) nogil
    nk_status nk_conv2d_bwd_weight_ref_f64(const nk_conv2d_shape *s, const double *dy,
                                           const double *x, double *dw) nogil
    nk_status nk_conv2d_bwd_bias_ref_f32(const nk_conv2d_shape *s, const float *dy,
                                         float *db) nogil
    nk_status nk_conv2d_bwd_bias_ref_f64(const nk_conv2d_shape *s, const double *dy,
                                         double *db) nogil


cdef object _conv_arr(object a, str name, object dtype):
    """Check a 4-D C-contiguous aligned array of `dtype` (the binding never
    copies: nnkern.functional makes the contiguous operands)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray")
    if a.dtype != dtype or dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64 matching the other operands, "
                        f"got {a.dtype}")
    if a.ndim != 4:
        raise ValueError(f"{name} must be 4-D, got shape {a.shape}")
    if not (a.flags.c_contiguous and a.flags.aligned and a.dtype.isnative):
        raise ValueError(f"{name} must be C-contiguous, aligned and native-endian")
    return a


cdef nk_conv2d_shape _conv_shape(int64_t N, int64_t C_in, int64_t H, int64_t W,
                                 int64_t C_out, int64_t kH, int64_t kW, int64_t OH, int64_t OW,
                                 tuple stride, tuple padding, tuple dilation,
                                 int64_t groups) except *:
    cdef nk_conv2d_shape s
    s.N = N; s.C_in = C_in; s.H = H; s.W = W
    s.C_out = C_out; s.kH = kH; s.kW = kW; s.OH = OH; s.OW = OW
    s.stride_h = stride[0]; s.stride_w = stride[1]
    s.pad_h = padding[0]; s.pad_w = padding[1]
    s.dil_h = dilation[0]; s.dil_w = dilation[1]
    s.groups = groups
    check_status(nk_conv2d_check(&s), "conv2d")
    return s


def conv_shift_enable(bint on):
    """Turn conv2d's shifted-rows paths (csrc/nk_conv_shift.c) on or off
    for the whole process; off, every shape takes the im2col path.  For
    tests that compare the two bit for bit."""
    nk_conv_shift_enable(on)


def conv_winograd_enable(bint on):
    """Turn conv2d's Winograd F(4x4, 3x3) path (csrc/nk_conv_winograd.c) on
    or off for the whole process (nnkern.set_conv_winograd)."""
    nk_conv_winograd_enable(on)


def conv_winograd_enabled():
    """True when the Winograd path is on (the default)."""
    return bool(nk_conv_winograd_enabled())


def conv2d_fwd_uses_winograd(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                             int64_t kH, int64_t kW, tuple stride, tuple padding,
                             tuple dilation, int64_t groups, int64_t OH, int64_t OW):
    """True when a float32 forward of this geometry, at the current ISA level
    and setting, takes the Winograd path; for tests."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_fwd_winograd_ok(&s))


def conv2d_bwd_weight_uses_winograd(int64_t N, int64_t C_in, int64_t H, int64_t W,
                                    int64_t C_out, int64_t kH, int64_t kW, tuple stride,
                                    tuple padding, tuple dilation, int64_t groups, int64_t OH,
                                    int64_t OW):
    """True when a float32 weight gradient of this geometry, at the current
    ISA level and setting, takes the Winograd path; for tests."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_bwd_weight_winograd_ok(&s))


def conv2d_bwd_weight_uses_shift(int64_t N, int64_t C_in, int64_t H, int64_t W,
                                 int64_t C_out, int64_t kH, int64_t kW, tuple stride,
                                 tuple padding, tuple dilation, int64_t groups, int64_t OH,
                                 int64_t OW):
    """True when a float32 weight gradient of this geometry, at the current
    ISA level, takes the path without im2col (csrc/nk_conv_shift.c: column
    stride 1 or 2, AVX2 and AVX-512 levels); for tests."""
    cdef nk_conv2d_shape s = _conv_shape(N, C_in, H, W, C_out, kH, kW, OH, OW,
                                         stride, padding, dilation, groups)
    return bool(nk_conv_bwd_weight_shift_ok(&s))


cdef nk_conv2d_shape _conv_geometry(int64_t N, int64_t C_in, int64_t H, int64_t W,
                                    int64_t C_out, int64_t kH, int64_t kW, tuple stride,
                                    tuple padding, tuple dilation, int64_t groups, int64_t OH,
                                    int64_t OW) except *:
    """A forward geometry for the path probes; negative padding allowed."""
    cdef nk_conv2d_shape s
    s.N = N; s.C_in = C_in; s.H = H; s.W = W
    s.C_out = C_out; s.kH = kH; s.kW = kW; s.OH = OH; s.OW = OW
    s.stride_h = stride[0]; s.stride_w = stride[1]
    s.pad_h = padding[0]; s.pad_w = padding[1]
    s.dil_h = dilation[0]; s.dil_w = dilation[1]
    s.groups = groups
    check_status(nk_conv2d_check_geometry(&s, 1), "conv2d")
    return s


def conv2d_fwd_uses_shift(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                          int64_t kH, int64_t kW, tuple stride, tuple padding, tuple dilation,
                          int64_t groups, int64_t OH, int64_t OW):
    """True when a float32 forward of this geometry, at the current ISA
    level, takes the shifted-rows path without im2col
    (csrc/nk_conv_shift.c); for tests, which must know they cover it.
    Negative padding (a crop) is allowed: stride-1 backward-data runs a
    forward whose padding is dilation*(k-1) - padding."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_fwd_shift_ok(&s))


def conv2d_fwd_uses_row_tiles(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                              int64_t kH, int64_t kW, tuple stride, tuple padding,
                              tuple dilation, int64_t groups, int64_t OH, int64_t OW):
    """True when that shifted-rows forward runs row-aligned tiles of 7-14
    pixels (AVX-512; csrc/nk_conv_shift.c has the rule); for tests."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_fwd_shift_row_tiles(&s))


def conv2d_fwd_uses_row6(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                         int64_t kH, int64_t kW, tuple stride, tuple padding, tuple dilation,
                         int64_t groups, int64_t OH, int64_t OW):
    """True when that shifted-rows forward runs row-aligned tiles of 4-6
    pixels (AVX2; csrc/nk_conv_shift.c has the rule); for tests."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_fwd_shift_row6(&s))


def conv2d_fwd_shift_images_per_task(int64_t N, int64_t C_in, int64_t H, int64_t W,
                                     int64_t C_out, int64_t kH, int64_t kW, tuple stride,
                                     tuple padding, tuple dilation, int64_t groups, int64_t OH,
                                     int64_t OW):
    """Images one task of that shifted-rows forward takes: 2 when a group's
    packed weights exceed 4 MiB, else 1; 0 when the path does not apply
    (csrc/nk_conv_shift.c); for tests."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return nk_conv_fwd_shift_images_per_task(&s)


def conv2d_fwd_uses_stream(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                           int64_t kH, int64_t kW, tuple stride, tuple padding,
                           tuple dilation, int64_t groups, int64_t OH, int64_t OW):
    """True when that shifted-rows forward writes its output with
    non-temporal stores (AVX-512, large outputs; csrc/nk_conv_shift.c); for
    tests."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_fwd_shift_stream(&s))


def conv2d_fwd_uses_direct_px(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                              int64_t kH, int64_t kW, tuple stride, tuple padding,
                              tuple dilation, int64_t groups, int64_t OH, int64_t OW):
    """True when a float32 forward of this geometry, at the current ISA
    level, takes the AVX-512 direct kernels of rows x 16 pixels (<= 8
    output channels per group at column stride 1 or 2, or 9-16 as two
    blocks of 8 at stride 1; csrc/nk_conv_direct_px_avx512.c); for tests.  Negative padding is
    allowed, as for conv2d_fwd_uses_shift."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_fwd_direct_px_ok(&s))


def conv2d_fwd_uses_direct_rows(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                                int64_t kH, int64_t kW, tuple stride, tuple padding,
                                tuple dilation, int64_t groups, int64_t OH, int64_t OW):
    """True when a float32 forward of this geometry, at the current ISA
    level, takes the AVX-512 whole-row tiles of the 16-channel direct kernel
    (rows of 6-11 pixels; csrc/nk_conv_direct_avx512.c); for tests."""
    cdef nk_conv2d_shape s = _conv_geometry(N, C_in, H, W, C_out, kH, kW, stride, padding,
                                            dilation, groups, OH, OW)
    return bool(nk_conv_fwd_direct_rows_ok(&s))


def conv2d_bwd_data_uses_phases(int64_t N, int64_t C_in, int64_t H, int64_t W,
                                int64_t C_out, int64_t kH, int64_t kW, tuple stride,
                                tuple padding, tuple dilation, int64_t groups, int64_t OH,
                                int64_t OW):
    """True when a float32 backward-data of this geometry (that of its
    forward), at the current ISA level, runs by output phases
    (nk_conv_bwd_data_phases); for tests."""
    cdef nk_conv2d_shape s = _conv_shape(N, C_in, H, W, C_out, kH, kW, OH, OW,
                                         stride, padding, dilation, groups)
    return bool(nk_conv_bwd_data_phases_ok(&s))


def conv2d_bwd_data_uses_stem(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                              int64_t kH, int64_t kW, tuple stride, tuple padding,
                              tuple dilation, int64_t groups, int64_t OH, int64_t OW):
    """True when a float32 backward-data of this geometry, at the current
    ISA level, runs on the stride-2 stem kernels (nk_conv_bwd_data_stem.c);
    for tests."""
    cdef nk_conv2d_shape s = _conv_shape(N, C_in, H, W, C_out, kH, kW, OH, OW,
                                         stride, padding, dilation, groups)
    return bool(nk_conv_bwd_data_stem_ok(&s))


def conv2d_bwd_weight_uses_direct(int64_t N, int64_t C_in, int64_t H, int64_t W,
                                  int64_t C_out, int64_t kH, int64_t kW, tuple stride,
                                  tuple padding, tuple dilation, int64_t groups, int64_t OH,
                                  int64_t OW):
    """True when a float32 weight gradient of this geometry, at the current
    ISA level, takes the direct kernels for few output channels
    (nk_conv_bwd_weight_direct_f32, csrc/nk_conv_direct_avx2.c; AVX2 and
    AVX-512 levels, unless Winograd takes it first); for tests."""
    cdef nk_conv2d_shape s = _conv_shape(N, C_in, H, W, C_out, kH, kW, OH, OW,
                                         stride, padding, dilation, groups)
    return bool(nk_isa_active() == NK_ISA_AVX2 and nk_conv_bwd_weight_direct_ok(&s))


def conv2d_uses_depthwise(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                          int64_t kH, int64_t kW, tuple stride, tuple padding, tuple dilation,
                          int64_t groups, int64_t OH, int64_t OW, int pass_):
    """True when pass_ (0 forward, 1 backward-data, 2 weight gradient) of
    this geometry, at the current ISA level, runs by the depthwise planes
    (csrc/nk_conv_depthwise.c); for tests."""
    cdef nk_conv2d_shape s = _conv_shape(N, C_in, H, W, C_out, kH, kW, OH, OW,
                                         stride, padding, dilation, groups)
    return bool(nk_conv_depthwise_ok(&s, pass_))


def conv2d_depthwise_lanes(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out,
                           int64_t kH, int64_t kW, tuple stride, tuple padding, tuple dilation,
                           int64_t groups, int64_t OH, int64_t OW, int pass_):
    """True when pass_ (0 forward, 1 backward-data with finite weights, 2
    weight gradient) of this geometry, at the current ISA level, runs by
    channel lanes (csrc/nk_conv_depthwise.c); for tests."""
    cdef nk_conv2d_shape s = _conv_shape(N, C_in, H, W, C_out, kH, kW, OH, OW,
                                         stride, padding, dilation, groups)
    return bool(nk_conv_depthwise_lanes_ok(&s, pass_))


def conv_depthwise_lanes_enable(bint on):
    """Turn the depthwise channel lanes on or off for the whole process;
    off, every pass goes by planes (or the other paths).  For tests that run
    both."""
    nk_conv_depthwise_lanes_enable(on)


cdef inline const void *_ptr_or_null(object a):
    return NULL if a is None else cnp.PyArray_DATA(a)


def _empty_aligned(tuple shape, dt):
    """np.empty(shape, dt) whose data starts on a 64-byte boundary (NumPy
    gives 16): the forward's channel planes then start on cache lines, which
    the non-temporal stores of large outputs need.  A C-contiguous view of
    a byte buffer."""
    n = 1  # a Python int: no wrap-around
    for d in shape:
        n *= d
    nbytes = n * np.dtype(dt).itemsize
    buf = np.empty(nbytes + 64, dtype=np.uint8)
    off = (-buf.ctypes.data) % 64
    return buf[off:off + nbytes].view(dt).reshape(shape)


def conv2d_fwd(x, w, bias, tuple stride, tuple padding, tuple dilation, int64_t groups,
               int64_t OH, int64_t OW, bint ref=False):
    """y[N, C_out, OH, OW] = conv(x[N, C_in, H, W], w[C_out, C_in/groups, kH, kW]) + bias.
    padding = (top, left); OH/OW explicit (bottom/right padding implied)."""
    dt = x.dtype
    _conv_arr(x, "input", dt)
    _conv_arr(w, "weight", dt)
    cdef nk_conv2d_shape s = _conv_shape(x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                                         w.shape[0], w.shape[2], w.shape[3], OH, OW,
                                         stride, padding, dilation, groups)
    if w.shape[1] * groups != x.shape[1]:
        raise ValueError("conv2d: weight.shape[1] * groups must equal input.shape[1]")
    if bias is not None:
        if not isinstance(bias, np.ndarray) or bias.dtype != dt or bias.ndim != 1 \
                or bias.shape[0] != w.shape[0] or not bias.flags.c_contiguous \
                or not bias.flags.aligned:
            raise ValueError("conv2d: bias must be a contiguous 1-D array of length C_out")
    y = _empty_aligned((s.N, s.C_out, OH, OW), dt)
    cdef const void *px = cnp.PyArray_DATA(x)
    cdef const void *pw = cnp.PyArray_DATA(w)
    cdef const void *pb = _ptr_or_null(bias)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int nt = num_threads()
    cdef bint f32 = dt == np.float32
    cdef nk_status st
    with nogil:
        if ref:
            if f32:
                st = nk_conv2d_fwd_ref_f32(&s, <const float *>px, <const float *>pw,
                                           <const float *>pb, <float *>py)
            else:
                st = nk_conv2d_fwd_ref_f64(&s, <const double *>px, <const double *>pw,
                                           <const double *>pb, <double *>py)
        elif f32:
            st = nk_conv2d_fwd_f32(&s, <const float *>px, <const float *>pw, <const float *>pb,
                                   <float *>py, nt)
        else:
            st = nk_conv2d_fwd_f64(&s, <const double *>px, <const double *>pw,
                                   <const double *>pb, <double *>py, nt)
    check_status(st, "conv2d")
    return y


def conv2d_bwd_data(dy, w, int64_t H, int64_t W, tuple stride, tuple padding,
                    tuple dilation, int64_t groups, bint ref=False):
    """dx[N, C_in, H, W] from dy[N, C_out, OH, OW] and w[C_out, C_in/groups, kH, kW]."""
    dt = dy.dtype
    _conv_arr(dy, "grad_output", dt)
    _conv_arr(w, "weight", dt)
    if w.shape[0] != dy.shape[1]:
        raise ValueError("conv2d_backward: weight.shape[0] must equal grad_output.shape[1]")
    cdef nk_conv2d_shape s = _conv_shape(dy.shape[0], w.shape[1] * groups, H, W,
                                         w.shape[0], w.shape[2], w.shape[3],
                                         dy.shape[2], dy.shape[3],
                                         stride, padding, dilation, groups)
    dx = _empty_aligned((s.N, s.C_in, H, W), dt)
    cdef const void *pdy = cnp.PyArray_DATA(dy)
    cdef const void *pw = cnp.PyArray_DATA(w)
    cdef void *pdx = cnp.PyArray_DATA(dx)
    cdef int nt = num_threads()
    cdef bint f32 = dt == np.float32
    cdef nk_status st
    with nogil:
        if ref:
            if f32:
                st = nk_conv2d_bwd_data_ref_f32(&s, <const float *>pdy, <const float *>pw,
                                                <float *>pdx)
            else:
                st = nk_conv2d_bwd_data_ref_f64(&s, <const double *>pdy, <const double *>pw,
                                                <double *>pdx)
        elif f32:
            st = nk_conv2d_bwd_data_f32(&s, <const float *>pdy, <const float *>pw,
                                        <float *>pdx, nt)
        else:
            st = nk_conv2d_bwd_data_f64(&s, <const double *>pdy, <const double *>pw,
                                        <double *>pdx, nt)
    check_status(st, "conv2d_backward")
    return dx


def conv2d_bwd_weight(dy, x, int64_t kH, int64_t kW, tuple stride, tuple padding,
                      tuple dilation, int64_t groups, bint ref=False):
    """dw[C_out, C_in/groups, kH, kW] from dy[N, C_out, OH, OW] and x[N, C_in, H, W]."""
    dt = dy.dtype
    _conv_arr(dy, "grad_output", dt)
    _conv_arr(x, "input", dt)
    if x.shape[0] != dy.shape[0]:
        raise ValueError("conv2d_backward: input and grad_output batch sizes differ")
    cdef nk_conv2d_shape s = _conv_shape(x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                                         dy.shape[1], kH, kW, dy.shape[2], dy.shape[3],
                                         stride, padding, dilation, groups)
    dw = np.empty((s.C_out, s.C_in // groups, kH, kW), dtype=dt)
    cdef const void *pdy = cnp.PyArray_DATA(dy)
    cdef const void *px = cnp.PyArray_DATA(x)
    cdef void *pdw = cnp.PyArray_DATA(dw)
    cdef int nt = num_threads()
    cdef bint f32 = dt == np.float32
    cdef nk_status st
    with nogil:
        if ref:
            if f32:
                st = nk_conv2d_bwd_weight_ref_f32(&s, <const float *>pdy, <const float *>px,
                                                  <float *>pdw)
            else:
                st = nk_conv2d_bwd_weight_ref_f64(&s, <const double *>pdy, <const double *>px,
                                                  <double *>pdw)
        elif f32:
            st = nk_conv2d_bwd_weight_f32(&s, <const float *>pdy, <const float *>px,
                                          <float *>pdw, nt)
        else:
            st = nk_conv2d_bwd_weight_f64(&s, <const double *>pdy, <const double *>px,
                                          <double *>pdw, nt)
    check_status(st, "conv2d_backward")
    return dw


def conv2d_bwd_bias(dy, bint ref=False):
    """db[C_out] = dy summed over N, OH, OW."""
    dt = dy.dtype
    _conv_arr(dy, "grad_output", dt)
    cdef nk_conv2d_shape s = _conv_shape(dy.shape[0], 1, 1, 1, dy.shape[1], 1, 1,
                                         dy.shape[2], dy.shape[3], (1, 1), (0, 0), (1, 1), 1)
    db = np.empty((s.C_out,), dtype=dt)
    cdef const void *pdy = cnp.PyArray_DATA(dy)
    cdef void *pdb = cnp.PyArray_DATA(db)
    cdef int nt = num_threads()
    cdef bint f32 = dt == np.float32
    cdef nk_status st
    with nogil:
        if ref:
            if f32:
                st = nk_conv2d_bwd_bias_ref_f32(&s, <const float *>pdy, <float *>pdb)
            else:
                st = nk_conv2d_bwd_bias_ref_f64(&s, <const double *>pdy, <double *>pdb)
        elif f32:
            st = nk_conv2d_bwd_bias_f32(&s, <const float *>pdy, <float *>pdb, nt)
        else:
            st = nk_conv2d_bwd_bias_f64(&s, <const double *>pdy, <double *>pdb, nt)
    check_status(st, "conv2d_backward")
    return db


def conv2d_fwd_ref(x, w, bias, stride, padding, dilation, groups, OH, OW):
    """Naive reference of conv2d_fwd (tests' oracle)."""
    return conv2d_fwd(x, w, bias, stride, padding, dilation, groups, OH, OW, True)


def conv2d_bwd_data_ref(dy, w, H, W, stride, padding, dilation, groups):
    """Naive reference of conv2d_bwd_data."""
    return conv2d_bwd_data(dy, w, H, W, stride, padding, dilation, groups, True)


def conv2d_bwd_weight_ref(dy, x, kH, kW, stride, padding, dilation, groups):
    """Naive reference of conv2d_bwd_weight."""
    return conv2d_bwd_weight(dy, x, kH, kW, stride, padding, dilation, groups, True)


def conv2d_bwd_bias_ref(dy):
    """Naive reference of conv2d_bwd_bias."""
    return conv2d_bwd_bias(dy, True)
