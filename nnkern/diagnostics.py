"""Training diagnostics: gradient flow, spectral norms, the depth experiment
(vanishing gradients without residual connections) and random slices of the
loss landscape.

>>> from nnkern import diagnostics as D
>>> D.gradient_norms(model)              # after a backward: {'0': 0.12, '3': 0.05, ...}
>>> D.spectral_norms(model)              # {'0.weight': 1.7, ...}  (sigma_1 of each weight matrix)
>>> res = D.depth_experiment([2, 4, 8, 16], plot="depth.png")
>>> land = D.loss_landscape(model, loss, (X, y), directions=2, plot="landscape.png")

Background (the seed's bound): for an MLP x_{l+1} = relu(W_l x_l), the
gradient reaching the first layer is a product of the layer Jacobians, so
``|dL/dx_1| <= prod_l sigma_1(W_l) * |dL/dx_L|``.  When the sigma_1 are below
1 (small initial weights, weight decay), it shrinks geometrically with
depth.  A residual layer x + relu(W x) has Jacobian I + D W, which keeps the
identity path open, so the gradient does not vanish.
"""
import numpy as np

from . import nn
from .data import _as_rng
from .train import _split_data, evaluate

__all__ = ["gradient_norms", "spectral_norms", "depth_experiment", "plot_depth_experiment",
           "loss_landscape", "plot_landscape", "random_directions"]


# ---------------------------------------------------------------------------
# Per-layer gradient and weight diagnostics
# ---------------------------------------------------------------------------

def _layer_of(name):
    return name.rsplit(".", 1)[0] if "." in name else ""


def gradient_norms(model, by="layer"):
    """Euclidean norms of the accumulated parameter gradients, after a
    backward pass.

    ``by='layer'`` (default) groups the parameters of each module (its weight
    and bias together) under the module's name ('0', '2.block.0', ...);
    ``by='parameter'`` gives one entry per parameter ('0.weight', '0.bias').
    Parameters without a gradient yet count as zero.  Returns an insertion-
    ordered dict (input side first).
    """
    if by not in ("layer", "parameter"):
        raise ValueError(f"gradient_norms: by must be 'layer' or 'parameter', got {by!r}")
    sq = {}
    for name, p in model.named_parameters():
        g = p.grad
        v = 0.0 if g is None else float(np.sum(np.square(g, dtype=np.float64)))
        key = _layer_of(name) if by == "layer" else name
        sq[key] = sq.get(key, 0.0) + v
    return {k: float(np.sqrt(v)) for k, v in sq.items()}


def _weight_matrix(mod, w):
    w = np.asarray(w, dtype=np.float64)
    if isinstance(mod, nn.ConvTranspose2d):
        # (C_in, C_out/groups, kh, kw): put the output channels first.
        w = np.swapaxes(w, 0, 1)
    return w.reshape(w.shape[0], -1)


def spectral_norms(model):
    """sigma_1 (largest singular value) of every weight matrix: Linear weights
    as they are, convolution weights reshaped to (C_out, C_in*kh*kw).  These
    are the factors of the seed's vanishing-gradient bound.  Returns
    ``{'0.weight': s1, ...}`` in the order of ``named_parameters()`` (NaN for
    a weight with non-finite entries)."""
    mods = {}
    named_modules = getattr(model, "named_modules", None)
    if callable(named_modules):
        mods = dict(named_modules())
    out = {}
    for name, p in model.named_parameters():
        if np.ndim(p.data) < 2:
            continue
        mat = _weight_matrix(mods.get(_layer_of(name)), p.data)
        out[name] = float(np.linalg.norm(mat, 2)) if np.all(np.isfinite(mat)) else float("nan")
    return out


# ---------------------------------------------------------------------------
# Depth experiment
# ---------------------------------------------------------------------------

def _first_weight(model):
    for name, p in model.named_parameters():
        if np.ndim(p.data) >= 2:
            return p
    raise ValueError("model has no weight matrix")


def _clip_grad_norm(model, max_norm):
    """Scale all gradients so that their total norm is at most max_norm."""
    if max_norm is None:
        return
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)))
    if total > max_norm:
        scale = max_norm / total
        for g in grads:
            g *= scale


