"""nnkern.data: digits, IDX files (incl. corrupt/truncated), splits, batches."""
import gzip
import struct
import sys

import numpy as np
import pytest

from nnkern import data
from nnkern.data import IDXError, batches, load_digits, load_idx, train_val_test_split


def write_idx(path, arr, tcode=None, compress=False):
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}
    arr = np.asarray(arr)
    tc = codes[arr.dtype.type] if tcode is None else tcode
    raw = struct.pack(">HBB", 0, tc, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    raw += arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(raw)
    return raw


# --------------------------------------------------------------------- digits

def test_load_digits_shapes_and_range():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    Xf, yf = load_digits(flatten=True, dtype=np.float64)
    assert Xf.shape == (1797, 64) and Xf.dtype == np.float64
    np.testing.assert_array_equal(Xf.reshape(X.shape).astype(np.float32), X)
    np.testing.assert_array_equal(y, yf)


def test_load_digits_rejects_bad_dtype():
    with pytest.raises(TypeError, match="float32 or float64"):
        load_digits(dtype=np.int32)


def test_load_digits_without_sklearn_names_the_extra(monkeypatch):
    # A None entry in sys.modules makes the import fail like a missing package.
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"nnkern\[demo\]"):
        data.load_digits()


# ------------------------------------------------------------------------ IDX

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_roundtrip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    p = tmp_path / ("a.idx.gz" if compress else "a.idx")
    write_idx(p, arr, compress=compress)
    got = load_idx(p)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_load_idx_mnist_like_labels_and_str_path(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    p = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(p, labels)
    np.testing.assert_array_equal(load_idx(str(p)), labels)


def test_load_idx_gzip_detected_by_content_not_name(tmp_path):
    arr = np.ones((2, 2), np.uint8)
    p = tmp_path / "plain_name"
    write_idx(p, arr, compress=True)
    np.testing.assert_array_equal(load_idx(p), arr)


@pytest.mark.parametrize("cut", [0, 3, 6, 17, -1])
def test_load_idx_truncated_names_file(tmp_path, cut):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = write_idx(tmp_path / "full.idx", arr)
    p = tmp_path / "cut.idx"
    p.write_bytes(raw[:cut] if cut >= 0 else raw[:-1])
    with pytest.raises(IDXError, match="cut.idx.*truncated"):
        load_idx(p)


def test_load_idx_trailing_bytes(tmp_path):
    raw = write_idx(tmp_path / "ok.idx", np.zeros(4, np.uint8))
    p = tmp_path / "long.idx"
    p.write_bytes(raw + b"\x00\x01")
    with pytest.raises(IDXError, match="long.idx.*trailing"):
        load_idx(p)


def test_load_idx_bad_magic(tmp_path):
    p = tmp_path / "bad.idx"
    p.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(IDXError, match="bad.idx.*magic"):
        load_idx(p)


def test_load_idx_unknown_type(tmp_path):
    p = tmp_path / "type.idx"
    write_idx(p, np.zeros(3, np.uint8), tcode=0x07)
    with pytest.raises(IDXError, match="type.idx.*data type code 0x07"):
        load_idx(p)


def test_load_idx_zero_dims(tmp_path):
    p = tmp_path / "zero.idx"
    p.write_bytes(struct.pack(">HBB", 0, 0x08, 0))
    with pytest.raises(IDXError, match="zero.idx.*0 dimensions"):
        load_idx(p)


def test_load_idx_corrupt_and_truncated_gzip(tmp_path):
    arr = np.arange(200, dtype=np.uint8)
    good = tmp_path / "g.gz"
    write_idx(good, arr, compress=True)
    blob = good.read_bytes()
    trunc = tmp_path / "trunc.gz"
    trunc.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(IDXError, match="trunc.gz.*gzip"):
        load_idx(trunc)
    bad = tmp_path / "corrupt.gz"
    mangled = bytearray(blob)
    for i in range(12, len(mangled) - 8):
        mangled[i] ^= 0xFF
    bad.write_bytes(bytes(mangled))
    with pytest.raises(IDXError, match="corrupt.gz"):
        load_idx(bad)


def test_idx_error_is_value_error():
    assert issubclass(IDXError, ValueError)


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope.idx")


# --------------------------------------------------------------------- splits

def test_split_sizes_disjoint_stratified_and_seeded():
    X = np.arange(1000, dtype=np.float32).reshape(-1, 1)
    y = np.repeat(np.arange(10), 100)
    tr, va, te = train_val_test_split(X, y, val=0.2, test=0.1, seed=3)
    assert (len(tr[0]), len(va[0]), len(te[0])) == (700, 200, 100)
    ids = np.concatenate([tr[0][:, 0], va[0][:, 0], te[0][:, 0]])
    assert len(np.unique(ids)) == 1000
    for part, k in ((va, 20), (te, 10)):
        np.testing.assert_array_equal(np.bincount(part[1]), np.full(10, k))
        np.testing.assert_array_equal(y[part[0][:, 0].astype(int)], part[1])
    again = train_val_test_split(X, y, val=0.2, test=0.1, seed=3)
    other = train_val_test_split(X, y, val=0.2, test=0.1, seed=4)
    np.testing.assert_array_equal(again[0][0], tr[0])
    assert not np.array_equal(other[0][0], tr[0])


def test_split_counts_and_unstratified():
    X = np.arange(50.0)
    y = np.linspace(0, 1, 50)  # float targets: no stratification
    tr, va, te = train_val_test_split(X, y, val=5, test=10, seed=0)
    assert (len(tr[0]), len(va[0]), len(te[0])) == (35, 5, 10)
    tr2, va2, te2 = train_val_test_split(X, y, val=0.1, test=0.0, seed=0, stratify=False)
    assert (len(tr2[0]), len(va2[0]), len(te2[0])) == (45, 5, 0)


@pytest.mark.parametrize("kw, match", [
    ({"val": 0.6, "test": 0.5}, "training data"),
    ({"val": -0.1}, "fraction"),
    ({"val": 1.5}, "fraction"),
    ({"test": 500}, "exceeds"),
])
def test_split_errors(kw, match):
    X, y = np.zeros((100, 2)), np.arange(100) % 3
    with pytest.raises(ValueError, match=match):
        train_val_test_split(X, y, **kw)
    with pytest.raises(ValueError, match="samples"):
        train_val_test_split(X, y[:5])


# -------------------------------------------------------------------- batches

def test_batches_cover_everything_in_order():
    X = np.arange(10)[:, None]
    y = np.arange(10)
    got = list(batches(X, y, batch_size=4))
    assert [len(b[0]) for b in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), y)
    assert [len(b) for b in batches(X, batch_size=3, drop_last=True)] == [3, 3, 3]


def test_batches_shuffle_reproducible_and_pairs_stay_aligned():
    X = np.arange(20) * 10
    y = np.arange(20)
    a = list(batches(X, y, batch_size=6, shuffle=True, rng=7))
    b = list(batches(X, y, batch_size=6, shuffle=True, rng=np.random.default_rng(7)))
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(xa, ya * 10)
    order = np.concatenate([p[1] for p in a])
    assert sorted(order) == list(range(20)) and list(order) != list(range(20))
    g = np.random.default_rng(0)
    e1 = np.concatenate([p[1] for p in batches(X, y, 6, True, g)])
    e2 = np.concatenate([p[1] for p in batches(X, y, 6, True, g)])
    assert list(e1) != list(e2)  # a shared generator gives a new order each epoch


def test_batches_errors():
    with pytest.raises(ValueError, match="positive"):
        list(batches(np.zeros(3), batch_size=0))
    with pytest.raises(TypeError, match="int"):
        list(batches(np.zeros(3), batch_size=2.5))
    with pytest.raises(ValueError, match="samples"):
        list(batches(np.zeros(3), np.zeros(4)))
