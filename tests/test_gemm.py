"""GEMM: the C drivers (through nnkern._C.gemm_into) and the functional
matmul / gemm API, against NumPy in float64 and the naive C reference."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nnkern.functional as F
from nnkern import _C
from _util import num_threads

GRID = [0, 1, 2, 5, 6, 7, 15, 16, 17, 31, 33, 64, 127, 255, 257, 1000]
DTYPES = [np.float32, np.float64]
EPS = {np.float32: np.finfo(np.float32).eps, np.float64: np.finfo(np.float64).eps}


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def assert_gemm_close(c, a, b, alpha=1.0, beta=0.0, c0=None, bias=None, per_row=False):
    """c ~= alpha a@b + beta c0 + bias, with an error bound from the
    magnitudes (|a|@|b|) and the depth."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = alpha * (a64 @ b64)
    mag = abs(alpha) * (np.abs(a64) @ np.abs(b64))
    if beta != 0:
        ref = ref + beta * c0.astype(np.float64)
        mag = mag + abs(beta) * np.abs(c0.astype(np.float64))
    if bias is not None:
        bb = bias.astype(np.float64)
        ref = ref + (bb[:, None] if per_row else bb[None, :])
        mag = mag + np.abs(bb[:, None] if per_row else bb[None, :])
    k = a.shape[1]
    tol = (k + 4) * EPS[c.dtype.type] * mag + 1e-30
    err = np.abs(c.astype(np.float64) - ref)
    assert np.all(err <= tol), f"max err {err.max()} (tol {tol.max()}) for {a.shape}x{b.shape}"


def small_enough(m, n, k):
    return m * n * k <= 4_000_000 and m * n <= 300_000


shapes = st.tuples(st.sampled_from(GRID), st.sampled_from(GRID),
                   st.sampled_from(GRID)).filter(lambda s: small_enough(*s))


@given(mnk=shapes, dtype=st.sampled_from(DTYPES), ta=st.booleans(), tb=st.booleans())
def test_grid_against_numpy(isa, mnk, dtype, ta, tb):
    m, n, k = mnk
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a = rand(rng, (k, m) if ta else (m, k), dtype)
    b = rand(rng, (n, k) if tb else (k, n), dtype)
    c = F.gemm(a, b, trans_a=ta, trans_b=tb)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    assert c.shape == (m, n) and c.dtype == dtype
    assert_gemm_close(c, opa, opb)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(1000, 17, 257), (7, 1000, 300), (255, 257, 31),
                                   (33, 64, 1000), (1, 1000, 1000), (1000, 1, 127)])
def test_large_edges(isa, dtype, m, n, k):
    rng = np.random.default_rng(m + n + k)
    a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    assert_gemm_close(F.matmul(a, b), a, b)


def strided_views(rng, m, n, k, dtype):
    """a (m,k), b (k,n) as non-contiguous views, incl. negative steps."""
    big_a = rand(rng, (2 * m + 1, 3 * k + 2), dtype)
    big_b = rand(rng, (3 * k + 1, 2 * n + 3), dtype)
    a = big_a[2 * m - 1::-2, 1:3 * k + 1:3] if m else big_a[:0, :k]
    b = big_b[::3, ::-2][:k, :n]
    return a, b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(17, 33, 31), (6, 16, 5), (64, 7, 255), (1, 1, 1), (0, 5, 3)])
def test_strided_and_negative_views(isa, dtype, m, n, k):
    rng = np.random.default_rng(7)
    a, b = strided_views(rng, m, n, k, dtype)
    assert a.shape == (m, k) and b.shape == (k, n)
    assert_gemm_close(F.matmul(a, b), a, b)
    # output view with strides in both directions: untouched elements survive
    big_c = rand(rng, (2 * m + 2, 3 * n + 1), dtype)
    keep = big_c.copy()
    c = big_c[2 * m::-2, ::3][:m, :n]
    assert c.shape == (m, n)
    c0 = c.copy()
    _C.gemm_into(a, b, c, 0.5, -1.5)
    assert_gemm_close(c, a, b, 0.5, -1.5, c0)
    mask = np.ones(big_c.shape, bool)
    mask[2 * m::-2, ::3][:m, :n] = False
    assert np.array_equal(big_c[mask], keep[mask])


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_major_and_broadcast_operands(isa, dtype):
    rng = np.random.default_rng(3)
    a = np.asfortranarray(rand(rng, (37, 45), dtype))
    b = np.asfortranarray(rand(rng, (45, 29), dtype))
    c = np.zeros((37, 29), dtype, order="F")
    F.matmul(a, b, out=c)
    assert_gemm_close(c, a, b)
    row = rand(rng, (1, 45), dtype)
    bc = np.broadcast_to(row, (37, 45))  # zero row stride
    assert_gemm_close(F.matmul(bc, b), bc, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 1.0), (2.0, 2.5), (0.0, -1.0)])
