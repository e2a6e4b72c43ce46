"""Random 1-D and 2-D slices of the loss landscape around trained weights,
with filter-normalized directions (Li et al. 2018).

    python examples/loss_landscape.py [--out DIR]
"""
import argparse
import os

import numpy as np

from nnkern import diagnostics as D
from nnkern import nn, optim
from nnkern.data import load_digits, train_val_test_split
from nnkern.models import mlp
from nnkern.train import fit

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", default="examples_out")
args = p.parse_args()
os.makedirs(args.out, exist_ok=True)

X, y = load_digits(flatten=True)
train, val, _ = train_val_test_split(X, y, seed=0)
loss = nn.CrossEntropyLoss()
for residual in (False, True):
    model = mlp([64] + [32] * 6 + [10], "relu", residual=residual, rng=0)
    fit(model, loss, optim.Adam(model.parameters(), lr=2e-3), train, val=val, epochs=30, progress=False)
    tag = "residual" if residual else "plain"
    line = D.loss_landscape(model, loss, train, directions=1, span=1.0, steps=41, seed=0,
                            plot=os.path.join(args.out, f"landscape_1d_{tag}.png"))
    grid = D.loss_landscape(model, loss, train, directions=2, span=1.0, steps=21, seed=0, progress=True,
                            plot=os.path.join(args.out, f"landscape_2d_{tag}.png"),
                            title=f"{tag} 7-layer MLP: 2-D loss slice")
    print(f"{tag}: centre loss {grid['center_loss']:.4f}, "
          f"1-D max {np.max(line['losses']):.3g}, 2-D max {np.max(grid['losses']):.3g}")
