"""Sizes: products that overflow int32 and int64, and outputs larger than
memory, fail up front with MemoryError or ValueError -- never a wrapped-around
size, never a process killed half-way.  Offsets past 2**31 elements are
computed in int64 (checked on zero-page-backed arrays whose untouched pages
cost no memory).

Huge inputs are zero-stride broadcasts (no memory) or np.zeros arrays whose
pages are never touched; the largest virtual reservation is 8 GiB.  The
virtual-memory tests are skipped under sanitizer builds (ASan's allocator
would touch the pages).
"""
import os

import numpy as np
import pytest

import nnkern.functional as F
from nnkern import _C
from nnkern._config import BUILD_INFO

HUGE_ERR = (MemoryError, ValueError)
SANITIZED = bool(BUILD_INFO.get("sanitize"))
I32 = 2**31


def _mem_total():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def bcast(shape, dtype=np.float32):
    """A read-only array of the given shape that takes no memory."""
    return np.broadcast_to(np.ones((), dtype), shape)


# Every call below asks for an output (or a copy) far beyond the memory of
# any machine, or for sizes whose product overflows int64.
CASES = {
    "matmul_out_2^40": lambda: F.matmul(bcast((2**20, 1)), bcast((1, 2**20))),
    "matmul_out_2^80": lambda: F.matmul(bcast((2**40, 1)), bcast((1, 2**40))),
    "matmul_out_int32_rows": lambda: F.matmul(bcast((I32 * 64, 1)), bcast((1, 64))),
    "gemm_c_broadcast_2^40": lambda: F.gemm(bcast((2**20, 1)), bcast((1, 2**20)),
                                            bcast((1, 2**20)), beta=1.0),
    "linear_rows_2^62": lambda: F.linear(bcast((2**31, 2**31, 4)), np.ones((3, 4), np.float32)),
    "linear_rows_overflow_int64": lambda: F.linear(bcast((2**32, 2**32, 4)),
                                                   np.ones((3, 4), np.float32)),
    "linear_backward_2^40": lambda: F.linear_backward(bcast((2**20, 2**20, 3)),
                                                      bcast((2**20, 2**20, 4)),
                                                      np.ones((3, 4), np.float32)),
    "conv2d_batch_2^30": lambda: F.conv2d(bcast((2**30, 1, 8, 8)), np.ones((4, 1, 3, 3),
                                                                          np.float32)),
    "conv2d_padding_2^20": lambda: F.conv2d(np.ones((1, 1, 2, 2), np.float32),
                                            np.ones((2, 1, 1, 1), np.float32), padding=2**20),
    "conv2d_padding_2^40": lambda: F.conv2d(np.ones((1, 1, 2, 2), np.float32),
                                            np.ones((2, 1, 1, 1), np.float32), padding=2**40),
    "conv2d_padding_int64": lambda: F.conv2d(np.ones((1, 1, 2, 2), np.float32),
                                             np.ones((2, 1, 1, 1), np.float32), padding=2**62),
    "conv2d_weight_2^62": lambda: F.conv2d(bcast((1, 2**31, 4, 4)), bcast((2**31, 2**31, 1, 1))),
    "conv_transpose2d_stride_2^30": lambda: F.conv_transpose2d(
        np.ones((1, 1, 64, 64), np.float32), np.ones((1, 1, 2, 2), np.float32), stride=2**30),
    "conv_transpose2d_stride_2^40": lambda: F.conv_transpose2d(
        np.ones((1, 1, 64, 64), np.float32), np.ones((1, 1, 2, 2), np.float32), stride=2**40),
    "conv_transpose2d_dilation_2^61": lambda: F.conv_transpose2d(
        np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 3, 3), np.float32), dilation=2**61),
    "conv2d_backward_2^40": lambda: F.conv2d_backward(
        bcast((2**20, 1, 2**10, 2**10)), bcast((2**20, 1, 2**10, 2**10)),
        np.ones((1, 1, 1, 1), np.float32)),
    "relu_2^40": lambda: F.relu(bcast((2**20, 2**20))),
    "sigmoid_2^40": lambda: F.sigmoid(bcast((2**40,))),
    "tanh_backward_2^40": lambda: F.tanh_backward(bcast((2**40,)), bcast((2**40,))),
}
if hasattr(F, "max_pool2d"):
    CASES.update({
        "max_pool2d_2^40": lambda: F.max_pool2d(bcast((2**20, 2**10, 8, 8)), 1),
        "avg_pool2d_2^40": lambda: F.avg_pool2d(bcast((2**20, 2**10, 8, 8)), 1),
        "max_pool2d_backward_2^40": lambda: F.max_pool2d_backward(
            np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int64),
            (2**20, 1, 2**10, 2**10)),
        "max_pool2d_backward_int64": lambda: F.max_pool2d_backward(
            np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int64),
            (2**40, 2**40, 2**40, 2**40)),
        "avg_pool2d_backward_2^40": lambda: F.avg_pool2d_backward(
            np.ones((1, 1, 1, 1), np.float32), (2**20, 1, 2**10, 2**10), 1, 1, 0, False, True,
            None),
        "adaptive_avg_pool2d_2^40": lambda: F.adaptive_avg_pool2d(bcast((1, 1, 4, 4)), 2**20),
        "adaptive_avg_pool2d_int64": lambda: F.adaptive_avg_pool2d(bcast((1, 1, 4, 4)),
                                                                   2**63),
        "adaptive_avg_pool2d_backward_2^40": lambda: F.adaptive_avg_pool2d_backward(
            np.ones((1, 1, 1, 1), np.float32), (1, 1, 2**20, 2**20)),
    })


