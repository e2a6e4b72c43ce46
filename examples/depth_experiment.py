"""Vanishing gradients: the first layer's gradient norm against depth, for
plain and residual ReLU MLPs.

    python examples/depth_experiment.py [--out DIR]

At PyTorch's default initialization the sigma_1 of each weight matrix is
below 1, so the plain network's first-layer gradient shrinks geometrically
with depth (the seed's bound: a product of sigma_1's).  Residual layers
x + relu(W x) keep an identity path and the gradient survives.  A few SGD
steps with weight decay shrink the weights further.
"""
import argparse
import os

from nnkern import diagnostics as D
from nnkern.data import load_digits

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", default="examples_out")
args = p.parse_args()
os.makedirs(args.out, exist_ok=True)

X, y = load_digits(flatten=True)
data = (X[:256], y[:256])
for wd, steps in ((0.0, 0), (0.05, 20)):
    res = D.depth_experiment([2, 4, 8, 16, 32], residual=(False, True), weight_decay=wd, steps=steps,
                             data=data, repeats=3, seed=0, progress=True,
                             plot=os.path.join(args.out, f"depth_wd{wd:g}.png"))
    print(f"weight decay {wd:g}, {steps} SGD steps")
    for key in ("plain", "residual"):
        print(f"  {key:8s}", " ".join(f"{v:9.2e}" for v in res[key]),
              "  product of sigma_1:", " ".join(f"{v:8.2e}" for v in res[key + "_sigma_prod"]))