def test_alpha_beta_against_reference(isa, dtype, alpha, beta):
    rng = np.random.default_rng(11)
    for m, n, k in [(13, 35, 300), (6, 16, 256), (70, 9, 513)]:
        a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
        c0 = rand(rng, (m, n), dtype)
        c = c0.copy()
        _C.gemm_into(a, b, c, alpha, beta)
        r = c0.copy()
        _C.gemm_ref(a, b, r, alpha, beta)
        assert_gemm_close(c, a, b, alpha, beta, c0)
        assert_gemm_close(r, a, b, alpha, beta, c0)
        out = F.gemm(a, b, c0, alpha=alpha, beta=beta)
        np.testing.assert_array_equal(out, c)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_never_reads_c(isa, dtype):
    rng = np.random.default_rng(5)
    a, b = rand(rng, (19, 40), dtype), rand(rng, (40, 23), dtype)
    for impl in ("fast", "serial", "callback", "ref", "prepacked"):
        c = np.full((19, 23), np.nan, dtype)
        _C.gemm_into(a, b, c, 1.0, 0.0, impl=impl)
        assert np.isfinite(c).all(), impl
    c = np.full((19, 23), np.inf, dtype)
    out = F.gemm(a, b, c, beta=0.0)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_k_zero_scales_by_beta_then_epilogue(isa, dtype):
    a, b = np.zeros((4, 0), dtype), np.zeros((0, 5), dtype)
    c0 = np.arange(20, dtype=dtype).reshape(4, 5) - 10
    bias = np.arange(5, dtype=dtype)
    for impl in ("fast", "serial", "callback", "ref", "prepacked"):
        c = c0.copy()
        _C.gemm_into(a, b, c, 3.0, 2.0, impl=impl)
        np.testing.assert_array_equal(c, 2 * c0)
        c = np.full((4, 5), np.nan, dtype)
        _C.gemm_into(a, b, c, 1.0, 0.0, bias, False, True, impl=impl)
        np.testing.assert_array_equal(c, np.broadcast_to(bias, (4, 5)))
        c = c0.copy()
        _C.gemm_into(a, b, c, 1.0, 1.0, None, False, True, impl=impl)
        np.testing.assert_array_equal(c, np.maximum(c0, 0))
    assert np.array_equal(F.matmul(a, b), np.zeros((4, 5), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("per_row", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_epilogue_bias_relu(isa, dtype, per_row, relu):
    rng = np.random.default_rng(13)
    for m, n, k in [(20, 37, 50), (6, 16, 300), (1, 5, 7), (45, 70, 600)]:
        a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
        bias = rand(rng, (m if per_row else n,), dtype)
        c0 = rand(rng, (m, n), dtype)
        for beta in (0.0, 0.5):
            c = c0.copy()
            _C.gemm_into(a, b, c, 1.0, beta, bias, per_row, relu)
            r = c0.copy()
            _C.gemm_ref(a, b, r, 1.0, beta, bias, per_row, relu)
            if relu:
                assert (c >= 0).all()
                pre = c0.copy()
                _C.gemm_into(a, b, pre, 1.0, beta, bias, per_row, False)
                np.testing.assert_array_equal(c, np.maximum(pre, 0))
            else:
                assert_gemm_close(c, a, b, 1.0, beta, c0, bias, per_row)
            tol = 1e-4 if dtype == np.float32 else 1e-11
            np.testing.assert_allclose(c, r, rtol=tol, atol=tol * np.sqrt(k))
        # column-major output exercises the transposed (C^T = B^T A^T) path
        cf = np.zeros((m, n), dtype, order="F")
        _C.gemm_into(a, b, cf, 1.0, 0.0, bias, per_row, relu)
        cc = np.zeros((m, n), dtype)
        _C.gemm_into(a, b, cc, 1.0, 0.0, bias, per_row, relu)
        np.testing.assert_array_equal(cf, cc)
        cs = np.zeros((m, n), dtype, order="F")
        _C.gemm_into(a, b, cs, 1.0, 0.0, bias, per_row, relu, impl="serial")
        np.testing.assert_array_equal(cs, cc)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_inf_propagate(isa, dtype):
    rng = np.random.default_rng(17)
    a, b = rand(rng, (14, 40), dtype), rand(rng, (40, 21), dtype)
    a[3, 7] = np.nan
    b[5, 18] = np.inf
    exp = a.astype(np.float64) @ b.astype(np.float64)
    for relu in (False, True):
        e = np.where(np.isnan(exp) | (exp > 0), exp, 0.0) if relu else exp
        c = np.zeros((14, 21), dtype)
        _C.gemm_into(a, b, c, 1.0, 0.0, None, False, relu)
        assert np.isnan(c[3]).all()  # the NaN row survives ReLU
        np.testing.assert_array_equal(np.isnan(c), np.isnan(e))
        np.testing.assert_array_equal(np.isinf(c), np.isinf(e))
        np.testing.assert_array_equal(c[np.isinf(c)], e[np.isinf(e)])
    bias = np.zeros(21, dtype)
    bias[2] = np.nan
    c = np.zeros((14, 21), dtype)
    _C.gemm_into(a, b, c, 1.0, 0.0, bias, False, True)
    assert np.isnan(c[:, 2]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(257, 255, 300), (1000, 33, 64), (31, 1000, 127),
                                   (128, 512, 600), (12, 3000, 200)])
def test_bitwise_equal_across_threads_and_drivers(isa, dtype, m, n, k, restore_threads):
    rng = np.random.default_rng(19)
    a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    bias = rand(rng, (n,), dtype)
    c0 = rand(rng, (m, n), dtype)
    res = {"fast": [], "callback": [], "prepacked": [], "matmul": []}
    for t in (1, 2, 3):
        with num_threads(t):
            for impl in ("fast", "callback", "prepacked"):
                c = c0.copy()
                _C.gemm_into(a, b, c, 0.75, 0.5, bias, False, True, impl=impl)
                res[impl].append(c)
            res["matmul"].append(F.matmul(a, b))
    c = c0.copy()
    _C.gemm_into(a, b, c, 0.75, 0.5, bias, False, True, impl="serial")
    res["fast"].append(c)
    for outs in res.values():
        for r in outs[1:]:
            np.testing.assert_array_equal(r, outs[0])
    if min(m, n) > 16:  # both on the packed path
        np.testing.assert_array_equal(res["callback"][0], res["fast"][0])
    np.testing.assert_array_equal(res["prepacked"][0], res["fast"][0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, True), (True, False)])
@pytest.mark.parametrize("m,n,k", [(8, 2001, 300), (2000, 5, 700), (16, 16, 4099), (1, 1000, 1000),
                                   (3, 7, 9)])
def test_small_path_forms_across_threads(isa, dtype, ta, tb, m, n, k, restore_threads):
    """One side <= 16: the unpacked small path (axpy / dot / dot with a copied
    A, chosen by the layouts) is accurate and thread-count invariant."""
    rng = np.random.default_rng(m + n)
    a = rand(rng, (k, m) if ta else (m, k), dtype)
    b = rand(rng, (n, k) if tb else (k, n), dtype)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    bias = rand(rng, (n,), dtype)
    c0 = rand(rng, (m, n), dtype)
    outs = []
    for t in (1, 2, 3):
        with num_threads(t):
            c = c0.copy()
            _C.gemm_into(opa, opb, c, -1.25, 0.5, bias, False, False)
            outs.append(c)
    for r in outs[1:]:
        np.testing.assert_array_equal(r, outs[0])
    c = c0.copy()
    _C.gemm_into(opa, opb, c, -1.25, 0.5, bias, False, False, impl="serial")
    np.testing.assert_array_equal(c, outs[0])
    assert_gemm_close(outs[0], opa, opb, -1.25, 0.5, c0, bias, False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 17, 5), (100, 37, 513), (0, 4, 4), (5, 5, 0),
                                   (40, 300, 1000)])
