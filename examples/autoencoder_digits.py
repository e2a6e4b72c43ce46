"""Autoencoders on the 8x8 digits: compress 64 pixels to a 2-D code and
look at the digits in that plane.

    python examples/autoencoder_digits.py [--out DIR] [--conv]

``Autoencoder.mlp([64, 128, 32, 2])`` mirrors its encoder into the decoder
(2 -> 32 -> 128 -> 64, sigmoid output); ``--conv`` uses
``Autoencoder.conv`` (Conv2d + MaxPool2d encoder, ConvTranspose2d decoder)
with a dense 2-D code instead.
"""
import argparse
import os

import numpy as np

from nnkern import nn, optim
from nnkern.data import load_digits, train_val_test_split
from nnkern.demo import plot_codes, plot_reconstructions
from nnkern.models import Autoencoder
from nnkern.train import EarlyStopping, fit, predict

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", default="examples_out")
p.add_argument("--epochs", type=int, default=120)
p.add_argument("--conv", action="store_true", help="convolutional autoencoder")
args = p.parse_args()
os.makedirs(args.out, exist_ok=True)

X, y = load_digits(flatten=not args.conv)
(Xtr, _), (Xva, _), (Xte, yte) = train_val_test_split(X, y, val=0.15, test=0.15, seed=0)

if args.conv:
    ae = Autoencoder.conv((1, 16, 32), code_dim=2, input_shape=(1, 8, 8), rng=0)
else:
    ae = Autoencoder.mlp([64, 128, 32, 2], output_activation="sigmoid", rng=0)
print(ae)
hist = fit(ae, nn.MSELoss(), optim.Adam(ae.parameters(), lr=2e-3), (Xtr, Xtr), val=(Xva, Xva),
           epochs=args.epochs, batch_size=32, early_stopping=EarlyStopping(patience=15), seed=0)
print(hist.stop_message)

ae.eval()
codes = ae.encode(Xte)                                  # (N, 2)
recon = predict(ae, Xte)
print("test reconstruction MSE:", float(np.mean((recon - Xte) ** 2)))
tag = "conv" if args.conv else "mlp"
print(plot_codes(codes, yte, os.path.join(args.out, f"ae_{tag}_codes.png"), "2-D codes of test digits"))
pick = [int(np.flatnonzero(yte == d)[0]) for d in range(10)]
print(plot_reconstructions(Xte[pick].reshape(10, -1), recon[pick].reshape(10, -1), yte[pick],
                           os.path.join(args.out, f"ae_{tag}_reconstructions.png"),
                           "originals (top) and reconstructions (bottom)"))