def depth_experiment(depths=(2, 4, 8, 16, 32), residual=(False, True), weight_decay=0.0, width=32,
                     data=None, steps=0, lr=0.05, clip=1.0, repeats=3, seed=0, plot=None,
                     progress=False):
    """First-layer gradient norm against depth, for plain and residual ReLU
    MLPs.

    For every depth d (number of Linear layers) and every variant in
    ``residual`` it builds ``mlp([n_in] + [width]*(d-1) + [n_classes],
    'relu', residual=...)`` with PyTorch's default initialization, optionally
    trains it for ``steps`` full-batch SGD steps (learning rate ``lr``, L2
    ``weight_decay``, gradients clipped to total norm ``clip`` so that the
    deepest networks do not diverge), then measures ``|dL/dW_1|`` (Frobenius norm of the
    first layer's weight gradient) of the cross-entropy loss on ``data``.
    Each value is the median over ``repeats`` seeds.

    What to expect at PyTorch's default initialization (gain 1/sqrt(3)): the
    plain network's gradient shrinks by roughly 0.4x per layer (about 1e-13
    at depth 32), while the residual one keeps its size and, without any
    normalization, slowly grows (each block adds about 1/6 to the variance,
    so roughly (7/6)^depth).  ``weight_decay`` only
    matters with ``steps > 0``: it pulls the sigma_1 of the weights down,
    which makes the plain network's gradients vanish faster.

    ``data`` is an ``(X, y)`` classification pair with flat features
    (default: 256 standard-normal samples with 64 features and 10 random
    classes).  Returns a dict with ``depths``, and for each variant
    (``'plain'``, ``'residual'``) the median gradient norms, all repeats
    (``'<variant>_all'``, shape (len(depths), repeats)) and the median
    product of the spectral norms (``'<variant>_sigma_prod'``).  With
    ``plot='file.png'`` it also saves the plot.
    """
    from .models import mlp
    from .optim import SGD

    depths = [int(d) for d in depths]
    if not depths or min(depths) < 2:
        raise ValueError(f"depth_experiment: depths must be >= 2 (Linear layers), got {depths}")
    rng0 = _as_rng(seed)
    if data is None:
        X = rng0.standard_normal((256, 64)).astype(np.float32)
        y = rng0.integers(0, 10, 256)
    else:
        X, y = _split_data(data, "depth_experiment: data")
        X = X.reshape(len(X), -1)
    n_in, n_out = X.shape[1], int(np.max(y)) + 1
    loss = nn.CrossEntropyLoss()
    variants = [bool(r) for r in residual]
    res = {"depths": np.array(depths), "width": width, "weight_decay": weight_decay, "steps": steps,
           "repeats": repeats, "variants": ["residual" if r else "plain" for r in variants]}
    total = len(variants) * len(depths) * repeats
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, desc="depth experiment", unit="net", dynamic_ncols=True)
        except ImportError:
            bar = None
    seeds = rng0.integers(0, 2**31, size=repeats)
    for r in variants:
        key = "residual" if r else "plain"
        norms = np.zeros((len(depths), repeats))
        sig = np.zeros((len(depths), repeats))
        for i, d in enumerate(depths):
            for k in range(repeats):
                rng = np.random.default_rng([int(seeds[k]), d, int(r)])
                model = mlp([n_in] + [width] * (d - 1) + [n_out], "relu", residual=r, rng=rng)
                model.train()
                if steps:
                    opt = SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
                    for _ in range(steps):
                        opt.zero_grad()
                        loss.forward(model(X), y)
                        model.backward(loss.backward())
                        _clip_grad_norm(model, clip)
                        opt.step()
                model.zero_grad()
                loss.forward(model(X), y)
                model.backward(loss.backward())
                g = _first_weight(model).grad
                norms[i, k] = float(np.linalg.norm(np.asarray(g, dtype=np.float64)))
                sig[i, k] = float(np.prod(list(spectral_norms(model).values())))
                if bar is not None:
                    bar.update(1)
        res[key] = np.median(norms, axis=1)
        res[key + "_all"] = norms
        res[key + "_sigma_prod"] = np.median(sig, axis=1)
    if bar is not None:
        bar.close()
    if plot is not None:
        plot_depth_experiment(res, plot)
    return res


