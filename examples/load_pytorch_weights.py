"""Load a PyTorch-trained model's weights into nnkern.

    python examples/load_pytorch_weights.py

Trains the demo's small CNN in PyTorch for a few epochs, converts its state
dict to NumPy arrays (``{k: v.detach().numpy()}``), saves it as .npz with
nnkern.save, loads it into nnkern.models.small_cnn and checks that both
give the same predictions.  nnkern layers use PyTorch's weight layouts and
state-dict key names, so no renaming is needed.  Skips when torch is not
installed.
"""
import os
import sys
import tempfile

import numpy as np

try:
    import torch
except ImportError:
    print("PyTorch is not installed; skipping (pip install torch to run this example).")
    sys.exit(0)

import nnkern
from nnkern.data import load_digits, train_val_test_split
from nnkern.models import small_cnn
from nnkern.train import evaluate, predict

X, y = load_digits()
(Xtr, ytr), _, (Xte, yte) = train_val_test_split(X, y, seed=0)

torch.manual_seed(0)
tn = torch.nn
ref = tn.Sequential(tn.Conv2d(1, 16, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                    tn.Conv2d(16, 32, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                    tn.Flatten(), tn.Linear(32 * 2 * 2, 10))
opt = torch.optim.Adam(ref.parameters(), lr=3e-3)
xt, yt = torch.from_numpy(Xtr), torch.from_numpy(ytr)
for epoch in range(10):
    perm = torch.randperm(len(xt))
    for i in range(0, len(xt), 32):
        idx = perm[i:i + 32]
        opt.zero_grad()
        tn.functional.cross_entropy(ref(xt[idx]), yt[idx]).backward()
        opt.step()

state = {k: v.detach().cpu().numpy() for k, v in ref.state_dict().items()}
path = os.path.join(tempfile.mkdtemp(), "torch_cnn.npz")
nnkern.save(state, path)

model = small_cnn()
model.load_state_dict(nnkern.load(path))
with torch.no_grad():
    expected = ref(torch.from_numpy(Xte)).numpy()
got = predict(model, Xte)
print("keys:", list(state))
print("max |nnkern - torch| on the test logits:", float(np.max(np.abs(got - expected))))
print("same predicted class:", bool(np.all(got.argmax(1) == expected.argmax(1))))
print("nnkern test accuracy with the PyTorch weights:", evaluate(model, (Xte, yte))["accuracy"])
