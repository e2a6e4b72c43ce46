"""Shared plotting plumbing (matplotlib, used without pyplot).

Figures are built with ``matplotlib.figure.Figure`` and written by the Agg
canvas, so nnkern never touches the user's pyplot backend or global state.
"""
import os

from .data import _require


def figure(nrows=1, ncols=1, figsize=(6.4, 4.8), what="plotting", **subplot_kw):
    """A new (Figure, axes) pair that does not go through pyplot."""
    _require("matplotlib", "matplotlib", what)
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw or None)
    return fig, axes


def save(fig, path, dpi=110):
    """Write ``fig`` to ``path`` (PNG from the extension) and return the path."""
    path = os.fspath(path)
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi)
    return path