def plot_depth_experiment(res, path, title=None):
    """Plot a :func:`depth_experiment` result (log-scale gradient norm
    against depth, one line per variant, the repeats as dots)."""
    from . import _plot
    fig, axes = _plot.figure(1, 1, figsize=(6.4, 4.4), what="plot_depth_experiment")
    ax = axes[0][0]
    d = res["depths"]
    styles = {"plain": ("tab:red", "o-", "plain ReLU MLP"),
              "residual": ("tab:blue", "s-", "residual ReLU MLP")}
    for key in res["variants"]:
        color, style, label = styles[key]
        ax.plot(d, res[key], style, color=color, label=label)
        allv = res[key + "_all"]
        for j in range(allv.shape[1]):
            ax.plot(d, allv[:, j], ".", color=color, alpha=0.35)
    ax.set_yscale("log")
    ax.set_xscale("log", base=2)
    ax.set_xticks(d)
    ax.set_xticklabels([str(int(v)) for v in d])
    ax.set_xlabel("depth (number of Linear layers)")
    ax.set_ylabel(r"first-layer gradient norm $\|\partial L/\partial W_1\|_F$")
    wd = res.get("weight_decay", 0.0)
    extra = f", {res['steps']} SGD steps, weight decay {wd:g}" if res.get("steps") else ", at initialization"
    ax.set_title(title or f"Vanishing gradients: width {res['width']}{extra}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _plot.save(fig, path)


# ---------------------------------------------------------------------------
# Loss landscape
# ---------------------------------------------------------------------------

def random_directions(model, normalization="filter", ignore_bias=True, rng=None):
    """One random direction in parameter space: a dict name -> array shaped
    like each parameter, drawn from N(0, 1) and normalized.

    ``normalization='filter'`` (Li et al. 2018): every filter d_i (a row of
    a Linear weight, one output channel of a convolution weight, i.e. a slice
    along axis 0) is rescaled to the norm of the matching filter of the
    weights, ``d_i <- d_i / |d_i| * |theta_i|``.  ``'layer'`` rescales each
    parameter tensor as a whole; ``None`` leaves the raw Gaussian.  With
    ``ignore_bias=True`` the direction is zero for 1-D parameters (biases),
    as in the paper."""
    if normalization not in ("filter", "layer", None):
        raise ValueError(f"normalization must be 'filter', 'layer' or None, got {normalization!r}")
    rng = _as_rng(rng)
    out = {}
    for name, p in model.named_parameters():
        theta = np.asarray(p.data, dtype=np.float64)
        d = rng.standard_normal(theta.shape)
        if theta.ndim <= 1 and ignore_bias:
            d[...] = 0.0
        elif normalization == "filter" and theta.ndim >= 2:
            axes = tuple(range(1, theta.ndim))
            tn = np.sqrt(np.sum(theta ** 2, axis=axes, keepdims=True))
            dn = np.sqrt(np.sum(d ** 2, axis=axes, keepdims=True))
            d *= tn / (dn + 1e-10)
        elif normalization is not None:
            d *= np.linalg.norm(theta) / (np.linalg.norm(d) + 1e-10)
        out[name] = d
    return out


def _grid(span, steps):
    if steps < 2:
        raise ValueError(f"loss_landscape: steps must be >= 2, got {steps}")
    half = (steps - 1) / 2.0
    return float(span) * (np.arange(steps) - half) / half


def loss_landscape(model, loss, data, directions=2, span=1.0, steps=21, normalization="filter",
                   seed=0, ignore_bias=True, batch_size=512, max_samples=None, plot=None,
                   progress=False, title=None):
    """Loss along random directions around the current weights theta.

    ``directions=1``: L(theta + a d1) for ``steps`` values of a in
    [-span, span]; ``directions=2``: L(theta + a d1 + b d2) on a steps x steps
    grid.  The directions come from :func:`random_directions` (filter
    normalization by default, seeded by ``seed``).  The loss is evaluated in
    eval mode on ``data = (X, y)`` (the first ``max_samples`` samples if
    given).  With an odd ``steps`` the grid contains 0 exactly, and the centre
    value equals ``evaluate(model, data, loss)['loss']``.  The weights are
    restored afterwards (also on error or Ctrl-C).

    Returns a dict: ``alphas`` (steps,), ``betas`` (2-D only), ``losses``
    ((steps,) or (steps, steps) indexed [beta, alpha]), ``accuracies`` (same
    shape, for classification), ``center_loss``.  With ``plot='file.png'`` it
    also saves a line plot (1-D) or a contour plot (2-D).
    """
    if directions not in (1, 2):
        raise ValueError(f"loss_landscape: directions must be 1 or 2, got {directions!r}")
    X, y = _split_data(data, "loss_landscape: data")
    if max_samples is not None:
        X, y = X[:max_samples], y[:max_samples]
    rng = _as_rng(seed)
    dirs = [random_directions(model, normalization, ignore_bias, rng) for _ in range(directions)]
    params = list(model.named_parameters())
    originals = {name: np.array(p.data, copy=True) for name, p in params}
    alphas = _grid(span, steps)
    betas = alphas if directions == 2 else np.zeros(1)
    losses = np.zeros((len(betas), len(alphas)))
    accs = None
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=losses.size, desc="loss landscape", unit="pt", dynamic_ncols=True)
        except ImportError:
            bar = None
    try:
        for j, b in enumerate(betas):
            for i, a in enumerate(alphas):
                for name, p in params:
                    theta = originals[name]
                    step = a * dirs[0][name]
                    if directions == 2:
                        step = step + b * dirs[1][name]
                    p.data[...] = theta + step.astype(theta.dtype)
                ev = evaluate(model, (X, y), loss, batch_size=batch_size)
                losses[j, i] = ev["loss"]
                if "accuracy" in ev:
                    if accs is None:
                        accs = np.zeros_like(losses)
                    accs[j, i] = ev["accuracy"]
                if bar is not None:
                    bar.update(1)
    finally:
        for name, p in params:
            p.data[...] = originals[name]
        if bar is not None:
            bar.close()
    res = {"alphas": alphas, "directions": directions, "span": span, "normalization": normalization}
    if directions == 2:
        res["betas"] = betas
        res["losses"] = losses
        res["accuracies"] = accs
    else:
        res["losses"] = losses[0]
        res["accuracies"] = None if accs is None else accs[0]
    c = (steps - 1) // 2
    res["center_loss"] = float(res["losses"][c] if directions == 1 else res["losses"][c, c]) \
        if steps % 2 == 1 else None
    if plot is not None:
        plot_landscape(res, plot, title=title)
    return res


