"""Float64 NumPy references for the fuzz tests (independent of nnkern's C).

The convolution references never build a padded copy of the input: for each
kernel tap they compute, in exact Python integers, which output rows read
which input rows, so that padding, stride or dilation values near 2**62 are
as cheap as small ones (only the output size matters).
"""
import numpy as np


def _taps(n_in, n_out, k, s, p, d):
    """For each tap i < k: (i, output positions, input positions) with the
    input position o*s - p + i*d inside [0, n_in)."""
    out = []
    for i in range(k):
        o_idx, i_idx = [], []
        for o in range(n_out):
            h = o * s - p + i * d
            if 0 <= h < n_in:
                o_idx.append(o)
                i_idx.append(h)
        if o_idx:
            out.append((i, np.array(o_idx, np.intp), np.array(i_idx, np.intp)))
    return out


def conv2d(x, w, b, stride, pad, dil, groups, OH, OW):
    """y[N, C_out, OH, OW]; pad = (top, left)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    Og = O // groups
    y = np.zeros((N, O, OH, OW))
    th = _taps(H, OH, kh, stride[0], pad[0], dil[0])
    tw = _taps(W, OW, kw, stride[1], pad[1], dil[1])
    for g in range(groups):
        xs_g = x[:, g * Cg:(g + 1) * Cg]
        for i, oh, hh in th:
            for j, ow, ww in tw:
                xs = xs_g[:, :, hh][:, :, :, ww]
                y[:, g * Og:(g + 1) * Og, oh[:, None], ow[None, :]] += np.einsum(
                    "nchw,oc->nohw", xs, w[g * Og:(g + 1) * Og, :, i, j])
    if b is not None:
        y += np.asarray(b, np.float64).reshape(1, -1, 1, 1)
    return y


def conv2d_bwd_data(dy, w, H, W, stride, pad, dil, groups):
    dy = np.asarray(dy, np.float64)
    w = np.asarray(w, np.float64)
    N, O, OH, OW = dy.shape
    _, Cg, kh, kw = w.shape
    Og = O // groups
    dx = np.zeros((N, Cg * groups, H, W))
    th = _taps(H, OH, kh, stride[0], pad[0], dil[0])
    tw = _taps(W, OW, kw, stride[1], pad[1], dil[1])
    for g in range(groups):
        for i, oh, hh in th:
            for j, ow, ww in tw:
                d = dy[:, g * Og:(g + 1) * Og][:, :, oh][:, :, :, ow]
                dx[:, g * Cg:(g + 1) * Cg, hh[:, None], ww[None, :]] += np.einsum(
                    "nohw,oc->nchw", d, w[g * Og:(g + 1) * Og, :, i, j])
    return dx


def conv2d_bwd_weight(dy, x, kh, kw, stride, pad, dil, groups):
    dy = np.asarray(dy, np.float64)
    x = np.asarray(x, np.float64)
    N, O, OH, OW = dy.shape
    _, C, H, W = x.shape
    Og, Cg = O // groups, C // groups
    dw = np.zeros((O, Cg, kh, kw))
    th = _taps(H, OH, kh, stride[0], pad[0], dil[0])
    tw = _taps(W, OW, kw, stride[1], pad[1], dil[1])
    for g in range(groups):
        for i, oh, hh in th:
            for j, ow, ww in tw:
                d = dy[:, g * Og:(g + 1) * Og][:, :, oh][:, :, :, ow]
                xs = x[:, g * Cg:(g + 1) * Cg][:, :, hh][:, :, :, ww]
                dw[g * Og:(g + 1) * Og, :, i, j] = np.einsum("nohw,nchw->oc", d, xs)
    return dw


def conv_out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_transpose_out(n, k, s, p, d, op):
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def pool_out(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def max_pool2d(x, k, s, p, d, OH, OW):
    """Values of max pooling (NaN propagates, as in PyTorch)."""
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    y = np.full((N, C, OH, OW), -np.inf)
    for i, oh, hh in _taps(H, OH, k[0], s[0], p[0], d[0]):
        for j, ow, ww in _taps(W, OW, k[1], s[1], p[1], d[1]):
            v = x[:, :, hh][:, :, :, ww]
            cur = y[:, :, oh[:, None], ow[None, :]]
            y[:, :, oh[:, None], ow[None, :]] = np.where(np.isnan(v) | (v > cur), v, cur)
    return y


def avg_pool2d(x, k, s, p, OH, OW, count_include_pad=True, divisor=None):
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    y = np.zeros((N, C, OH, OW))
    cnt = np.zeros((OH, OW))
    for i, oh, hh in _taps(H, OH, k[0], s[0], p[0], 1):
        for j, ow, ww in _taps(W, OW, k[1], s[1], p[1], 1):
            y[:, :, oh[:, None], ow[None, :]] += x[:, :, hh][:, :, :, ww]
            cnt[oh[:, None], ow[None, :]] += 1
    if divisor is not None:
        return y / divisor
    if count_include_pad:
        # window clipped to the padded input (PyTorch's rule)
        hs = np.arange(OH) * s[0] - p[0]
        he = np.minimum(hs + k[0], H + p[0])
        ws = np.arange(OW) * s[1] - p[1]
        we = np.minimum(ws + k[1], W + p[1])
        div = (he - hs)[:, None] * (we - ws)[None, :]
        return y / div
    return y / np.maximum(cnt, 1)
