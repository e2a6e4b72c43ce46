"""NumPy baselines for nnkern's benchmarks, written the way a good NumPy user
would write them (and the same methods /work/shared/peers.py used to measure
the peers):

* GEMM / linear: ``np.matmul`` (OpenBLAS); linear backward as three matmuls
  and a sum.
* conv2d forward: im2col through ``sliding_window_view`` (one contiguous copy
  in Caffe layout) plus one big ``matmul``; backward: im2col again, two
  matmuls, and col2im by per-kernel-offset strided slice adds.
* pooling forward: a loop over the k*k window offsets with whole-array
  ``np.maximum`` / ``np.add`` on strided slices (the max version also tracks
  the window-local argmax, as a training forward must); backward: per-offset
  strided slice adds.
* LeNet-5: a training step composed from the functions above.

Every function takes and returns float32 NCHW arrays (float64 works too).
The benchmark runner verifies each baseline numerically against nnkern and
PyTorch before it times anything.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "out_size", "matmul", "linear_fwd", "linear_bwd", "conv2d_fwd", "conv2d_bwd",
    "max_pool2d_fwd", "max_pool2d_fwd_argmax", "avg_pool2d_fwd", "max_pool2d_bwd",
    "avg_pool2d_bwd", "argmax_to_flat", "relu", "NumpyLeNet5",
]


def out_size(size, k, stride, pad, dil=1):
    """floor((size + 2*pad - dil*(k-1) - 1) / stride) + 1 (PyTorch's rule)."""
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


# ---------------------------------------------------------------- dense

def matmul(a, b):
    return np.matmul(a, b)


def linear_fwd(x, w, b=None):
    """x (M, K), w (N, K) as in PyTorch -> x @ w.T + b, shape (M, N)."""
    y = x @ w.T
    if b is not None:
        y += b
    return y


def linear_bwd(g, x, w):
    """Returns (dx, dw, db) for y = x @ w.T + b."""
    return g @ w, g.T @ x, g.sum(axis=0)


def relu(x):
    return np.maximum(x, 0)


# ---------------------------------------------------------------- conv2d

def _windows(x, R, S, stride, pad, dil, fill=0.0):
    """(N, C, P, Q, R, S) strided view of the padded input (no copy but the pad)."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    reff, seff = dil * (R - 1) + 1, dil * (S - 1) + 1
    win = sliding_window_view(x, (reff, seff), axis=(2, 3))
    return win[:, :, ::stride, ::stride, ::dil, ::dil]


def _im2col(x, R, S, stride, pad, dil):
    """cols[(c, r, s), (n, p, q)], one contiguous copy."""
    win = _windows(x, R, S, stride, pad, dil)
    N, C, P, Q = win.shape[:4]
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(C * R * S, N * P * Q), P, Q


def conv2d_fwd(x, w, b, stride=1, pad=0, dil=1):
    """Square stride/pad/dilation, groups=1.  x (N,C,H,W), w (K,C,R,S)."""
    N = x.shape[0]
    K, C, R, S = w.shape
    cols, P, Q = _im2col(x, R, S, stride, pad, dil)
    y = w.reshape(K, C * R * S) @ cols  # (K, N*P*Q): one big GEMM
    out = np.empty((N, K, P, Q), dtype=x.dtype)
    y4 = y.reshape(K, N, P, Q).transpose(1, 0, 2, 3)
    if b is None:
        out[...] = y4
    else:
        np.add(y4, b[:, None, None], out=out)
    return out


def conv2d_bwd(dy, x, w, stride=1, pad=0, dil=1, need_dx=True):
    """Returns (dx, dw, db); recomputes im2col (nothing cached from forward).
    With need_dx=False (a network's first layer) dx is None and not computed."""
    N, C, H, W = x.shape
    K, _, R, S = w.shape
    P, Q = dy.shape[2:]
    db = dy.sum(axis=(0, 2, 3))
    dyk = dy.transpose(1, 0, 2, 3).reshape(K, N * P * Q)
    cols, _, _ = _im2col(x, R, S, stride, pad, dil)
    dw = (dyk @ cols.T).reshape(K, C, R, S)
    if not need_dx:
        return None, dw, db
    dcols = (w.reshape(K, C * R * S).T @ dyk).reshape(C, R, S, N, P, Q)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    hs, ws = stride * (P - 1) + 1, stride * (Q - 1) + 1
    for r in range(R):
        for s in range(S):
            h0, w0 = r * dil, s * dil
            dxp[:, :, h0:h0 + hs:stride, w0:w0 + ws:stride] += dcols[:, r, s].transpose(1, 0, 2, 3)
    dx = np.ascontiguousarray(dxp[:, :, pad:pad + H, pad:pad + W]) if pad else dxp
    return dx, dw, db


def grouped_fwd(x, w, b, stride=1, pad=0, dil=1, groups=1):
    """Grouped convolution (ResNeXt-style): the im2col GEMM of conv2d_fwd
    per group, outputs concatenated.  w (K, C/groups, R, S)."""
    C, K = x.shape[1], w.shape[0]
    ci, co = C // groups, K // groups
    return np.concatenate([conv2d_fwd(x[:, g * ci:(g + 1) * ci], w[g * co:(g + 1) * co],
                                      None if b is None else b[g * co:(g + 1) * co],
                                      stride, pad, dil) for g in range(groups)], axis=1)


def grouped_bwd(dy, x, w, stride=1, pad=0, dil=1, groups=1):
    """Returns (dx, dw, db) of grouped_fwd: conv2d_bwd per group."""
    C, K = x.shape[1], w.shape[0]
    ci, co = C // groups, K // groups
    parts = [conv2d_bwd(dy[:, g * co:(g + 1) * co], x[:, g * ci:(g + 1) * ci],
                        w[g * co:(g + 1) * co], stride, pad, dil) for g in range(groups)]
    return (np.concatenate([q[0] for q in parts], axis=1),
            np.concatenate([q[1] for q in parts], axis=0),
            np.concatenate([q[2] for q in parts], axis=0))


def depthwise_fwd(x, w, b, stride=1, pad=0, dil=1):
    """Depthwise (groups == C, multiplier 1), square stride/pad/dilation:
    one broadcast multiply-add per tap over strided views.  w (C,1,R,S)."""
    C, _, R, S = w.shape
    win = _windows(x, R, S, stride, pad, dil)  # (N, C, P, Q, R, S)
    out = np.empty(win.shape[:4], dtype=x.dtype)
    out[...] = 0 if b is None else b[:, None, None]
    for r in range(R):
        for s in range(S):
            out += w[:, 0, r, s][:, None, None] * win[..., r, s]
    return out


def depthwise_bwd(dy, x, w, stride=1, pad=0, dil=1):
    """Returns (dx, dw, db) of depthwise_fwd: per tap, dw by one reduction
    and dx by a strided add into the padded input."""
    N, C, H, W = x.shape
    _, _, R, S = w.shape
    P, Q = dy.shape[2:]
    db = dy.sum(axis=(0, 2, 3))
    win = _windows(x, R, S, stride, pad, dil)
    dw = np.empty_like(w)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    hs, ws = stride * (P - 1) + 1, stride * (Q - 1) + 1
    for r in range(R):
        for s in range(S):
            dw[:, 0, r, s] = np.einsum("ncpq,ncpq->c", dy, win[..., r, s])
            h0, w0 = r * dil, s * dil
            dxp[:, :, h0:h0 + hs:stride, w0:w0 + ws:stride] += w[:, 0, r, s][:, None, None] * dy
    dx = np.ascontiguousarray(dxp[:, :, pad:pad + H, pad:pad + W]) if pad else dxp
    return dx, dw, db


# ---------------------------------------------------------------- pooling

def _pool_geometry(shape, k, s, p):
    H, W = shape[2:]
    P, Q = out_size(H, k, s, p), out_size(W, k, s, p)
    return P, Q, s * (P - 1) + 1, s * (Q - 1) + 1


def max_pool2d_fwd_argmax(x, k, s, p):
    """Max pooling by strided slices; also returns the window-local argmax
    (0..k*k-1, first maximum wins as in PyTorch) that a backward needs."""
    P, Q, hs, ws = _pool_geometry(x.shape, k, s, p)
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    out = x[:, :, 0:hs:s, 0:ws:s].copy()
    idx = np.zeros(out.shape, dtype=np.int32)
    for r in range(k):
        for t in range(k):
            if r == 0 and t == 0:
                continue
            v = x[:, :, r:r + hs:s, t:t + ws:s]
            upd = v > out
            np.copyto(out, v, where=upd)
            np.copyto(idx, r * k + t, where=upd)
    return out, idx


def max_pool2d_fwd(x, k, s, p):
    """Max pooling forward only (inference): whole-array np.maximum per offset."""
    P, Q, hs, ws = _pool_geometry(x.shape, k, s, p)
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    out = x[:, :, 0:hs:s, 0:ws:s].copy()
    for r in range(k):
        for t in range(k):
            if r or t:
                np.maximum(out, x[:, :, r:r + hs:s, t:t + ws:s], out=out)
    return out


def avg_pool2d_fwd(x, k, s, p):
    """Average pooling, count_include_pad=True (PyTorch's default), no ceil_mode."""
    P, Q, hs, ws = _pool_geometry(x.shape, k, s, p)
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = x[:, :, 0:hs:s, 0:ws:s].copy()
    for r in range(k):
        for t in range(k):
            if r or t:
                np.add(out, x[:, :, r:r + hs:s, t:t + ws:s], out=out)
    out *= out.dtype.type(1.0 / (k * k))
    return out


def argmax_to_flat(idx, shape, k, s, p):
    """Window-local argmax -> PyTorch's flat index h*W + w within each plane."""
    W = shape[3]
    P, Q = idx.shape[2:]
    h = np.arange(P)[:, None] * s - p + idx // k
    w = np.arange(Q)[None, :] * s - p + idx % k
    return (h * W + w).astype(np.int64)


def max_pool2d_bwd(dy, idx, shape, k, s, p):
    """dx from dy and the window-local argmax, by per-offset slice adds."""
    N, C, H, W = shape
    P, Q, hs, ws = _pool_geometry(shape, k, s, p)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dy.dtype)
    zero = dy.dtype.type(0)
    for r in range(k):
        for t in range(k):
            dxp[:, :, r:r + hs:s, t:t + ws:s] += np.where(idx == r * k + t, dy, zero)
    return np.ascontiguousarray(dxp[:, :, p:p + H, p:p + W]) if p else dxp


def avg_pool2d_bwd(dy, shape, k, s, p):
    N, C, H, W = shape
    P, Q, hs, ws = _pool_geometry(shape, k, s, p)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dy.dtype)
    g = dy * dy.dtype.type(1.0 / (k * k))
    for r in range(k):
        for t in range(k):
            dxp[:, :, r:r + hs:s, t:t + ws:s] += g
    return np.ascontiguousarray(dxp[:, :, p:p + H, p:p + W]) if p else dxp


