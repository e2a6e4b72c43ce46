"""The main job, ``python -m nnkern demo [--out DIR] [--threads N] [--quick]``.

On the embedded 8x8 digits (1,797 images) it

1. trains a small CNN (conv, ReLU, max pool, conv, ReLU, max pool, dense)
   with early stopping and saves its learning curves;
2. trains an MLP autoencoder with a 2-D code and saves the code-space
   scatter (coloured by digit) and originals beside reconstructions;
3. runs the depth experiment (first-layer gradient norm against depth, plain
   vs residual ReLU MLPs);
4. saves a 2-D filter-normalized loss-landscape slice around the trained CNN;
5. prints a summary and writes ``summary.json``.

Everything is seeded (``--seed``); ``--quick`` shrinks every part to a few
seconds.
"""
import json
import os
import sys
import time

import numpy as np

import nnkern

# Settings per mode.  The full run takes about a minute on 2 cores.
FULL = dict(cnn_epochs=60, cnn_patience=8, cnn_batch=32, cnn_lr=3e-3,
            ae_sizes=[64, 128, 32, 2], ae_epochs=120, ae_batch=32, ae_lr=2e-3,
            depths=[2, 4, 8, 16, 32], depth_repeats=5,
            land_steps=25, land_span=1.0, land_samples=600)
QUICK = dict(cnn_epochs=12, cnn_patience=4, cnn_batch=32, cnn_lr=3e-3,
             ae_sizes=[64, 128, 32, 2], ae_epochs=15, ae_batch=32, ae_lr=3e-3,
             depths=[2, 4, 8, 16], depth_repeats=3,
             land_steps=11, land_span=1.0, land_samples=300)


def _say(msg, quiet=False):
    if not quiet:
        print(msg, flush=True)


def train_cnn(data, cfg, seed, progress):
    """Part 1: the small CNN with early stopping."""
    from . import nn, optim
    from .models import small_cnn
    from .train import EarlyStopping, evaluate, fit
    train, val, test = data
    model = small_cnn(num_classes=10, in_channels=1, input_size=8, rng=seed)
    loss = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=cfg["cnn_lr"])
    hist = fit(model, loss, opt, train, val=val, epochs=cfg["cnn_epochs"], batch_size=cfg["cnn_batch"],
               early_stopping=EarlyStopping(patience=cfg["cnn_patience"]), progress=progress, seed=seed)
    ev = evaluate(model, test, loss)
    return model, loss, hist, ev


def train_autoencoder(data, cfg, seed, progress):
    """Part 2: an MLP autoencoder with a 2-D code."""
    from . import nn, optim
    from .models import Autoencoder
    from .train import EarlyStopping, fit
    (Xtr, _), (Xva, _), _ = data
    flat = lambda X: X.reshape(len(X), -1)  # noqa: E731
    ae = Autoencoder.mlp(cfg["ae_sizes"], activation="relu", output_activation="sigmoid", rng=seed)
    loss = nn.MSELoss()
    opt = optim.Adam(ae.parameters(), lr=cfg["ae_lr"])
    hist = fit(ae, loss, opt, (flat(Xtr), flat(Xtr)), val=(flat(Xva), flat(Xva)),
               epochs=cfg["ae_epochs"], batch_size=cfg["ae_batch"],
               early_stopping=EarlyStopping(patience=15), progress=progress, seed=seed)
    return ae, hist


def plot_codes(codes, labels, path, title):
    from . import _plot
    fig, axes = _plot.figure(1, 1, figsize=(6.8, 5.6), what="the demo")
    ax = axes[0][0]
    from matplotlib import colormaps
    cmap = colormaps["tab10"]
    for d in range(10):
        sel = labels == d
        ax.scatter(codes[sel, 0], codes[sel, 1], s=10, color=cmap(d), alpha=0.75, label=str(d))
        if sel.any():
            cx, cy = np.median(codes[sel, 0]), np.median(codes[sel, 1])
            ax.text(cx, cy, str(d), fontsize=14, fontweight="bold", ha="center", va="center",
                    color=cmap(d), bbox=dict(boxstyle="circle,pad=0.15", fc="white", ec=cmap(d), alpha=0.85))
    ax.set_xlabel("code dimension 1")
    ax.set_ylabel("code dimension 2")
    ax.set_title(title)
    ax.legend(title="digit", loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=2, frameon=False)
    ax.grid(True, alpha=0.3)
    return _plot.save(fig, path)