@pytest.mark.skipif(not hasattr(F, "max_pool2d"), reason="pooling not merged yet")
@pytest.mark.parametrize("k,p", [(2**41, 2**40), (2**60, 2**59), (2**31 + 1, 2**30)])
def test_pool_windows_near_int64_limits(k, p):
    """A kernel of 2**60 with padding 2**59 on a 2x2 input is valid (3x3
    output of windows clipped to the input): computed with int64 window
    arithmetic, no overflow, no huge loops."""
    x = np.arange(4, dtype=np.float64).reshape(1, 1, 2, 2)
    y = F.max_pool2d(x, k, 1, p)
    assert y.shape == (1, 1, 3, 3) if k - 2 * p == 0 else y.shape[2] >= 1
    assert np.all((y == 3) | (y == 2) | (y == 1) | (y == 0))
    a = F.avg_pool2d(x, k, 1, p, False, False)
    assert a.shape == y.shape and np.all(np.isfinite(a))


@pytest.mark.parametrize("name", list(CASES))
def test_huge_request_fails_up_front(name):
    with pytest.raises(HUGE_ERR) as info:
        CASES[name]()
    assert str(info.value)


@pytest.mark.parametrize("OH,OW", [(2**62, 4), (2**32, 2**32), (2**31, 2**31), (-1, 3),
                                   (2**40, 2**30)])
@pytest.mark.parametrize("fn", ["conv2d_fwd", "conv2d_bwd_data"])
def test_conv_binding_checks_products_before_allocating(OH, OW, fn):
    """The C geometry check (int64, overflow-checked) runs before the
    binding allocates the output."""
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 1, 1), np.float32)
    with pytest.raises(HUGE_ERR):
        if fn == "conv2d_fwd":
            _C.conv2d_fwd(x, w, None, (1, 1), (0, 0), (1, 1), 1, OH, OW)
        else:
            _C.conv2d_bwd_data(x, w, OH, OW, (1, 1), (0, 0), (1, 1), 1)


def test_conv_binding_rejects_int64_overflowing_geometry():
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 2, 2), np.float32)
    for stride, pad, dil in [((2**62, 1), (0, 0), (1, 1)), ((1, 1), (2**62, 0), (1, 1)),
                             ((1, 1), (0, 0), (2**62, 1)), ((1, 1), (-(2**62), 0), (1, 1))]:
        with pytest.raises(ValueError):
            _C.conv2d_fwd(x, w, None, stride, pad, dil, 1, 3, 3)


def test_output_larger_than_ram_is_memory_error():
    """An output between 2x RAM and 4x RAM (valid sizes, no overflow) is
    refused by the allocator up front, not computed into swap/OOM."""
    n = int(np.sqrt(_mem_total() * 3 / 4)) + 1     # n*n float32 ~ 3x RAM
    with pytest.raises(MemoryError):
        F.matmul(bcast((n, 1)), bcast((1, n)))


# --- offsets past 2**31 elements (int32 would wrap) -----------------------
virtual = pytest.mark.skipif(SANITIZED, reason="ASan's allocator touches huge allocations")


def _wide_input(width, values):
    """(1, 1, 1, width) float32 zeros (untouched pages), with a few values set."""
    x = np.zeros((1, 1, 1, width), np.float32)
    for pos, v in values.items():
        x[0, 0, 0, pos] = v
    return x


@virtual
def test_conv_offsets_past_int32():
    s = I32 // 2 + 1                                  # 3 taps: 0, s, 2s > 2**31
    W = 2 * s + 3
    x = _wide_input(W, {0: 1.0, s: 3.0, 2 * s: 7.0, 2 * s + 1: 100.0})
    w = np.full((1, 1, 1, 1), 2.0, np.float32)
    y = F.conv2d(x, w, stride=(1, s))
    np.testing.assert_array_equal(y.ravel(), [2.0, 6.0, 14.0])
    _, gw, gb = F.conv2d_backward(np.ones_like(y), x, w, stride=(1, s),
                                  output_mask=(False, True, True))
    np.testing.assert_array_equal(gw.ravel(), [11.0])
    np.testing.assert_array_equal(gb, [3.0])
    # 1x2 kernel with a dilation past 2**31: taps at w and w + d
    d = I32 + 5
    x = _wide_input(d + 4, {1: 1.0, d + 1: 10.0})
    y = F.conv2d(x, np.ones((1, 1, 1, 2), np.float32), dilation=(1, d))
    np.testing.assert_array_equal(y.ravel(), [0.0, 11.0, 0.0, 0.0])


@virtual
def test_conv_channel_offsets_past_int32():
    """Channel c starts at c*H*W > 2**31 elements."""
    hw = I32 // 2 + 7
    x = np.zeros((1, 2, 1, hw), np.float32)
    x[0, 1, 0, hw - 1] = 5.0
    y = F.conv2d(x, np.ones((1, 2, 1, 1), np.float32), stride=(1, hw - 1))
    np.testing.assert_array_equal(y.ravel(), [0.0, 5.0])


@virtual
def test_gemm_strides_past_int32():
    """Row strides larger than 2**31 elements go to C as int64."""
    base = np.zeros(I32 + 16, np.float32)
    a = np.lib.stride_tricks.as_strided(base, (2, 5), ((I32 + 4) * 4, 4), writeable=False)
    base[I32 + 4:I32 + 9] = np.arange(1, 6)
    base[:5] = 1
    b = np.arange(15, dtype=np.float32).reshape(5, 3)
    np.testing.assert_array_equal(F.matmul(a, b), np.array(a) @ b)
    np.testing.assert_array_equal(F.gemm(b, a, trans_a=True, trans_b=True), b.T @ np.array(a).T)