def plot_landscape(res, path, title=None):
    """Plot a :func:`loss_landscape` result: a line (1-D) or filled contours
    on a log scale (2-D), with the trained weights marked at the origin."""
    from . import _plot
    norm = res.get("normalization")
    nlabel = {"filter": "filter-normalized", "layer": "layer-normalized", None: "unnormalized"}[norm]
    if res["directions"] == 1:
        fig, axes = _plot.figure(1, 1, figsize=(6.4, 4.4), what="plot_landscape")
        ax = axes[0][0]
        ax.plot(res["alphas"], res["losses"], "-", color="tab:blue", label="loss")
        if res.get("center_loss") is not None:
            ax.plot([0.0], [res["center_loss"]], "o", color="tab:red", label="trained weights")
        ax.set_xlabel(r"step $\alpha$ along the random direction $d_1$")
        ax.set_ylabel("loss")
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title(title or f"Loss along a {nlabel} random direction")
        return _plot.save(fig, path)
    from matplotlib import colors
    fig, axes = _plot.figure(1, 1, figsize=(6.4, 5.4), what="plot_landscape")
    ax = axes[0][0]
    L = np.asarray(res["losses"])
    A, B = np.meshgrid(res["alphas"], res["betas"])
    finite = L[np.isfinite(L)]
    lo, hi = max(float(finite.min()), 1e-12), float(finite.max())
    if hi / lo > 20:
        levels = np.geomspace(lo, hi, 25)
        cs = ax.contourf(A, B, L, levels=levels, norm=colors.LogNorm(lo, hi), cmap="viridis")
        ax.contour(A, B, L, levels=levels[::3], colors="white", linewidths=0.5, alpha=0.6)
        cb = fig.colorbar(cs, ax=ax, ticks=np.geomspace(lo, hi, 6))
        cb.ax.set_yticklabels([f"{v:.3g}" for v in np.geomspace(lo, hi, 6)])
    else:
        cs = ax.contourf(A, B, L, levels=25, cmap="viridis")
        ax.contour(A, B, L, levels=8, colors="white", linewidths=0.5, alpha=0.6)
        cb = fig.colorbar(cs, ax=ax)
    cb.set_label("loss" + (" (log scale)" if hi / lo > 20 else ""))
    ax.plot([0.0], [0.0], "*", color="tab:red", ms=12, label="trained weights")
    ax.set_xlabel(r"$\alpha$ (direction $d_1$)")
    ax.set_ylabel(r"$\beta$ (direction $d_2$)")
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    ax.set_title(title or f"Loss landscape: 2-D slice, {nlabel} random directions")
    return _plot.save(fig, path)
