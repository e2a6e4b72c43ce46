"""Argument fuzzing of every public function of nnkern.functional and every
layer of nnkern.nn.

Contract checked on every call: it returns what a float64 NumPy reference
returns (tests/_fuzz_ref.py), or raises TypeError/ValueError/MemoryError
with a message.  It never crashes or hangs (a faulthandler watchdog kills
the run with a traceback after WATCHDOG seconds), and it never writes
outside its output: every input lives in a larger buffer whose bytes
(input, gaps of strided views and guard bytes around it) are compared
before and after the call, and outputs given by the caller (matmul's
``out=``, in-place activations) sit between guard bytes.

Profiles: the default (CI) runs a few hundred examples per test; set
NNKERN_HYPOTHESIS_PROFILE=long for a local soak (x25), or
NNKERN_FUZZ_EXAMPLES=N for an explicit count per test.  With
NNKERN_FUZZ_STATS=path the number of calls and seconds are appended there.
"""
import faulthandler
import inspect
import math
import os
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import nnkern
import nnkern.functional as F
from nnkern import nn
import _fuzz_ref as R

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

LONG = os.environ.get("NNKERN_HYPOTHESIS_PROFILE") == "long"
SCALE = 25 if LONG else 1
WATCHDOG = 600 if LONG else 120
HAS_POOL = hasattr(F, "max_pool2d")
ALLOWED = (TypeError, ValueError, MemoryError)

_STATS = {"calls": 0, "t0": time.perf_counter()}


def examples(n):
    env = os.environ.get("NNKERN_FUZZ_EXAMPLES")
    # CI: derandomized, no example database.  Long: random, failures saved in
    # the default database (.hypothesis/) and printed with a reproduce blob.
    extra = {} if LONG else {"database": None}
    return settings(max_examples=int(env) if env else n * SCALE, deadline=None,
                    derandomize=not LONG, print_blob=True,
                    suppress_health_check=list(HealthCheck), **extra)


@pytest.fixture(autouse=True)
def watchdog():
    """A call that hangs kills the run with every thread's traceback."""
    # the real stderr: pytest's --capture=sys stand-in has no file descriptor
    faulthandler.dump_traceback_later(WATCHDOG, exit=True, file=sys.__stderr__)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module", autouse=True)
def fuzz_stats():
    t0 = time.perf_counter()
    yield
    path = os.environ.get("NNKERN_FUZZ_STATS")
    if path:
        with open(path, "a") as f:
            f.write(f"fuzz calls={_STATS['calls']} seconds={time.perf_counter() - t0:.1f}\n")


# --------------------------------------------------------------------------
# Guarded buffers
# --------------------------------------------------------------------------
GUARD = 64  # guard bytes on each side


class Guarded:
    """An array of given values inside a larger byte buffer: contiguous,
    Fortran, every-other-element, reversed, read-only or misaligned (odd
    byte offset).  check() verifies that no byte outside `view` changed
    (and, with inputs=True, that nothing changed at all)."""

    def __init__(self, values, layout):
        values = np.asarray(values)
        dt = values.dtype
        n = max(values.size, 1)
        item = dt.itemsize
        step = 2 if layout == "strided" else 1
        offset = 1 if layout == "misaligned" else 0
        nbytes = GUARD * 2 + n * step * item + offset + item
        self.buf = np.frombuffer(np.random.default_rng(n).bytes(nbytes), np.uint8).copy()
        start = GUARD + offset
        if layout == "misaligned":
            flat = np.frombuffer(self.buf.data, dt, count=values.size, offset=start)
        else:
            base = np.frombuffer(self.buf.data, dt, count=n * step, offset=start)
            flat = base[::step][:values.size]
        if layout == "fortran" and values.ndim >= 2:
            view = flat.reshape(values.shape[::-1]).T
        elif layout == "reversed" and values.ndim >= 1:
            view = flat.reshape(values.shape)[..., ::-1]
        else:
            view = flat.reshape(values.shape)
        view[...] = values
        if layout == "readonly":
            view.flags.writeable = False
        self.view = view
        self.before = self.buf.copy()
        # byte mask of the view's elements
        self.inside = np.zeros(self.buf.shape, bool)
        if view.size:
            addr0 = self.buf.ctypes.data
            off = view.ctypes.data - addr0
            if view.ndim:
                idx = np.indices(view.shape).reshape(view.ndim, -1)
                off = (np.asarray(view.strides).reshape(-1, 1) * idx).sum(0) + off
            for b in range(item):
                self.inside[off + b] = True

    def check_untouched(self, what):
        assert np.array_equal(self.buf, self.before), f"{what}: an input was written to"

    def check_outside(self, what):
        changed = self.buf != self.before
        assert not (changed & ~self.inside).any(), f"{what}: wrote outside its output"


LAYOUTS = ["c", "c", "fortran", "strided", "reversed", "readonly", "misaligned"]


def arrays(draw, shape, dtype, nonfinite=False, scale=1.0):
    r = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = (r.standard_normal(shape) * scale).astype(dtype)
    if nonfinite and a.size:
        for _ in range(draw(st.integers(1, 3))):
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(
                [np.nan, np.inf, -np.inf]))
    return a


def place(draw, values):
    """Guarded copy of `values` in a drawn layout (or a nested list when the
    dtype is float64: lists convert to float64)."""
    listable = (values.dtype == np.float64 and values.size < 200
                and np.asarray(values.tolist()).shape == values.shape)  # [] loses (0, 3)
    layout = draw(st.sampled_from(LAYOUTS + (["list"] if listable else [])))
    if layout == "list":
        return None, values.tolist()
    g = Guarded(values, layout)
    return g, g.view


def call(fn, *args, **kw):
    """Run fn; return (result, None) or (None, allowed exception)."""
    _STATS["calls"] += 1
    try:
        return fn(*args, **kw), None
    except ALLOWED as exc:
        assert str(exc), f"{type(exc).__name__} without a message"
        return None, exc


def tol(dtype, k):
    """Tolerance for a sum of k products of O(1) terms."""
    k = max(k, 1)
    return (2e-5 * math.sqrt(k) + 1e-6 * k) if dtype == np.float32 else 1e-12 * k


