"""nnkern.save / nnkern.load: round trips, no pickle, clear errors."""
import os
import zipfile

import numpy as np
import pytest

import nnkern
from nnkern import nn, optim



def model(seed=0):
    return nn.Sequential(nn.Linear(3, 4, rng=seed), nn.ReLU(), nn.Linear(4, 2, rng=seed + 1))


def test_model_and_optimizer_roundtrip(tmp_path):
    m = model()
    opt = optim.Adam(m.parameters(), lr=0.01)
    x = np.ones((2, 3), np.float32)
    m(x)
    m.backward(np.ones((2, 2), np.float32))
    opt.step()
    path = tmp_path / "ckpt.npz"
    nnkern.save({"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 3,
                 "note": "hello", "hist": [0.5, float("nan")], "none": None}, path)
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary left, name kept
    ck = nnkern.load(path)
    assert ck["epoch"] == 3 and ck["note"] == "hello" and ck["none"] is None
    assert ck["hist"][0] == 0.5 and np.isnan(ck["hist"][1])
    m2 = model(seed=10)
    m2.load_state_dict(ck["model"])
    np.testing.assert_array_equal(m2(x), m(x))
    opt2 = optim.Adam(m2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["optim"])
    assert opt2.param_groups[0]["lr"] == 0.01
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)
    sd = opt.state_dict()
    sd2 = opt2.state_dict()
    assert sd2["state"][0]["step"] == sd["state"][0]["step"] == 1
    np.testing.assert_array_equal(sd2["state"][1]["exp_avg"], sd["state"][1]["exp_avg"])
    # the file is a plain npz readable without pickle
    with np.load(path, allow_pickle=False) as z:
        assert "__nnkern__" in z.files


def test_any_suffix_and_dtypes(tmp_path):
    path = tmp_path / "weights.pt"
    obj = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.int64(5),
           "t": (1, 2), 7: True}
    nnkern.save(obj, str(path))
    back = nnkern.load(str(path))
    assert back["a"].dtype == np.float32 and back["a"].shape == (2, 3)
    assert back["t"] == (1, 2) and back[7] is True


def test_refuses_code_and_objects(tmp_path):
    with pytest.raises(TypeError, match="state_dict"):
        nnkern.save(model(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="cannot store"):
        nnkern.save({"f": lambda x: x}, tmp_path / "f.npz")
    with pytest.raises(TypeError, match="dtype object"):
        nnkern.save({"o": np.array([object()])}, tmp_path / "o.npz")
    assert not list(tmp_path.iterdir())


def test_corrupt_truncated_and_foreign_files(tmp_path):
    m = model()
    good = tmp_path / "good.npz"
    nnkern.save(m.state_dict(), good)
    data = good.read_bytes()
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(nnkern.serialization.SerializationError, match="not a valid"):
        nnkern.load(trunc)
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF
    bad = tmp_path / "flip.npz"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(ValueError):
        nnkern.load(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, w=np.zeros(3))
    with pytest.raises(ValueError, match="not an nnkern checkpoint"):
        nnkern.load(foreign)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError):
        nnkern.load(text)
    with pytest.raises(FileNotFoundError):
        nnkern.load(tmp_path / "missing.npz")
    # a zip whose structure references a missing array
    odd = tmp_path / "odd.npz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(odd, "w") as zout:
        for item in zin.infolist():
            if item.filename != "a0.npy":
                zout.writestr(item, zin.read(item.filename))
    with pytest.raises(ValueError, match="not a valid"):
        nnkern.load(odd)


def test_mismatched_checkpoint_never_half_loads(tmp_path):
    path = tmp_path / "other.npz"
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5))
    nnkern.save(other.state_dict(), path)
    m = model()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=r"'2.weight': checkpoint shape \(5, 4\)"):
        m.load_state_dict(nnkern.load(path))
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_unknown_format_version(tmp_path):
    import json
    path = tmp_path / "future.npz"
    meta = json.dumps({"format": "nnkern-npz-99", "tree": {"t": "value", "v": 1}})
    np.savez(path, __nnkern__=np.frombuffer(meta.encode(), np.uint8))
    with pytest.raises(ValueError, match="unknown format 'nnkern-npz-99'"):
        nnkern.load(path)
    bad = tmp_path / "badjson.npz"
    np.savez(bad, __nnkern__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ValueError, match="not a valid"):
        nnkern.load(bad)
