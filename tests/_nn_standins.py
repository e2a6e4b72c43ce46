"""TEMPORARY NumPy stand-ins for kernels that are not merged into this
branch yet (issues 3, 4, 5), used only by the nn tests through the
`kernels` fixture, and only for names nnkern.functional does not define.
Once the kernels are merged, the real ones are used automatically."""
import numpy as np


def linear(input, weight, bias=None):
    y = input @ weight.T
    return y + bias if bias is not None else y


def linear_backward(grad_output, input, weight, output_mask=(True, True, True)):
    gi = grad_output @ weight if output_mask[0] else None
    gw = grad_output.T @ input if output_mask[1] else None
    gb = grad_output.sum(0) if output_mask[2] else None
    return gi, gw, gb


def _p2(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw) = _p2(stride), _p2(padding), _p2(dilation)
    N, C, H, W = input.shape
    O, Cg, kh, kw = weight.shape
    xp = np.pad(input, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if Ho <= 0 or Wo <= 0:
        raise ValueError("output size is too small")
    Og = O // groups
    out = np.zeros((N, O, Ho, Wo), input.dtype)
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * Cg:(g + 1) * Cg, i * dh:i * dh + sh * (Ho - 1) + 1:sh,
                           j * dw:j * dw + sw * (Wo - 1) + 1:sw]
                out[:, g * Og:(g + 1) * Og] += np.einsum(
                    "nchw,oc->nohw", patch, weight[g * Og:(g + 1) * Og, :, i, j])
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def conv2d_backward(grad_output, input, weight, stride, padding, dilation, groups, output_mask):
    (sh, sw), (ph, pw), (dh, dw) = _p2(stride), _p2(padding), _p2(dilation)
    N, C, H, W = input.shape
    O, Cg, kh, kw = weight.shape
    Ho, Wo = grad_output.shape[2:]
    xp = np.pad(input, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    gxp = np.zeros_like(xp)
    gw = np.zeros_like(weight)
    Og = O // groups
    for g in range(groups):
        go = grad_output[:, g * Og:(g + 1) * Og]
        for i in range(kh):
            for j in range(kw):
                sl = (slice(None), slice(g * Cg, (g + 1) * Cg),
                      slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
                      slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw))
                gxp[sl] += np.einsum("nohw,oc->nchw", go, weight[g * Og:(g + 1) * Og, :, i, j])
                gw[g * Og:(g + 1) * Og, :, i, j] = np.einsum("nohw,nchw->oc", go, xp[sl])
    gi = gxp[:, :, ph:ph + H, pw:pw + W].copy()
    gb = grad_output.sum((0, 2, 3))
    return (gi if output_mask[0] else None, gw if output_mask[1] else None,
            gb if output_mask[2] else None)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    (sh, sw), (ph, pw), (dh, dw) = _p2(stride), _p2(padding), _p2(dilation)
    oph, opw = _p2(output_padding)
    N, Ci, H, W = input.shape
    _, Og, kh, kw = weight.shape
    Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    Ig = Ci // groups
    yp = np.zeros((N, Og * groups, Ho + 2 * ph, Wo + 2 * pw), input.dtype)
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                yp[:, g * Og:(g + 1) * Og, i * dh:i * dh + sh * (H - 1) + 1:sh,
                   j * dw:j * dw + sw * (W - 1) + 1:sw] += np.einsum(
                    "nihw,io->nohw", input[:, g * Ig:(g + 1) * Ig], weight[g * Ig:(g + 1) * Ig, :, i, j])
    y = yp[:, :, ph:ph + Ho, pw:pw + Wo].copy()
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def conv_transpose2d_backward(grad_output, input, weight, stride, padding, output_padding, groups,
                              dilation, output_mask):
    (sh, sw), (ph, pw), (dh, dw) = _p2(stride), _p2(padding), _p2(dilation)
    N, Ci, H, W = input.shape
    _, Og, kh, kw = weight.shape
    Ig = Ci // groups
    gp = np.pad(grad_output, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    gi = np.zeros_like(input)
    gw = np.zeros_like(weight)
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                patch = gp[:, g * Og:(g + 1) * Og, i * dh:i * dh + sh * (H - 1) + 1:sh,
                           j * dw:j * dw + sw * (W - 1) + 1:sw]
                gi[:, g * Ig:(g + 1) * Ig] += np.einsum("nohw,io->nihw", patch,
                                                        weight[g * Ig:(g + 1) * Ig, :, i, j])
                gw[g * Ig:(g + 1) * Ig, :, i, j] = np.einsum(
                    "nihw,nohw->io", input[:, g * Ig:(g + 1) * Ig], patch)
    gb = grad_output.sum((0, 2, 3))
    return (gi if output_mask[0] else None, gw if output_mask[1] else None,
            gb if output_mask[2] else None)


def _pool_out(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    (kh, kw) = _p2(kernel_size)
    (sh, sw) = _p2(stride if stride is not None else kernel_size)
    (ph, pw), (dh, dw) = _p2(padding), _p2(dilation)
    N, C, H, W = input.shape
    Ho, Wo = _pool_out(H, kh, sh, ph, dh, ceil_mode), _pool_out(W, kw, sw, pw, dw, ceil_mode)
    out = np.full((N, C, Ho, Wo), -np.inf, input.dtype)
    idx = np.zeros((N, C, Ho, Wo), np.int64)
    for oh in range(Ho):
        for ow in range(Wo):
            for i in range(kh):
                h = oh * sh - ph + i * dh
                if not 0 <= h < H:
                    continue
                for j in range(kw):
                    w = ow * sw - pw + j * dw
                    if not 0 <= w < W:
                        continue
                    v = input[:, :, h, w]
                    better = v > out[:, :, oh, ow]
                    out[:, :, oh, ow] = np.where(better, v, out[:, :, oh, ow])
                    idx[:, :, oh, ow] = np.where(better, h * W + w, idx[:, :, oh, ow])
    return (out, idx) if return_indices else out


def max_pool2d_backward(grad_output, indices, input_shape):
    N, C, H, W = input_shape
    gi = np.zeros((N * C, H * W), grad_output.dtype)
    rows = np.repeat(np.arange(N * C), indices[0, 0].size if indices.size else 0)
    np.add.at(gi, (rows, indices.reshape(-1)), grad_output.reshape(-1))
    return gi.reshape(input_shape)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    (kh, kw) = _p2(kernel_size)
    (sh, sw) = _p2(stride if stride is not None else kernel_size)
    (ph, pw) = _p2(padding)
    assert not ceil_mode and count_include_pad and divisor_override is None
    N, C, H, W = input.shape
    xp = np.pad(input, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    out = np.zeros((N, C, Ho, Wo), input.dtype)
    for i in range(kh):
        for j in range(kw):
            out += xp[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]
    return out / (kh * kw)


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
    (kh, kw) = _p2(kernel_size)
    (sh, sw) = _p2(stride if stride is not None else kernel_size)
    (ph, pw) = _p2(padding)
    N, C, H, W = input_shape
    Ho, Wo = grad_output.shape[2:]
    gp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), grad_output.dtype)
    for i in range(kh):
        for j in range(kw):
            gp[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw] += grad_output
    return (gp[:, :, ph:ph + H, pw:pw + W] / (kh * kw)).astype(grad_output.dtype)


NAMES = ["linear", "linear_backward", "conv2d", "conv2d_backward", "conv_transpose2d",
         "conv_transpose2d_backward", "max_pool2d", "max_pool2d_backward", "avg_pool2d",
         "avg_pool2d_backward"]


def install(monkeypatch):
    """Patch in the stand-ins nnkern.functional lacks; returns their names."""
    import nnkern.functional as F
    missing = [n for n in NAMES if not hasattr(F, n)]
    g = globals()
    for n in missing:
        monkeypatch.setattr(F, n, g[n], raising=False)
    return missing
