"""nnkern.save / nnkern.load: state dicts (and optimizer state) in .npz files.

The file is an ordinary ``.npz`` archive read with ``allow_pickle=False``:
every array is stored as its own member, and one extra member,
``__nnkern__``, holds a JSON description of the object's structure (nested
dicts, lists, tuples, strings, numbers, booleans, None, arrays).  No code
is pickled.  ``load`` reads and checks the whole file before returning, so
a corrupt or truncated file raises a ValueError and nothing is half-loaded
(``Module.load_state_dict`` then validates every key and shape before it
assigns anything).  ``save`` writes to a temporary file and renames it, so
an interrupted save never leaves a half-written checkpoint behind.
"""
import json
import numbers
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["save", "load", "SerializationError"]

_META = "__nnkern__"
_FORMAT = "nnkern-npz-1"


class SerializationError(ValueError):
    """A file that is not a valid nnkern checkpoint (corrupt, truncated,
    foreign, or inconsistent)."""


def _encode(obj, arrays, where):
    from .nn.module import Module, Parameter
    if isinstance(obj, Parameter):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufc" or obj.dtype.hasobject:
            raise TypeError(f"nnkern.save: array at {where} has dtype {obj.dtype}, which cannot "
                            f"be stored without pickle")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"t": "array", "k": key}
    if isinstance(obj, Module):
        raise TypeError("nnkern.save stores data, not code: save model.state_dict() and "
                        "rebuild the model before model.load_state_dict(nnkern.load(path))")
    if obj is None or isinstance(obj, (bool, str)):
        return {"t": "value", "v": obj}
    if isinstance(obj, np.generic):
        return _encode(np.asarray(obj), arrays, where)
    if isinstance(obj, numbers.Integral):
        return {"t": "value", "v": int(obj)}
    if isinstance(obj, numbers.Real):
        f = float(obj)
        if f != f or f in (float("inf"), float("-inf")):
            return {"t": "float", "v": repr(f)}
        return {"t": "value", "v": f}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, numbers.Integral)):
                raise TypeError(f"nnkern.save: dict key {k!r} at {where} must be a str or int")
            kk = k if isinstance(k, str) else int(k)
            items.append([kk, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"t": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"t": "list" if isinstance(obj, list) else "tuple",
                "items": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if hasattr(obj, "__array__") and hasattr(obj, "shape"):  # e.g. torch tensors
        return _encode(np.asarray(obj), arrays, where)
    raise TypeError(f"nnkern.save: cannot store an object of type {type(obj).__name__} "
                    f"(at {where})")


def save(obj, path):
    """Save ``obj`` -- typically ``model.state_dict()``, an optimizer's
    ``state_dict()``, or a dict of several of them plus metadata -- to
    ``path`` as a .npz archive (the name is used as given).  Supported:
    nested dicts (str/int keys), lists, tuples, NumPy arrays, Parameters,
    numbers, strings, booleans and None."""
    arrays = {}
    tree = _encode(obj, arrays, "obj")
    meta = json.dumps({"format": _FORMAT, "tree": tree})
    payload = dict(arrays)
    payload[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".nnkern-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _decode(node, arrays, used):
    t = node["t"]
    if t == "array":
        used.add(node["k"])
        return arrays[node["k"]]
    if t == "value":
        return node["v"]
    if t == "float":
        return float(node["v"])
    if t == "dict":
        return {k: _decode(v, arrays, used) for k, v in node["items"]}
    if t == "list":
        return [_decode(v, arrays, used) for v in node["items"]]
    if t == "tuple":
        return tuple(_decode(v, arrays, used) for v in node["items"])
    raise SerializationError(f"unknown node type {t!r}")


def load(path):
    """Load an object saved by :func:`save`.  Raises FileNotFoundError for a
    missing file and :class:`SerializationError` (a ValueError) for a file
    that is corrupt, truncated or not an nnkern checkpoint."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"nnkern.load: no such file: {path!r}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if _META not in names:
                raise SerializationError(f"nnkern.load: {path!r} is a .npz file but not an "
                                         f"nnkern checkpoint (no {_META} entry)")
            meta = json.loads(bytes(npz[_META]).decode("utf-8"))
            fmt = meta.get("format") if isinstance(meta, dict) else meta
            if fmt != _FORMAT:
                raise SerializationError(f"nnkern.load: {path!r} has an unknown format {fmt!r}")
            arrays = {k: npz[k] for k in names if k != _META}  # reads (and CRC-checks) all
        used = set()
        obj = _decode(meta["tree"], arrays, used)
        if used != set(arrays):
            raise SerializationError(f"nnkern.load: {path!r} is inconsistent (arrays and "
                                     f"structure do not match)")
        return obj
    except SerializationError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, TypeError,
            UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SerializationError(f"nnkern.load: {path!r} is not a valid nnkern checkpoint "
                                 f"(corrupt or truncated file?): {exc}") from exc