def close(got, ref, dtype, k, what):
    ref = np.asarray(ref, np.float64)
    assert isinstance(got, np.ndarray), f"{what}: returned {type(got).__name__}"
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    assert got.dtype == dtype, f"{what}: dtype {got.dtype} != {dtype}"
    g = got.astype(np.float64)
    assert np.array_equal(np.isnan(g), np.isnan(ref)), f"{what}: NaN pattern differs"
    fin = np.isfinite(ref)
    assert np.array_equal(g[~fin & ~np.isnan(ref)], ref[~fin & ~np.isnan(ref)]), \
        f"{what}: Inf differs"
    t = tol(dtype, k)
    np.testing.assert_allclose(g[fin], ref[fin], rtol=t, atol=t, err_msg=what)


DTYPES = st.sampled_from([np.float32, np.float64])
EDGE = st.one_of(st.integers(0, 3), st.sampled_from([5, 6, 7, 8, 9, 15, 16, 17]))


# --------------------------------------------------------------------------
# Dense: matmul (with out= between guard bytes), gemm, linear, backward
# --------------------------------------------------------------------------
@examples(60)
@given(st.data(), EDGE, EDGE, EDGE, DTYPES, st.booleans(), st.booleans())
def test_fuzz_matmul(data, M, K, N, dt, nonfinite, use_out):
    a = arrays(data.draw, (M, K), dt, nonfinite)
    b = arrays(data.draw, (K, N), dt)
    ga, va = place(data.draw, a)
    gb, vb = place(data.draw, b)
    kw = {}
    gout = None
    if use_out:
        gout = Guarded(np.zeros((M, N), dt), data.draw(st.sampled_from(
            ["c", "fortran", "strided", "reversed", "misaligned"])))
        kw["out"] = gout.view
    got, err = call(F.matmul, va, vb, **kw)
    for g in (ga, gb):
        if g:
            g.check_untouched("matmul")
    if gout:
        gout.check_outside("matmul out=")
    assert err is None, err
    if use_out:
        assert got is gout.view
    rdt = np.float64 if isinstance(va, list) or isinstance(vb, list) else dt
    if rdt != dt:
        return  # list (float64) with a float32 array: a TypeError was expected
    close(got, a.astype(np.float64) @ b, dt, K, "matmul")


@examples(40)
@given(st.data(), EDGE, EDGE, EDGE, DTYPES, st.booleans(), st.booleans(),
       st.sampled_from([0.0, 1.0, -2.5]), st.sampled_from([0.0, 1.0, 0.5]),
       st.sampled_from(["full", "row", "col", "scalar", None]))
def test_fuzz_gemm(data, M, K, N, dt, ta, tb, alpha, beta, cshape, ):
    a = arrays(data.draw, (K, M) if ta else (M, K), dt)
    b = arrays(data.draw, (N, K) if tb else (K, N), dt)
    c = None
    if cshape is not None:
        shape = {"full": (M, N), "row": (1, N), "col": (M, 1), "scalar": ()}[cshape]
        c = arrays(data.draw, shape, dt, nonfinite=data.draw(st.booleans()))
    gs = [place(data.draw, x) if x is not None else (None, None) for x in (a, b, c)]
    args = [v for _, v in gs]
    got, err = call(F.gemm, args[0], args[1], args[2], alpha, beta, ta, tb)
    for g, _ in gs:
        if g:
            g.check_untouched("gemm")
    if any(isinstance(v, list) for v in args) and dt == np.float32:
        assert isinstance(err, TypeError) or err is None
        return
    assert err is None, err
    opa = (a.T if ta else a).astype(np.float64)
    opb = (b.T if tb else b).astype(np.float64)
    ref = alpha * (opa @ opb)
    if c is not None and beta != 0:
        ref = ref + beta * np.broadcast_to(c.astype(np.float64), (M, N))
    close(got, ref, dt, K + 1, "gemm")


@examples(40)
@given(st.data(), st.lists(st.integers(0, 4), max_size=3), EDGE, EDGE, DTYPES,
       st.booleans(), st.booleans())
def test_fuzz_linear_and_backward(data, lead, fin, fout, dt, with_bias, nonfinite):
    x = arrays(data.draw, (*lead, fin), dt, nonfinite)
    w = arrays(data.draw, (fout, fin), dt)
    b = arrays(data.draw, (fout,), dt) if with_bias else None
    g = arrays(data.draw, (*lead, fout), dt)
    gx, vx = place(data.draw, x)
    gw, vw = place(data.draw, w)
    gb, vb = place(data.draw, b) if b is not None else (None, None)
    gg, vg = place(data.draw, g)
    mixed = dt == np.float32 and any(isinstance(v, list) for v in (vx, vw, vb, vg))
    y, err = call(F.linear, vx, vw, vb)
    if mixed and err is not None:
        assert isinstance(err, TypeError)
    else:
        assert err is None, err
        ref = x.astype(np.float64) @ w.T.astype(np.float64)
        if b is not None:
            ref = ref + b
        close(y, ref, dt, fin + 1, "linear")
    grads, err = call(F.linear_backward, vg, vx, vw)
    for gd in (gx, gw, gb, gg):
        if gd:
            gd.check_untouched("linear")
    if mixed and err is not None:
        assert isinstance(err, TypeError)
        return
    assert err is None, err
    rows = math.prod(lead)
    g2 = g.reshape(rows, fout).astype(np.float64)
    x2 = x.reshape(rows, fin).astype(np.float64)
    close(grads[0], (g2 @ w.astype(np.float64)).reshape(x.shape), dt, fout, "grad_input")
    close(grads[1], g2.T @ x2, dt, rows, "grad_weight")
    close(grads[2], g2.sum(0), dt, rows, "grad_bias")


# --------------------------------------------------------------------------
# Convolutions (forward and backward) against the tap-wise reference
# --------------------------------------------------------------------------
@st.composite
def conv_geometry(draw, transposed=False):
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    H, W = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    N = draw(st.sampled_from([0, 1, 1, 2]))
    return dict(N=N, cin=cin, cout=cout, k=k, s=s, d=d, p=p, H=H, W=W, groups=groups)


