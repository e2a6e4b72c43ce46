"""LeNet-5 on MNIST read from the original IDX files.

    python examples/mnist_idx.py DIR [--epochs N] [--limit N]

DIR holds train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz),
t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz) (downloaded by you;
nnkern never downloads anything).  load_idx reads raw or gzipped files and
names the file in its error when one is truncated or corrupt.
"""
import argparse
import os

import numpy as np

from nnkern import nn, optim
from nnkern.data import load_idx
from nnkern.models import lenet5
from nnkern.train import EarlyStopping, evaluate, fit

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("dir")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--limit", type=int, default=None, help="use only the first N training images")
args = p.parse_args()


def read(stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(args.dir, name)
        if os.path.exists(path):
            return load_idx(path)
    raise SystemExit(f"missing {stem}(.gz) in {args.dir}")


Xtr = read("train-images-idx3-ubyte")[:args.limit].astype(np.float32)[:, None] / 255
ytr = read("train-labels-idx1-ubyte")[:args.limit].astype(np.int64)
Xte = read("t10k-images-idx3-ubyte").astype(np.float32)[:, None] / 255
yte = read("t10k-labels-idx1-ubyte").astype(np.int64)
n_val = len(Xtr) // 12
model = lenet5(rng=0)
hist = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
           (Xtr[n_val:], ytr[n_val:]), val=(Xtr[:n_val], ytr[:n_val]), epochs=args.epochs,
           batch_size=64, early_stopping=EarlyStopping(patience=3), seed=0)
print(hist.stop_message)
print("test:", evaluate(model, (Xte, yte), nn.CrossEntropyLoss()))
