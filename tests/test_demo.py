"""The main job: ``python -m nnkern demo --quick`` end to end."""
import json
import os
import subprocess
import sys

import nnkern
from nnkern.__main__ import main

PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nnkern.__file__)))

EXPECTED = ["cnn_learning_curves.png", "autoencoder_codes.png", "autoencoder_reconstructions.png",
            "depth_experiment.png", "loss_landscape.png", "cnn_weights.npz", "summary.json"]


def test_demo_quick_end_to_end(tmp_path, capsys, restore_threads):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Summary" in printed and "CNN test accuracy" in printed
    for name in EXPECTED:
        assert (out / name).is_file(), name
        if name.endswith(".png"):
            data = (out / name).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    s = json.loads((out / "summary.json").read_text())
    assert s["mode"] == "quick" and s["threads"] == 1
    assert s["cnn"]["test_accuracy"] >= 0.9
    assert s["cnn"]["stop_reason"] in ("epochs", "early_stopping")
    ae = s["autoencoder"]
    assert ae["train_loss_first_last"][1] < ae["train_loss_first_last"][0]
    dx = s["depth_experiment"]
    assert dx["plain_decay_factor"] < 0.1 < dx["residual_decay_factor"]
    land = s["loss_landscape"]
    assert land["min_loss"] <= land["center_loss"] < land["max_loss"]
    assert set(s["files"].values()) == set(EXPECTED[:-1])
    # the saved weights reproduce the reported test accuracy
    from nnkern.data import load_digits, train_val_test_split
    from nnkern.models import small_cnn
    from nnkern.train import evaluate
    X, y = load_digits()
    test = train_val_test_split(X, y, val=0.15, test=0.15, seed=0)[2]
    cnn = small_cnn()
    cnn.load_state_dict(nnkern.load(out / "cnn_weights.npz"))
    assert evaluate(cnn, test)["accuracy"] == s["cnn"]["test_accuracy"]


def test_demo_help_lists_options():
    env = dict(os.environ, PYTHONPATH=PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "nnkern", "demo", "--help"], capture_output=True,
                         text=True, timeout=60, env=env, cwd=os.path.dirname(__file__))
    assert out.returncode == 0
    for opt in ("--out", "--threads", "--quick", "--seed", "--no-progress"):
        assert opt in out.stdout