def _as_arg(pair, draw):
    """Geometry pair as an int (if equal), tuple or list."""
    form = draw(st.sampled_from(["tuple", "list", "int"]))
    if form == "int" and pair[0] == pair[1]:
        return pair[0]
    return list(pair) if form == "list" else tuple(pair)


@examples(60)
@given(st.data(), conv_geometry(), DTYPES, st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from([None, None, "same", "valid"]))
def test_fuzz_conv2d_and_backward(data, G, dt, with_bias, unbatched, nonfinite, mode):
    if mode == "same":
        G["s"] = (1, 1)
    if mode == "valid":
        G["p"] = (0, 0)
    if unbatched:
        G["N"] = 1
    k, s, p, d = G["k"], G["s"], G["p"], G["d"]
    if mode == "same":
        p = tuple(d[i] * (k[i] - 1) // 2 for i in range(2))
        OH, OW = G["H"], G["W"]
    else:
        OH = R.conv_out(G["H"], k[0], s[0], p[0], d[0])
        OW = R.conv_out(G["W"], k[1], s[1], p[1], d[1])
    x = arrays(data.draw, (G["N"], G["cin"], G["H"], G["W"]), dt, nonfinite)
    w = arrays(data.draw, (G["cout"], G["cin"] // G["groups"], *k), dt)
    b = arrays(data.draw, (G["cout"],), dt) if with_bias else None
    xin = x[0] if unbatched else x
    gx, vx = place(data.draw, xin)
    gw, vw = place(data.draw, w)
    gb, vb = place(data.draw, b) if b is not None else (None, None)
    padding = mode if mode else _as_arg(p, data.draw)
    kw = dict(stride=_as_arg(s, data.draw), padding=padding,
              dilation=_as_arg(d, data.draw), groups=G["groups"])
    y, err = call(F.conv2d, vx, vw, vb, **kw)
    mixed = dt == np.float32 and any(isinstance(v, list) for v in (vx, vw, vb))
    if OH < 1 or OW < 1:
        assert isinstance(err, ValueError), (err, OH, OW)
        return
    if mixed:
        assert isinstance(err, TypeError) or err is None
        return
    assert err is None, err
    K = G["cin"] // G["groups"] * k[0] * k[1]
    ref = R.conv2d(x, w, b, s, p, d, G["groups"], OH, OW)
    close(y, ref[0] if unbatched else ref, dt, K + 1, "conv2d")
    gy = arrays(data.draw, ref.shape, dt)
    ggy, vgy = place(data.draw, gy[0] if unbatched else gy)
    if isinstance(vgy, list) and dt == np.float32:
        return
    grads, err = call(F.conv2d_backward, vgy, vx, vw, **kw)
    for g in (gx, gw, gb, ggy):
        if g:
            g.check_untouched("conv2d")
    assert err is None, err
    gi = R.conv2d_bwd_data(gy, w, G["H"], G["W"], s, p, d, G["groups"])
    close(grads[0], gi[0] if unbatched else gi, dt, G["cout"] * k[0] * k[1], "conv grad_input")
    if not nonfinite:
        close(grads[1], R.conv2d_bwd_weight(gy, x, *k, s, p, d, G["groups"]), dt,
              G["N"] * OH * OW, "conv grad_weight")
    close(grads[2], gy.sum((0, 2, 3)), dt, G["N"] * OH * OW, "conv grad_bias")


@examples(50)
@given(st.data(), conv_geometry(), DTYPES, st.booleans(), st.booleans())
def test_fuzz_conv_transpose2d_and_backward(data, G, dt, with_bias, nonfinite):
    k, s, p, d = G["k"], G["s"], G["p"], G["d"]
    op = (data.draw(st.integers(0, max(s[0], d[0]) - 1)),
          data.draw(st.integers(0, max(s[1], d[1]) - 1)))
    OH = R.conv_transpose_out(G["H"], k[0], s[0], p[0], d[0], op[0])
    OW = R.conv_transpose_out(G["W"], k[1], s[1], p[1], d[1], op[1])
    # weight (C_in, C_out/groups, kH, kW); input has C_in channels
    x = arrays(data.draw, (G["N"], G["cin"], G["H"], G["W"]), dt, nonfinite)
    w = arrays(data.draw, (G["cin"], G["cout"] // G["groups"], *k), dt)
    b = arrays(data.draw, (G["cout"],), dt) if with_bias else None
    gx, vx = place(data.draw, x)
    gw, vw = place(data.draw, w)
    kw = dict(stride=_as_arg(s, data.draw), padding=_as_arg(p, data.draw),
              output_padding=_as_arg(op, data.draw), groups=G["groups"],
              dilation=_as_arg(d, data.draw))
    y, err = call(F.conv_transpose2d, vx, vw, b, **kw)
    if isinstance(vx, list) != isinstance(vw, list) and dt == np.float32:
        assert isinstance(err, TypeError)
        return
    if OH < 1 or OW < 1:
        assert isinstance(err, ValueError), (err, OH, OW)
        return
    assert err is None, err
    ref = R.conv2d_bwd_data(x, w, OH, OW, s, p, d, G["groups"])
    if b is not None:
        ref = ref + b.reshape(1, -1, 1, 1)
    close(y, ref, dt, G["cin"] * k[0] * k[1] + 1, "conv_transpose2d")
    gy = arrays(data.draw, ref.shape, dt)
    grads, err = call(F.conv_transpose2d_backward, gy, vx, vw, **kw)
    for g in (gx, gw):
        if g:
            g.check_untouched("conv_transpose2d")
    assert err is None, err
    close(grads[0], R.conv2d(gy, w, None, s, p, d, G["groups"], G["H"], G["W"]), dt,
          G["cout"] * k[0] * k[1], "convT grad_input")
    if not nonfinite:
        close(grads[1], R.conv2d_bwd_weight(x, gy, *k, s, p, d, G["groups"]), dt,
              G["N"] * G["H"] * G["W"], "convT grad_weight")
    close(grads[2], gy.sum((0, 2, 3)), dt, G["N"] * OH * OW, "convT grad_bias")


# Geometry at and beyond the limits: values near 2**31, 2**62, 2**63, 2**64.
# The output stays small or the call fails up front; the reference never
# materializes the padding, so valid results are still compared.
HUGE = st.sampled_from([0, 1, 2, 3, 2**31 - 1, 2**31, 2**32 + 1, 2**40, 2**61, 2**62,
                        2**63 - 1, 2**63, 2**64, -1, -(2**31), -(2**63), -(2**63) - 1])


@examples(80)
@given(st.data(), HUGE, HUGE, HUGE, HUGE, DTYPES, st.booleans())
def test_fuzz_conv_geometry_limits(data, s, p, d, op, dt, transposed):
    x = arrays(data.draw, (1, 2, 5, 4), dt)
    w = arrays(data.draw, (2, 2, 3, 2), dt)
    k = (3, 2)
    args = dict(stride=(s, data.draw(st.sampled_from([1, s]))),
                padding=(p, data.draw(st.sampled_from([0, p]))),
                dilation=(d, data.draw(st.sampled_from([1, d]))))
    S, P, D = args["stride"], args["padding"], args["dilation"]
    gx, gw = Guarded(x, "c"), Guarded(w, "c")
    if transposed:
        args["output_padding"] = (op, 0)
        y, err = call(F.conv_transpose2d, gx.view, gw.view, None, **args)
    else:
        y, err = call(F.conv2d, gx.view, gw.view, None, **args)
    gx.check_untouched("conv geometry")
    gw.check_untouched("conv geometry")
    if err is not None:
        return
    # success: the geometry must have been valid, and the result right
    assert min(S) >= 1 and min(D) >= 1 and min(P) >= 0
    if transposed:
        OH, OW = (R.conv_transpose_out(x.shape[2 + i], k[i], S[i], P[i], D[i], (op, 0)[i])
                  for i in range(2))
        assert y.shape == (1, 2, OH, OW)
        if y.size <= 10**5:
            close(y, R.conv2d_bwd_data(x, w, OH, OW, S, P, D, 1), dt, 13, "convT limits")
    else:
        OH, OW = (R.conv_out(x.shape[2 + i], k[i], S[i], P[i], D[i]) for i in range(2))
        assert y.shape == (1, 2, OH, OW)
        if y.size <= 10**5:
            close(y, R.conv2d(x, w, None, S, P, D, 1, OH, OW), dt, 13, "conv limits")


# --------------------------------------------------------------------------
# Activations (any shape; in place between guard bytes)
# --------------------------------------------------------------------------
def _sig(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


ACT_REF = {
    "relu": lambda x, s: np.where(np.isnan(x), x, np.maximum(x, 0)),
    "leaky_relu": lambda x, s: np.where(x > 0, x, x * s),
    "sigmoid": lambda x, s: _sig(x),
    "tanh": lambda x, s: np.tanh(x),
}
ACT_BWD_REF = {
    "relu": lambda g, t, s: np.where(t > 0, g, 0.0) + np.where(np.isnan(t), g, 0.0),
    "leaky_relu": lambda g, t, s: np.where(t > 0, g, g * s),
    "sigmoid": lambda g, t, s: g * t * (1 - t),
    "tanh": lambda g, t, s: g * (1 - t * t),
}
ACT_SHAPES = st.one_of(
    st.lists(st.integers(0, 6), max_size=4).map(tuple),
    st.sampled_from([(7,), (8,), (9,), (15,), (16,), (17,), (31,), (33,), (8191,), (8193,),
                     (3, 8192 * 8 + 5)]))


@examples(80)
@given(st.data(), st.sampled_from(list(ACT_REF)), ACT_SHAPES, DTYPES, st.booleans(),
       st.booleans(), st.sampled_from([0.01, 0.0, -1.5, 3.0]))
def test_fuzz_activations(data, name, shape, dt, nonfinite, inplace, slope):
    x = arrays(data.draw, shape, dt, nonfinite, scale=4.0)
    kw = {"negative_slope": slope} if name == "leaky_relu" else {}
    ref = ACT_REF[name](x.astype(np.float64), slope)
    if name in ("relu", "leaky_relu") and inplace:
        g = Guarded(x, data.draw(st.sampled_from(["c", "strided", "reversed", "fortran",
                                                   "misaligned"])))
        got, err = call(getattr(F, name + "_"), g.view, **kw)
        g.check_outside(name + "_")
        assert err is None, err
        assert got is g.view
    else:
        gx, vx = place(data.draw, x)
        got, err = call(getattr(F, name), vx, **kw)
        if gx:
            gx.check_untouched(name)
        assert err is None, err
        if isinstance(vx, list):
            dt = np.float64
    t = 1e-6 if dt == np.float32 else 1e-14
    assert got.shape == ref.shape and got.dtype == dt
    g64 = got.astype(np.float64)
    assert np.array_equal(np.isnan(g64), np.isnan(ref)), name
    np.testing.assert_allclose(g64, ref, rtol=t, atol=t, err_msg=name)
    # backward
    gr = arrays(data.draw, shape, dt)
    t_in = x if name == "leaky_relu" else ACT_REF[name](x, slope).astype(dt)
    kw_b = {"negative_slope": slope} if name == "leaky_relu" else {}
    ggr, vgr = place(data.draw, gr)
    gt, vt = place(data.draw, t_in)
    got, err = call(getattr(F, name + "_backward"), vgr, vt, **kw_b)
    for g in (ggr, gt):
        if g:
            g.check_untouched(name + "_backward")
    if dt == np.float32 and isinstance(vgr, list) != isinstance(vt, list):
        assert isinstance(err, TypeError)
        return
    assert err is None, err
    ref = ACT_BWD_REF[name](gr.astype(np.float64), t_in.astype(np.float64), slope)
    close(got, ref, got.dtype, 2, name + "_backward")


# --------------------------------------------------------------------------
# Pooling (once nnkern.functional has it)
# --------------------------------------------------------------------------
needs_pool = pytest.mark.skipif(not HAS_POOL, reason="pooling not merged yet")


def _adaptive_ref(x, OH, OW):
    N, C, H, W = x.shape
    y = np.zeros((N, C, OH, OW))
    for i in range(OH):
        h0, h1 = (i * H) // OH, -(-((i + 1) * H) // OH)
        for j in range(OW):
            w0, w1 = (j * W) // OW, -(-((j + 1) * W) // OW)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].astype(np.float64).mean((2, 3))
    return y


def _padding_only_window(H, W, OH, OW, k, s, p, d):
    """True when some window (dilation > 1) covers padding only."""
    rows = {o for _, oh, _ in R._taps(H, OH, k[0], s[0], p[0], d[0]) for o in oh}
    cols = {o for _, ow, _ in R._taps(W, OW, k[1], s[1], p[1], d[1]) for o in ow}
    return len(rows) < OH or len(cols) < OW


@needs_pool
@examples(60)
@given(st.data(), DTYPES, st.integers(0, 2), st.integers(1, 3), st.integers(1, 9),
       st.integers(1, 9), st.booleans(), st.booleans())
def test_fuzz_pools(data, dt, N, C, H, W, ceil, nonfinite):
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    p = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    x = arrays(data.draw, (N, C, H, W), dt, nonfinite)
    gx, vx = place(data.draw, x)
    OH = R.pool_out(H, k[0], s[0], p[0], d[0], ceil)
    OW = R.pool_out(W, k[1], s[1], p[1], d[1], ceil)
    res, err = call(F.max_pool2d, vx, k, s, p, d, ceil, True)
    if gx:
        gx.check_untouched("max_pool2d")
    if OH < 1 or OW < 1 or _padding_only_window(H, W, OH, OW, k, s, p, d):
        # PyTorch returns -inf there; nnkern refuses such a geometry
        assert isinstance(err, ValueError), err
        return
    assert err is None, err
    y, idx = res
    close(y, R.max_pool2d(x, k, s, p, d, OH, OW), dt, 1, "max_pool2d")
    assert idx.shape == y.shape
    if idx.size:
        assert idx.min() >= 0 and idx.max() < H * W
    gy = arrays(data.draw, y.shape, dt)
    gi, err = call(F.max_pool2d_backward, gy, idx, x.shape)
    assert err is None, err
    ref = np.zeros((N * C, H * W))
    np.add.at(ref, (np.repeat(np.arange(N * C), OH * OW), idx.reshape(-1)), gy.reshape(-1))
    close(gi, ref.reshape(x.shape), dt, k[0] * k[1], "max_pool2d_backward")
    # average pooling (dilation 1)
    OH = R.pool_out(H, k[0], s[0], p[0], 1, ceil)
    OW = R.pool_out(W, k[1], s[1], p[1], 1, ceil)
    if hasattr(F, "adaptive_avg_pool2d"):
        out = (data.draw(st.integers(0, 2 * H)), data.draw(st.integers(0, 2 * W)))
        y, err = call(F.adaptive_avg_pool2d, vx, out)
        assert err is None, err
        close(y, _adaptive_ref(x, *out), dt, H * W, "adaptive_avg_pool2d")
    cip = data.draw(st.booleans())
    y, err = call(F.avg_pool2d, vx, k, s, p, ceil, cip, None)
    if OH < 1 or OW < 1:
        assert isinstance(err, ValueError), err
        return
    assert err is None, err
    close(y, R.avg_pool2d(x, k, s, p, OH, OW, cip), dt, k[0] * k[1], "avg_pool2d")


@needs_pool
@examples(60)
@given(st.data(), DTYPES, st.sampled_from([-1, -(2**31), 2**31, 2**40, -(2**63), 2**63 - 1]),
       st.sampled_from(["int64", "int32", "float64", "uint8", "bool"]))
def test_fuzz_max_pool_indices_out_of_range(data, dt, bad, idx_dtype):
    """Indices outside [0, H*W) raise ValueError; other index dtypes raise
    TypeError or are converted; never a write out of bounds."""
    x = arrays(data.draw, (2, 3, 5, 4), dt)
    y, idx = F.max_pool2d(x, 2, 2, 0, 1, False, True)
    idx = idx.copy()
    idx.flat[data.draw(st.integers(0, idx.size - 1))] = bad if idx_dtype == "int64" else 0
    if idx_dtype == "int64":
        H, W = x.shape[2:]
        idx.flat[data.draw(st.integers(0, idx.size - 1))] = data.draw(
            st.sampled_from([bad, H * W, H * W + 1]))
    gidx = Guarded(idx.astype(idx_dtype), "c")
    gy = Guarded(y, "c")
    gi, err = call(F.max_pool2d_backward, gy.view, gidx.view, x.shape)
    gidx.check_untouched("max_pool2d_backward")
    gy.check_untouched("max_pool2d_backward")
    if idx_dtype == "int64":
        assert isinstance(err, ValueError), err


# --------------------------------------------------------------------------
# Junk arguments for every public function
# --------------------------------------------------------------------------
def _junk_arrays():
    big = np.broadcast_to(np.float32(1), (2**21, 2**21))        # 16 TiB if copied
    big4 = np.broadcast_to(np.float64(1), (2**11, 2**11, 2**11, 2**11))
    return [
        np.arange(6).reshape(2, 3), np.ones((2, 3), bool), np.ones((2, 3), np.float16),
        np.ones((2, 3), np.complex128), np.array([[1.0, "a"]], object), np.ones((2, 3), ">f8"),
        np.ones((2, 3), np.longdouble), np.ones((2, 3), np.int8),
        np.zeros((0, 3), np.float32), np.zeros((2, 0, 4, 4)), np.zeros((0,)),
        np.ones((1, 1, 1, 1), np.float32), np.ones((2, 3, 4, 5, 6)), np.float64(2.0),
        np.array(1.5), big, big4, np.full((2, 2, 3, 3), np.nan),
        np.frombuffer(bytearray(8 * 12 + 3), np.float64, 12, 3).reshape(2, 2, 3),
        np.ones((3, 4, 5, 5))[:, ::2, ::-2, 1:],
    ]


JUNK_SCALARS = [None, "abc", "same", b"x", 1.5, float("nan"), float("inf"), -1, 0, 1, 2, 3,
                2**31, 2**63, 2**64, -(2**63) - 1, True, False, np.int64(2), np.uint64(2**63),
                np.float32(0.5), (1,), (1, 2), (1, 2, 3), [], [2, 2], (0, 0), (-1, 1), {},
                object(), [[1.0, 2.0], [3.0]], 1 + 2j]


def junk():
    return st.one_of(st.sampled_from(JUNK_SCALARS),
                     st.integers(0, len(_junk_arrays()) - 1).map(lambda i: _junk_arrays()[i]))


def _baseline(name, dt):
    """Valid arguments for F.<name>."""
    r = np.random.default_rng(0)
    a = lambda *s: r.standard_normal(s).astype(dt)  # noqa: E731
    x4, w4 = a(2, 4, 6, 5), a(6, 2, 3, 3)
    y4 = a(2, 6, 4, 3)
    table = {
        "matmul": [a(3, 4), a(4, 5)], "gemm": [a(3, 4), a(4, 5), a(3, 5), 1.0, 0.5],
        "linear": [a(2, 4), a(3, 4), a(3)], "linear_backward": [a(2, 3), a(2, 4), a(3, 4)],
        "conv2d": [x4, w4, a(6), 1, 0, 1, 2],
        "conv2d_backward": [y4, x4, w4, 1, 0, 1, 2],
        "conv_transpose2d": [x4, a(4, 3, 3, 3), a(6), 1, 0, 0, 2, 1],
        "conv_transpose2d_backward": [a(2, 6, 8, 7), x4, a(4, 3, 3, 3), 1, 0, 0, 2, 1],
        "max_pool2d": [x4, 2, 2, 0, 1, False, True],
        "avg_pool2d": [x4, 2, 2, 0, False, True, None],
        "avg_pool2d_backward": [a(2, 4, 3, 2), (2, 4, 6, 5), 2, 2, 0, False, True, None],
        "adaptive_avg_pool2d": [x4, (3, 2)],
        "adaptive_avg_pool2d_backward": [a(2, 4, 3, 2), (2, 4, 6, 5)],
    }
    if name in table:
        return table[name]
    if name == "max_pool2d_backward":
        y, idx = F.max_pool2d(x4, 2, 2, 0, 1, False, True)
        return [y, idx, x4.shape]
    if name.endswith("_backward"):
        return [a(3, 5), a(3, 5)] + ([0.1] if name.startswith("leaky") else [])
    return [a(3, 5)] + ([0.1] if name.startswith("leaky") else [])


FUNCS = list(F.__all__)


def _guardable(v):
    return (isinstance(v, np.ndarray) and v.ndim and v.flags.owndata and v.size < 10**6
            and not v.dtype.hasobject)


@examples(15)
@given(st.data(), st.sampled_from(FUNCS), DTYPES)
def test_fuzz_junk_arguments(data, name, dt):
    fn = getattr(F, name)
    args = _baseline(name, dt)
    n_bad = data.draw(st.integers(1, min(3, len(args))))
    for _ in range(n_bad):
        args[data.draw(st.integers(0, len(args) - 1))] = data.draw(junk())
    guards = []
    inplace = name.endswith("_") and not name.endswith("__")
    for i, v in enumerate(args):
        if _guardable(v):
            g = Guarded(v, "c")
            guards.append((i, g))
            args[i] = g.view
    res, err = call(fn, *args)
    for i, g in guards:
        if inplace and i == 0:
            g.check_outside(name)
        else:
            g.check_untouched(name)
    if err is None:
        for r in (res if isinstance(res, tuple) else (res,)):
            assert r is None or isinstance(r, np.ndarray), type(r)


@pytest.mark.parametrize("name", FUNCS)
def test_junk_every_position(name):
    """Deterministic sweep: every junk value in every argument position."""
    for dt in (np.float32, np.float64):
        base = _baseline(name, dt)
        for pos in range(len(base)):
            for j in JUNK_SCALARS + _junk_arrays():
                args = list(base)
                args[pos] = j
                call(getattr(F, name), *args)


# --------------------------------------------------------------------------
# Layers: constructor arguments, forward and backward inputs
# --------------------------------------------------------------------------
def _layer_factories():
    L = {
        "Linear": lambda: nn.Linear(4, 3), "Dense": lambda: nn.Dense(4, 3),
        "Identity": lambda: nn.Identity(),
        "Conv2d": lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2),
        "ConvTranspose2d": lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2),
        "ReLU": lambda: nn.ReLU(), "LeakyReLU": lambda: nn.LeakyReLU(0.2),
        "Sigmoid": lambda: nn.Sigmoid(), "Tanh": lambda: nn.Tanh(),
        "Flatten": lambda: nn.Flatten(), "Unflatten": lambda: nn.Unflatten(1, (2, 2)),
        "Upsample": lambda: nn.Upsample(scale_factor=2),
        "Sequential": lambda: nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()),
        "Residual": lambda: nn.Residual(nn.Conv2d(4, 4, 3, padding=1)),
        "Concat": lambda: nn.Concat(nn.Conv2d(4, 2, 1)),
    }
    if HAS_POOL:
        L["MaxPool2d"] = lambda: nn.MaxPool2d(2)
        L["AvgPool2d"] = lambda: nn.AvgPool2d(2)
    if hasattr(nn, "AdaptiveAvgPool2d"):
        L["AdaptiveAvgPool2d"] = lambda: nn.AdaptiveAvgPool2d((3, 2))
    return L


LAYERS = _layer_factories()
LOSSES = ["MSELoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss"]


def test_every_layer_is_fuzzed():
    skip = {"Module", "Parameter"} | set(LOSSES)
    missing = [n for n in nn.__all__ if n not in LAYERS and n not in skip]
    if not HAS_POOL:
        missing = [n for n in missing if "Pool" not in n]
    assert not missing, missing


LAYER_INPUTS = [(2, 4, 5, 6), (4, 5, 6), (2, 4), (3, 4), (0, 4, 5, 6), (2, 4, 1, 1)]


@examples(40)
@given(st.data(), st.sampled_from(sorted(LAYERS)), DTYPES)
def test_fuzz_layers(data, name, dt):
    nnkern.init.manual_seed(0)
    layer = LAYERS[name]()
    if dt == np.float64:
        layer.double()
    use_junk = data.draw(st.booleans())
    if use_junk:
        x = data.draw(junk())
    else:
        x = arrays(data.draw, data.draw(st.sampled_from(LAYER_INPUTS)), dt,
                   nonfinite=data.draw(st.booleans()))
    g = Guarded(x, "c") if _guardable(x) else None
    y, err = call(layer, g.view if g else x)
    if g:
        g.check_untouched(name)
    if err is not None:
        return
    if name == "Identity":          # passes anything through, as torch's
        assert y is (g.view if g else x)
        return
    assert isinstance(y, np.ndarray)
    if not use_junk and name in ("Linear", "Dense", "Conv2d", "ReLU", "Sigmoid", "Tanh"):
        if name in ("Linear", "Dense"):
            ref = x.astype(np.float64) @ layer.weight.data.T.astype(np.float64) + \
                layer.bias.data
            close(y, ref, dt, 5, name)
        elif name == "Conv2d":
            xb = x if x.ndim == 4 else x[None]
            ref = R.conv2d(xb, layer.weight.data, layer.bias.data, (1, 1), (1, 1), (1, 1), 2,
                           xb.shape[2], xb.shape[3])
            close(y, ref if x.ndim == 4 else ref[0], dt, 19, name)
        else:
            key = name.lower()
            close(y, ACT_REF[key](x.astype(np.float64), 0), dt, 1, name)
    gy = data.draw(junk()) if data.draw(st.booleans()) else \
        np.broadcast_to(np.ones((), y.dtype), y.shape)    # y may be a huge zero-copy view
    call(layer.backward, gy)


@examples(20)
@given(st.data(), st.sampled_from(LOSSES), DTYPES)
def test_fuzz_losses(data, name, dt):
    """Losses are NumPy code: a 2**42-element zero-stride pred is a legitimate
    (if endless) reduction for them, so the junk here has no huge views."""
    loss = getattr(nn, name)()
    small = junk().filter(lambda v: not (isinstance(v, np.ndarray) and v.size > 10**6))
    pred = data.draw(st.one_of(small, st.just(np.zeros((3, 4), dt)),
                               st.just(np.full((3, 4), np.nan, dt))))
    target = data.draw(st.one_of(small, st.just(np.zeros((3, 4), dt)),
                                 st.just(np.array([0, 1, 3])), st.just(np.array([0, 9, -1]))))
    v, err = call(loss, pred, target)
    if err is None:
        call(loss.backward, data.draw(st.sampled_from([1.0, None, "x", np.ones(3), 2**64])))


@examples(25)
@given(st.data(), st.sampled_from(["Linear", "Conv2d", "ConvTranspose2d", "LeakyReLU",
                                   "Flatten", "Unflatten", "Upsample"]
                                  + (["MaxPool2d", "AvgPool2d"] if HAS_POOL else [])
                                  + (["AdaptiveAvgPool2d"] if hasattr(nn, "AdaptiveAvgPool2d")
                                     else [])))
def test_fuzz_layer_constructors(data, name):
    cls = getattr(nn, name)
    n = len([p for p in inspect.signature(cls.__init__).parameters.values()
             if p.default is inspect.Parameter.empty and p.name != "self"
             and p.kind is p.POSITIONAL_OR_KEYWORD])
    # No 2**31: Linear(2**31, 1) is a legitimate 16 GiB request (more than
    # this machine can hold alongside the float64 draw of nnkern.init), not
    # an error; sizes past 2**62 must fail up front.
    ctor = st.sampled_from([v for v in JUNK_SCALARS if not (isinstance(v, int) and
                                                           2**20 < abs(v) < 2**62)])
    args = [data.draw(st.one_of(ctor, st.integers(-3, 5))) for _ in range(max(n, 1))]
    layer, err = call(cls, *args)
    if err is None:
        x = np.ones((1, 4, 4, 4), np.float32)
        call(layer, x)


# --------------------------------------------------------------------------
# Regression tests for bugs the fuzzer found
# --------------------------------------------------------------------------
def _misaligned(values):
    return Guarded(values, "misaligned")


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu"])
def test_regression_misaligned_activation_input_is_copied(name):
    """np.frombuffer at an odd offset is contiguous but misaligned;
    np.ascontiguousarray left it as is and the binding rejected it with a
    ValueError instead of computing."""
    x = np.linspace(-3, 3, 37)
    g = _misaligned(x)
    assert not g.view.flags.aligned
    np.testing.assert_allclose(getattr(F, name)(g.view), ACT_REF[name](x, 0.01), rtol=1e-14)
    np.testing.assert_allclose(F.tanh_backward(g.view, g.view), x * (1 - x * x), rtol=1e-14)
    gi = _misaligned(x)
    F.relu_(gi.view)
    np.testing.assert_array_equal(gi.view, np.maximum(x, 0))
    gi.check_outside("relu_")


def test_regression_misaligned_conv_and_linear_operands():
    """The same for conv2d (input/weight/bias) and linear's bias (which went
    to C misaligned)."""
    r = np.random.default_rng(0)
    x, w, b = r.standard_normal((1, 2, 5, 5)), r.standard_normal((3, 2, 3, 3)), r.standard_normal(3)
    y = F.conv2d(_misaligned(x).view, _misaligned(w).view, _misaligned(b).view)
    np.testing.assert_allclose(y, R.conv2d(x, w, b, (1, 1), (0, 0), (1, 1), 1, 3, 3), rtol=1e-12)
    xl, wl = r.standard_normal((4, 5)), r.standard_normal((3, 5))
    y = F.linear(_misaligned(xl).view, _misaligned(wl).view, _misaligned(b).view)
    np.testing.assert_allclose(y, xl @ wl.T + b, rtol=1e-12)


def test_regression_gemm_binding_rejects_misaligned():
    from nnkern import _C
    a = _misaligned(np.ones((2, 2))).view
    with pytest.raises(ValueError, match="aligned"):
        _C.gemm_into(a, np.ones((2, 2)), np.empty((2, 2)))


@pytest.mark.parametrize("kw", [dict(stride=2**64), dict(padding=2**70), dict(dilation=2**64),
                                dict(padding=2**62), dict(stride=(1, np.uint64(2**63)))])
def test_regression_conv_geometry_beyond_int64_is_value_error(kw):
    """Geometry outside int64 raised OverflowError from the binding's int
    conversion; it is a ValueError like every other bad size."""
    x, w = np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3))
    with pytest.raises(ValueError):
        F.conv2d(x, w, **kw)
    with pytest.raises(ValueError):
        F.conv2d_backward(np.ones((1, 2, 3, 3)), x, w, **kw)


@needs_pool
@pytest.mark.parametrize("call_", [
    lambda x: F.max_pool2d(x, 2**64), lambda x: F.max_pool2d(x, 2, stride=2**64),
    lambda x: F.max_pool2d(x, 2, dilation=2**64), lambda x: F.avg_pool2d(x, (2, 2**70)),
    lambda x: F.avg_pool2d(x, 2, divisor_override=2**64),
    lambda x: F.max_pool2d_backward(x, np.zeros(x.shape, np.int64), (1, 1, 2**64, 1)),
    lambda x: F.avg_pool2d_backward(x, (1, 1, 2**64, 2), 1),
    lambda x: F.adaptive_avg_pool2d(x, 2**64)])
def test_regression_pool_sizes_beyond_int64_is_value_error(call_):
    """Pooling sizes outside int64 raised OverflowError from the binding."""
    with pytest.raises(ValueError):
        call_(np.ones((1, 1, 2, 2)))


def test_regression_conv_transpose_output_beyond_int64_is_value_error():
    x, w = np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3))
    with pytest.raises(ValueError, match="overflow"):
        F.conv_transpose2d(x, w, stride=2**62, padding=2**61 - 4)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("bad", [None, "grad", [1.0], 3])
