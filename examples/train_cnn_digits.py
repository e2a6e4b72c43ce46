"""Train the small CNN on the 8x8 digits with early stopping.

    python examples/train_cnn_digits.py [--out DIR] [--epochs N]

Shows: nnkern.data splits, nnkern.models.small_cnn, fit() with
EarlyStopping (restores the best weights), History.plot, evaluate, save/load.
"""
import argparse
import os

import nnkern
from nnkern import nn, optim
from nnkern.data import load_digits, train_val_test_split
from nnkern.models import small_cnn
from nnkern.train import EarlyStopping, evaluate, fit

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", default="examples_out")
p.add_argument("--epochs", type=int, default=60)
args = p.parse_args()
os.makedirs(args.out, exist_ok=True)

X, y = load_digits()                                   # (1797, 1, 8, 8), labels 0..9
train, val, test = train_val_test_split(X, y, val=0.15, test=0.15, seed=0)

model = small_cnn(rng=0)                               # conv-ReLU-pool, conv-ReLU-pool, dense
model.summary((1, 1, 8, 8))
loss = nn.CrossEntropyLoss()
hist = fit(model, loss, optim.Adam(model.parameters(), lr=3e-3), train, val=val,
           epochs=args.epochs, batch_size=32, early_stopping=EarlyStopping(patience=8), seed=0)
print(hist.stop_message)
print("test:", evaluate(model, test, loss))
print("curves:", hist.plot(os.path.join(args.out, "cnn_curves.png")))

path = os.path.join(args.out, "cnn.npz")
nnkern.save(model.state_dict(), path)                  # .npz, no pickled code
fresh = small_cnn()
fresh.load_state_dict(nnkern.load(path))
print("reloaded model, test:", evaluate(fresh, test, loss))