def plot_reconstructions(originals, recons, labels, path, title):
    from . import _plot
    n = len(originals)
    fig, axes = _plot.figure(2, n, figsize=(1.0 * n + 1.2, 2.9), what="the demo")
    for i in range(n):
        for row, imgs in enumerate((originals, recons)):
            ax = axes[row][i]
            ax.imshow(imgs[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"digit {labels[i]}", fontsize=9)
        axes[0][0].set_ylabel("original", fontsize=10)
        axes[1][0].set_ylabel("reconstructed", fontsize=10)
    fig.suptitle(title)
    return _plot.save(fig, path)


def run_demo(args):
    """Run the main job with parsed command-line ``args`` (see
    ``python -m nnkern demo --help``).  Returns the exit status (130 when
    interrupted with Ctrl-C outside a training loop)."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _run(args):
    from . import diagnostics as D
    from .data import load_digits, train_val_test_split
    from .train import predict

    quick = bool(getattr(args, "quick", False))
    seed = int(getattr(args, "seed", 0))
    progress = not getattr(args, "no_progress", False)
    out = os.path.abspath(getattr(args, "out", "demo_out"))
    os.makedirs(out, exist_ok=True)
    cfg = QUICK if quick else FULL
    files = {}
    timings = {}
    t_start = time.perf_counter()

    cfg_info = nnkern.show_config(print_out=False)
    _say(f"nnkern {nnkern.__version__} demo ({'quick' if quick else 'full'} run): "
         f"{cfg_info['num_threads']} thread(s), ISA {cfg_info['isa']}, output in {out}")

    X, y = load_digits()
    data = train_val_test_split(X, y, val=0.15, test=0.15, seed=seed)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = data
    _say(f"digits: {len(X)} images 8x8 -> train {len(Xtr)}, validation {len(Xva)}, test {len(Xte)}")

    # 1. CNN ------------------------------------------------------------------
    _say("\n[1/4] small CNN (conv-ReLU-maxpool x2, dense) with early stopping")
    t0 = time.perf_counter()
    cnn, ce, hist, ev = train_cnn(data, cfg, seed, progress)
    timings["cnn"] = time.perf_counter() - t0
    files["learning_curves"] = hist.plot(os.path.join(out, "cnn_learning_curves.png"),
                                         title="Small CNN on 8x8 digits")
    files["cnn_weights"] = os.path.join(out, "cnn_weights.npz")
    nnkern.save(cnn.state_dict(), files["cnn_weights"])
    _say(f"      stopped after epoch {hist.stop_epoch} ({hist.stop_reason}); best epoch "
         f"{hist.best_epoch}; test accuracy {100 * ev['accuracy']:.2f}% ({ev['n']} images)")

    # 2. Autoencoder ----------------------------------------------------------
    _say("\n[2/4] MLP autoencoder " + "-".join(map(str, cfg["ae_sizes"])) + " with a 2-D code")
    t0 = time.perf_counter()
    ae, ae_hist = train_autoencoder(data, cfg, seed, progress)
    timings["autoencoder"] = time.perf_counter() - t0
    Xte_flat = Xte.reshape(len(Xte), -1)
    ae.eval()
    codes = np.concatenate([ae.encode(Xte_flat[i:i + 256]) for i in range(0, len(Xte_flat), 256)])
    recon = predict(ae, Xte_flat)
    recon_mse = float(np.mean((recon - Xte_flat) ** 2))
    files["code_scatter"] = plot_codes(codes, yte, os.path.join(out, "autoencoder_codes.png"),
                                       f"Autoencoder 2-D codes of {len(Xte)} test digits")
    pick = [int(np.flatnonzero(yte == d)[0]) for d in range(10) if np.any(yte == d)]
    files["reconstructions"] = plot_reconstructions(
        Xte_flat[pick], recon[pick], yte[pick], os.path.join(out, "autoencoder_reconstructions.png"),
        f"Test digits and their reconstructions from a 2-D code (MSE {recon_mse:.4f})")
    _say(f"      {ae_hist.stop_epoch} epochs ({ae_hist.stop_reason}); test reconstruction MSE {recon_mse:.4f}")

    # 3. Depth experiment -----------------------------------------------------
    _say("\n[3/4] depth experiment: first-layer gradient norm, plain vs residual ReLU MLPs")
    t0 = time.perf_counter()
    depth = D.depth_experiment(cfg["depths"], residual=(False, True), width=32,
                               data=(Xtr[:256].reshape(256, -1), ytr[:256]),
                               repeats=cfg["depth_repeats"], seed=seed,
                               plot=os.path.join(out, "depth_experiment.png"), progress=progress)
    timings["depth_experiment"] = time.perf_counter() - t0
    files["depth_experiment"] = os.path.join(out, "depth_experiment.png")
    for key in ("plain", "residual"):
        _say(f"      {key:8s}: " + ", ".join(f"depth {d}: {v:.2e}" for d, v in zip(depth["depths"], depth[key])))

    # 4. Loss landscape -------------------------------------------------------
    _say("\n[4/4] 2-D loss-landscape slice around the trained CNN (filter-normalized directions)")
    t0 = time.perf_counter()
    n_land = min(cfg["land_samples"], len(Xtr))
    land = D.loss_landscape(cnn, ce, (Xtr[:n_land], ytr[:n_land]), directions=2, span=cfg["land_span"],
                            steps=cfg["land_steps"], normalization="filter", seed=seed,
                            plot=os.path.join(out, "loss_landscape.png"), progress=progress,
                            title="Loss landscape of the trained CNN\n"
                                  "2-D slice along filter-normalized random directions")
    timings["loss_landscape"] = time.perf_counter() - t0
    files["loss_landscape"] = os.path.join(out, "loss_landscape.png")
    _say(f"      centre loss {land['center_loss']:.4f}, max on the grid {np.max(land['losses']):.3g}")

    # 5. Summary --------------------------------------------------------------
    total = time.perf_counter() - t_start
    summary = {
        "nnkern_version": nnkern.__version__,
        "mode": "quick" if quick else "full",
        "seed": seed,
        "threads": cfg_info["num_threads"],
        "isa": cfg_info["isa"],
        "data": {"name": "sklearn digits 8x8", "n_train": len(Xtr), "n_val": len(Xva), "n_test": len(Xte)},
        "cnn": {
            "test_accuracy": ev["accuracy"], "test_loss": ev["loss"],
            "epochs_run": hist.stop_epoch, "best_epoch": hist.best_epoch,
            "stop_reason": hist.stop_reason, "best_val_loss": hist.best_loss,
            "parameters": cnn.num_parameters(),
            "train_samples_per_sec": float(np.median(hist.samples_per_sec)),
            "history": hist.to_dict(),
        },
        "autoencoder": {
            "sizes": cfg["ae_sizes"], "epochs_run": ae_hist.stop_epoch, "stop_reason": ae_hist.stop_reason,
            "test_reconstruction_mse": recon_mse,
            "train_loss_first_last": [ae_hist.train_loss[0], ae_hist.train_loss[-1]],
        },
        "depth_experiment": {
            "depths": [int(d) for d in depth["depths"]],
            "plain_first_layer_grad_norm": [float(v) for v in depth["plain"]],
            "residual_first_layer_grad_norm": [float(v) for v in depth["residual"]],
            "plain_decay_factor": float(depth["plain"][-1] / depth["plain"][0]),
            "residual_decay_factor": float(depth["residual"][-1] / depth["residual"][0]),
        },
        "loss_landscape": {
            "steps": cfg["land_steps"], "span": cfg["land_span"], "center_loss": land["center_loss"],
            "min_loss": float(np.min(land["losses"])), "max_loss": float(np.max(land["losses"])),
        },
        "timings_sec": {**{k: round(v, 3) for k, v in timings.items()}, "total": round(total, 3)},
        "files": {k: os.path.basename(v) for k, v in files.items()},
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    files["summary"] = os.path.join(out, "summary.json")

    dx = summary["depth_experiment"]
    rows = [
        ("CNN test accuracy", f"{100 * ev['accuracy']:.2f}%  (target >= 97%; {hist.stop_epoch} epochs, "
                              f"stopped by {hist.stop_reason}, best epoch {hist.best_epoch})"),
        ("Autoencoder (2-D code)", f"test reconstruction MSE {recon_mse:.4f}"),
        (f"Depth {dx['depths'][0]} -> {dx['depths'][-1]}",
         f"first-layer gradient x{dx['plain_decay_factor']:.2g} plain, "
         f"x{dx['residual_decay_factor']:.2g} residual"),
        ("Loss landscape", f"centre {land['center_loss']:.4f}, grid max {np.max(land['losses']):.3g}"),
        ("Time", f"{total:.1f} s on {cfg_info['num_threads']} thread(s)"),
    ]
    lines = ["", "Summary", "-------"] + [f"{k:<24}{v}" for k, v in rows] + [
        f"Files in {out}:",
    ] + [f"  {os.path.basename(p)}" for p in files.values()]
    print("\n".join(lines), flush=True)
    if not quick and ev["accuracy"] < 0.97:
        print(f"warning: CNN test accuracy {100 * ev['accuracy']:.2f}% is below the 97% target",
              file=sys.stderr)
    return 0