def test_regression_layer_backward_non_array_is_type_error(name, bad):
    """Layer.backward(None) etc. died with an AttributeError inside the
    layer; it is a TypeError naming the layer."""
    layer = LAYERS[name]()
    layer(np.ones((2, 4, 4, 4) if name not in ("Linear", "Dense") else (2, 4), np.float32))
    with pytest.raises(TypeError, match="grad_output"):
        layer.backward(bad)


# --------------------------------------------------------------------------
# The low-level bindings take explicit geometry (output sizes included) that
# need not match the input: they must still never read or write out of
# bounds (run under the sanitizer build to see it).
# --------------------------------------------------------------------------
@examples(30)
@given(st.integers(0, 2**32 - 1), DTYPES)
def test_fuzz_bindings_explicit_geometry(seed, dt):
    import random

    from nnkern import _C
    r = random.Random(seed)
    rn = np.random.default_rng(seed)
    for _ in range(5):
        N, G = r.randint(0, 2), r.randint(1, 2)
        Cin, Cout = G * r.randint(1, 3), G * r.randint(1, 3)
        H, W = r.randint(1, 7), r.randint(1, 7)
        kh, kw = r.randint(1, 4), r.randint(1, 4)
        s = (r.randint(1, 3), r.randint(1, 3))
        p = (r.randint(0, 3), r.randint(0, 3))
        d = (r.randint(1, 3), r.randint(1, 3))
        OH, OW = r.randint(0, 12), r.randint(0, 12)
        x = rn.random((N, Cin, H, W)).astype(dt)
        w = rn.random((Cout, Cin // G, kh, kw)).astype(dt)
        dy = rn.random((N, Cout, OH, OW)).astype(dt)
        gy = rn.random((N, Cin, OH, OW)).astype(dt)
        ind = rn.integers(-2, H * W + 2, gy.shape)
        win = (kh, kw, *s, min(p[0], kh // 2), min(p[1], kw // 2), *d)
        calls = [
            lambda: _C.conv2d_fwd(x, w, None, s, p, d, G, OH, OW),
            lambda: _C.conv2d_bwd_data(dy, w, H, W, s, p, d, G),
            lambda: _C.conv2d_bwd_weight(dy, x, kh, kw, s, p, d, G),
            lambda: _C.conv2d_bwd_bias(dy),
        ]
        if HAS_POOL:
            calls += [
                lambda: _C.pool_max_fwd(x, OH, OW, win, True),
                lambda: _C.pool_max_bwd(gy, ind, H, W),
                lambda: _C.pool_avg_fwd(x, OH, OW, win[:6] + (1, 1), True, 0),
                lambda: _C.pool_avg_bwd(gy, H, W, win[:6] + (1, 1), False, 0),
                lambda: _C.pool_adaptive_avg_fwd(x, OH, OW),
                lambda: _C.pool_adaptive_avg_bwd(gy, H, W),
            ]
        guards = [Guarded(a, "c") for a in (x, w, dy, gy)]
        x, w, dy, gy = (g.view for g in guards)
        for c in calls:
            call(c)
        for g in guards:
            g.check_untouched("binding")


@pytest.mark.parametrize("make", [
    lambda: nn.Linear(float("inf"), 2), lambda: nn.Linear(2.7, 2), lambda: nn.Linear("3", 2),
    lambda: nn.Conv2d(float("inf"), 1, 1), lambda: nn.Conv2d(2, 2, 1, groups=2.0),
    lambda: nn.ConvTranspose2d(1, float("nan"), 1), lambda: nn.Flatten(float("inf")),
    lambda: nn.Unflatten(1, (2, 2.5)), lambda: nn.Concat(nn.ReLU(), float("inf")),
    lambda: nn.Upsample(size=(2.5, 2)), lambda: nn.CrossEntropyLoss(ignore_index=float("inf"))])
def test_regression_layer_sizes_must_be_ints(make):
    """int(inf) raised OverflowError, int(2.7) truncated silently and
    int("3") accepted a string: layer sizes are TypeError unless ints."""
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize("sf", [float("inf"), (2.0, float("inf")), float("nan")])
def test_regression_upsample_scale_factor_must_be_finite(sf):
    """Upsample(scale_factor=inf) raised OverflowError in forward."""
    with pytest.raises(ValueError):
        nn.Upsample(scale_factor=sf)(np.ones((1, 1, 2, 2), np.float32))