def test_callback_and_serial_paths(isa, dtype, m, n, k):
    """The packing-callback operands (conv's implicit GEMM) are accurate and,
    on the packed path, bitwise equal to strided operands; the serial driver
    always gives the threaded driver's bits."""
    rng = np.random.default_rng(23)
    a, b = strided_views(rng, m, n, k, dtype)
    outs = {}
    for impl in ("fast", "callback", "serial"):
        c = np.zeros((m, n), dtype)
        _C.gemm_into(a, b, c, 1.0, 0.0, impl=impl)
        outs[impl] = c
    np.testing.assert_array_equal(outs["serial"], outs["fast"])
    assert_gemm_close(outs["fast"], a, b)
    assert_gemm_close(outs["callback"], a, b)
    if min(m, n) > 16:  # callbacks always take the packed path, as does "fast" here
        np.testing.assert_array_equal(outs["callback"], outs["fast"])


def test_tile_constants():
    assert _C.GEMM_TILE == {"float32": (6, 16), "float64": (6, 8)}


# ---- functional API: matmul / gemm ----------------------------------------

def test_matmul_out_and_errors():
    rng = np.random.default_rng(29)
    a, b = rand(rng, (4, 5), np.float32), rand(rng, (5, 3), np.float32)
    out = np.empty((4, 3), np.float32)
    assert F.matmul(a, b, out=out) is out
    assert_gemm_close(out, a, b)
    big = np.full((8, 9), 7.0, np.float32)
    view = big[::-2, 1::3]  # strided, negative-step out: rows 7, 5, 3, 1
    assert view.shape == (4, 3)
    assert F.matmul(a, b, out=view) is view
    assert_gemm_close(view, a, b)
    assert (big[0::2] == 7).all() and (big[:, 0::3] == 7).all()
    with pytest.raises(ValueError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x5\)"):
        F.matmul(a, b.T)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.matmul(a, b.astype(np.float64))
    with pytest.raises(TypeError, match="float32 and float64"):
        F.matmul(a.astype(np.int32), b)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.matmul(a.astype(np.float16), b.astype(np.float16))
    with pytest.raises(ValueError, match="2-D"):
        F.matmul(a[0], b)
    with pytest.raises(ValueError, match="2-D"):
        F.matmul(a, b[None])
    with pytest.raises(ValueError, match="shape"):
        F.matmul(a, b, out=np.empty((3, 4), np.float32))
    with pytest.raises(ValueError, match="dtype"):
        F.matmul(a, b, out=np.empty((4, 3), np.float64))
    ro = np.empty((4, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        F.matmul(a, b, out=ro)
    with pytest.raises(ValueError, match="ndarray"):
        F.matmul(a, b, out=[[0.0] * 3] * 4)


def test_matmul_readonly_inputs_lists_and_overlap():
    rng = np.random.default_rng(31)
    a, b = rand(rng, (6, 6), np.float64), rand(rng, (6, 6), np.float64)
    expect = a @ b
    a.flags.writeable = False
    b.flags.writeable = False
    np.testing.assert_allclose(F.matmul(a, b), expect, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.matmul(a.tolist(), b.tolist()), expect, rtol=1e-12, atol=1e-12)
    a2 = a.copy()
    F.matmul(a2, b, out=a2)  # out aliases an input
    np.testing.assert_allclose(a2, expect, rtol=1e-12, atol=1e-12)
    # non-native byte order is rejected like any other unsupported dtype
    with pytest.raises(TypeError):
        F.matmul(a.astype(">f8"), b)


def test_gemm_api_transposes_and_c():
    rng = np.random.default_rng(37)
    a, b = rand(rng, (9, 4), np.float64), rand(rng, (7, 9), np.float64)
    c = rand(rng, (4, 7), np.float64)
    c_before = c.copy()
    out = F.gemm(a, b, c, alpha=2.0, beta=-1.0, trans_a=True, trans_b=True)
    np.testing.assert_allclose(out, 2 * a.T @ b.T - c, rtol=1e-12, atol=1e-12)
    assert np.array_equal(c, c_before)  # c is not modified
    row = rand(rng, (7,), np.float64)
    out = F.gemm(a.T, b.T, row, beta=1.0)  # c broadcasts
    np.testing.assert_allclose(out, a.T @ b.T + row, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"4x9 and 7x9"):
        F.gemm(a.T, b)
    with pytest.raises(ValueError, match="broadcast"):
        F.gemm(a, b, np.zeros((3, 3)), trans_a=True, trans_b=True)
    with pytest.raises(TypeError, match="float32 and float64"):
        F.gemm(a, b, c.astype(np.float32), trans_a=True, trans_b=True)


def test_gemm_into_binding_errors():
    a = np.zeros((3, 4), np.float32)
    b = np.zeros((4, 5), np.float32)
    c = np.zeros((3, 5), np.float32)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.gemm_into(a.astype(np.int64), b.astype(np.int64), c.astype(np.int64))
    with pytest.raises(TypeError):
        _C.gemm_into(a, b.astype(np.float64), c)
    with pytest.raises(ValueError, match="do not match"):
        _C.gemm_into(a, b, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        _C.gemm_into(a[0], b, c)
    with pytest.raises(ValueError, match="bias"):
        _C.gemm_into(a, b, c, bias=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="bias"):
        _C.gemm_into(a, b, c, bias=np.zeros(10, np.float32)[::2])
    with pytest.raises(ValueError, match="impl"):
        _C.gemm_into(a, b, c, impl="blas")
    ro = c.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _C.gemm_into(a, b, ro)
    self_overlap = np.lib.stride_tricks.as_strided(np.zeros(5, np.float32), (3, 5), (0, 4),
                                                   writeable=True)
    with pytest.raises(ValueError, match="zero stride"):
        _C.gemm_into(a, b, self_overlap)
    # byte strides that are not a multiple of the item size: the binding
    # refuses them, the functional layer copies
    buf = np.zeros(200, np.uint8)
    odd = np.ndarray((3, 4), np.float32, buffer=buf, offset=1, strides=(17, 4))
    with pytest.raises(ValueError, match="multiples of the item size"):
        _C.gemm_into(odd, b, c)
    np.testing.assert_array_equal(F.matmul(odd, b), np.zeros((3, 5), np.float32))


def test_c_driver_status_codes():
    st = _C._gemm_status_probe()
    ARG = 1
    for key in ("negative_m", "negative_k_f64", "null_c", "null_operand", "null_operand_struct",
                "serial_no_workspace", "serial_negative", "ref_negative", "ref_null_c"):
        assert st[key] == ARG, key
    assert st["null_operand_k0"] == 0  # K == 0: operands are never read
    assert st["empty_null_c"] == 0  # nothing to write
    assert st["workspace_empty"] >= 64
    assert st["workspace_huge"] == 2 ** 64 - 1  # overflow -> SIZE_MAX, allocation then fails
    assert st["workspace_huge2"] == 2 ** 64 - 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_serial_workspace_is_monotone(isa, dtype):
    """A workspace sized for (M, N, K) serves any smaller problem (conv sizes
    it once for its largest block); canaries after it stay intact."""
    rng = np.random.default_rng(41)
    bound = (40, 300, 600)
    for m, n, k in [(40, 300, 600), (40, 300, 256), (7, 300, 257), (40, 5, 513), (3, 17, 600),
                    (16, 16, 600), (40, 299, 1), (33, 64, 512)]:
        for ta, tb in [(False, False), (True, True), (False, True)]:
            a = rand(rng, (k, m) if ta else (m, k), dtype)
            b = rand(rng, (n, k) if tb else (k, n), dtype)
            opa, opb = (a.T if ta else a), (b.T if tb else b)
            for order in "CF":
                c = np.zeros((m, n), dtype, order=order)
                _C.gemm_into(opa, opb, c, impl="serial", ws_shape=bound)
                assert_gemm_close(c, opa, opb)
    with pytest.raises(ValueError, match="smaller"):
        _C.gemm_into(np.zeros((2, 3), dtype), np.zeros((3, 4), dtype), np.zeros((2, 4), dtype),
                     impl="serial", ws_shape=(1, 4, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(40, 50, 37), (20, 33, 64), (64, 16, 9)])
def test_depth_contiguous_operands_with_negative_row_steps(isa, dtype, m, n, k):
    """Operands whose depth is contiguous but whose rows run backwards (e.g.
    x @ W[::-1].T) go through the transposing packers."""
    rng = np.random.default_rng(43)
    x = rand(rng, (2 * m, k), dtype)[::-2]
    w = rand(rng, (n, k), dtype)[::-1]
    assert_gemm_close(F.matmul(x, w.T), x, w.T)
    assert_gemm_close(F.linear(x, w), x, w.T)


@pytest.mark.skipif("avx512" not in _C.isa_available(), reason="CPU without AVX-512")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("per_row", [False, True])
def test_avx512_kernels_match_avx2_bitwise(dtype, per_row, restore_threads):
    """The AVX-512 micro-kernels (2 x 2 blocks of standard tiles, and the
    single trailing panel row / column: M = 13 or 17, N = 18 or 65) compute
    every element exactly like the AVX2 kernels, whatever the edge panels,
    epilogue, C layout or operand source."""
    rng = np.random.default_rng(47)
    before = _C.isa_active()
    shapes = [(17, 18, 5), (24, 32, 40), (25, 33, 257), (30, 49, 300), (150, 70, 513),
              (13, 65, 31)]
    try:
        for m, n, k in shapes:
            a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
            bias = rand(rng, (m if per_row else n,), dtype)
            c0 = rand(rng, (m, n), dtype)
            for order in "CF":
                for impl, alpha, beta, relu in [("fast", 0.75, 0.5, True),
                                                ("callback", 1.0, 1.0, False),
                                                ("serial", -2.0, 0.0, True)]:
                    out = {}
                    for isa in ("avx2", "avx512"):
                        _C.set_isa(isa)
                        c = np.array(c0, order=order)
                        _C.gemm_into(a, b, c, alpha, beta, bias, per_row, relu, impl=impl)
                        out[isa] = c
                    np.testing.assert_array_equal(out["avx512"], out["avx2"])
    finally:
        _C.set_isa(before)


@pytest.mark.skipif("avx512" not in _C.isa_available(), reason="CPU without AVX-512")
@pytest.mark.parametrize("m,n,k", [(32, 10, 512), (13, 16, 100), (9, 1, 7), (200, 5, 33),
                                   (8, 16, 3), (17, 12, 1)])
@pytest.mark.parametrize("ta", [False, True])
def test_avx512_small_direct_matches_avx2_bitwise(m, n, k, ta, restore_threads):
    """The small path's direct form (at most 16 columns of C, B read in
    place) at the AVX-512 level -- 8 rows x one masked 16-lane vector, and a
    vector epilogue when C's rows are contiguous -- gives the AVX2 kernel's
    bits (and the reference's values), for A read along rows or down
    columns, C in either order, every epilogue (alpha, beta, bias per row or
    column, relu keeping NaN), at 1 and 2 threads (2: split by rows)."""
    rng = np.random.default_rng(m * n + k)
    a = rand(rng, (k, m) if ta else (m, k), np.float32)
    a_nan = a.copy()               # one NaN: row min(1, m-1) of C is NaN
    (a_nan.T if ta else a_nan)[min(1, m - 1), 0] = np.nan
    b = rand(rng, (k, n), np.float32)
    c0 = rand(rng, (m, n), np.float32)
    before = _C.isa_active()
    try:
        for alpha, beta, per_row, relu, order in [(0.75, 0.5, False, False, "C"),
                                                  (1.0, 0.0, True, True, "C"),
                                                  (-2.0, 1.0, False, True, "C"),
                                                  (0.75, 0.5, True, True, "F")]:
            bias = rand(rng, (m if per_row else n,), np.float32)
            out = {}
            for isa in ("avx2", "avx512"):
                _C.set_isa(isa)
                for t in (1, 2):
                    with num_threads(t):
                        c = np.array(c0, order=order)
                        src = a_nan if relu else a
                        _C.gemm_into(src.T if ta else src, b, c, alpha, beta, bias, per_row, relu)
                        out[isa, t] = c
            for key, c in out.items():
                np.testing.assert_array_equal(c, out["avx2", 1], err_msg=str(key))
            if relu:   # the NaN row stays NaN, the others are relu'd
                assert np.isnan(out["avx512", 1][min(1, m - 1)]).all()
                assert (np.nan_to_num(out["avx512", 1]) >= 0).all()
            else:
                assert_gemm_close(out["avx512", 1], a.T if ta else a, b, alpha, beta, c0, bias,
                                  per_row)
    finally:
        _C.set_isa(before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(1, 40, 7), (6, 33, 256), (7, 64, 257), (13, 17, 600),
                                   (100, 196, 1024), (257, 31, 513)])
@pytest.mark.parametrize("col_major_c", [False, True])
def test_prepacked_a_same_bits(isa, dtype, m, n, k, col_major_c, restore_threads):
    """A's panels packed once beforehand (conv's weights) give the bits of
    packing them per call: row counts off the 6-row panels, one to three
    depth blocks (256 | 257 | 513 ...), and a column-major C (computed as
    C^T = B^T A^T, where the prepacked panels must be ignored)."""
    rng = np.random.default_rng(31)
    a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    bias = rand(rng, (n,), dtype)
    out = {}
    for impl in ("fast", "prepacked"):
        for t in (1, 2):
            c = np.zeros((n, m), dtype).T if col_major_c else np.zeros((m, n), dtype)
            with num_threads(t):
                _C.gemm_into(a, b, c, 1.5, 0.0, bias, False, False, impl=impl)
            out[impl, t] = c
    for key, c in out.items():
        np.testing.assert_array_equal(c, out["fast", 1], err_msg=str(key))
    assert_gemm_close(out["prepacked", 1], a, b, 1.5, 0.0, None, bias)