# ---------------------------------------------------------------- LeNet-5

class NumpyLeNet5:
    """LeNet-5 (conv5x5 pad2 -> relu -> maxpool2 -> conv5x5 -> relu -> maxpool2
    -> 400-120-84-10 MLP with ReLU) trained with plain SGD on softmax cross
    entropy, built from the baselines above.  Parameter names follow the
    equivalent ``torch.nn.Sequential``: 0, 3 (convs) and 7, 9, 11 (linears)."""

    def __init__(self, params, lr):
        self.p = {k: np.array(v, dtype=np.float32) for k, v in params.items()}
        self.lr = np.float32(lr)

    def step(self, x, target):
        p = self.p
        # forward
        c1 = conv2d_fwd(x, p["0.weight"], p["0.bias"], 1, 2, 1)
        r1 = relu(c1)
        m1, i1 = max_pool2d_fwd_argmax(r1, 2, 2, 0)
        c2 = conv2d_fwd(m1, p["3.weight"], p["3.bias"], 1, 0, 1)
        r2 = relu(c2)
        m2, i2 = max_pool2d_fwd_argmax(r2, 2, 2, 0)
        f = m2.reshape(m2.shape[0], -1)
        h1 = relu(linear_fwd(f, p["7.weight"], p["7.bias"]))
        h2 = relu(linear_fwd(h1, p["9.weight"], p["9.bias"]))
        z = linear_fwd(h2, p["11.weight"], p["11.bias"])
        # softmax cross entropy (mean over the batch), log-sum-exp stable
        zmax = z.max(axis=1, keepdims=True)
        e = np.exp(z - zmax)
        se = e.sum(axis=1, keepdims=True)
        n = z.shape[0]
        rows = np.arange(n)
        loss = float(np.mean(np.log(se[:, 0]) + zmax[:, 0] - z[rows, target]))
        g = e / se
        g[rows, target] -= 1
        g *= np.float32(1.0 / n)
        # backward
        grads = {}
        g, grads["11.weight"], grads["11.bias"] = linear_bwd(g, h2, p["11.weight"])
        g *= h2 > 0
        g, grads["9.weight"], grads["9.bias"] = linear_bwd(g, h1, p["9.weight"])
        g *= h1 > 0
        g, grads["7.weight"], grads["7.bias"] = linear_bwd(g, f, p["7.weight"])
        g = max_pool2d_bwd(g.reshape(m2.shape), i2, r2.shape, 2, 2, 0)
        g *= c2 > 0
        g, grads["3.weight"], grads["3.bias"] = conv2d_bwd(g, m1, p["3.weight"], 1, 0, 1)
        g = max_pool2d_bwd(g, i1, r1.shape, 2, 2, 0)
        g *= c1 > 0
        _, grads["0.weight"], grads["0.bias"] = conv2d_bwd(g, x, p["0.weight"], 1, 2, 1, need_dx=False)
        for k, v in grads.items():
            p[k] -= self.lr * v
        return loss
