"""Module and Parameter: the base of every layer.

A :class:`Module` computes ``forward(x)`` and, afterwards, ``backward(g)``:
given the gradient of a scalar loss with respect to the module's output, it
returns the gradient with respect to its input and *accumulates* the
gradients of its parameters into ``p.grad`` (``None`` counts as zero, as in
PyTorch; ``zero_grad()`` resets them to ``None``).  A forward caches only
what its backward needs, for one call: calling a module twice before
``backward`` keeps the second call's cache.
"""
import functools
import inspect
from collections import OrderedDict, namedtuple

import numpy as np

__all__ = ["Module", "Parameter"]

# Set by Module.summary() while it traces a forward; None otherwise.
_TRACER = None


class Parameter:
    """A trainable array: ``.data`` (the values, updated in place by the
    optimizers) and ``.grad`` (``None`` or an array of the same shape)."""

    __slots__ = ("data", "grad", "requires_grad")

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Parameter):
            data = data.data
        data = np.asarray(data)
        if data.dtype not in (np.float32, np.float64):
            raise TypeError(f"Parameter data must be float32 or float64, got {data.dtype}")
        self.data = np.ascontiguousarray(data)
        self.grad = None
        self.requires_grad = bool(requires_grad)

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def numel(self):
        return self.data.size

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _layer_name(module):
    return f"{type(module).__name__}({module.extra_repr()})"


class Module:
    """Base class of all layers.

    Subclasses implement ``forward(x)`` and ``backward(grad_output)``, and
    register parameters and sub-modules simply by assigning them as
    attributes (``self.weight = Parameter(...)``, ``self.block = Linear(...)``),
    which gives them PyTorch's state-dict key names (``block.weight``).
    """

    # True when forward returns a new array that no one else references (so
    # a following ReLU may overwrite it in place).
    _fresh_output = False
    # True for activations that can run in place (they define _forward_inplace).
    _can_inplace = False
    # True when backward() takes input_grad=False (skip the input gradient).
    _supports_input_grad = False
    # Ownership of what backward returns: True = a new array no one else
    # references; None = a view of grad_output (owned if grad_output was);
    # False = unknown (e.g. user modules).  Lets Sequential run activation
    # backward passes in place.
    _fresh_grad = False

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ----------------------------------------------------
    # Parameters, buffers and child modules live in their ordered stores
    # (_parameters, _buffers, _modules: traversal, state dicts) and are
    # mirrored in the instance __dict__, so that reading them (self.weight)
    # is an ordinary attribute lookup in the hot paths.
    def __setattr__(self, name, value):
        d = self.__dict__
        params, bufs, mods = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            mods.pop(name, None)
            bufs.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            bufs.pop(name, None)
            mods[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter "
                                f"{name!r} (a Parameter or None is expected)")
            params[name] = None
        elif name in mods:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (a Module or None is expected)")
            mods[name] = None
        elif name in bufs:
            value = None if value is None else np.asarray(value)
            bufs[name] = value
        d[name] = value

    def __getattr__(self, name):
        # Only called when normal lookup fails.
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {type(param).__name__} as parameter {name!r}")
        self.__dict__["_parameters"][name] = param
        self.__dict__[name] = param

    def register_buffer(self, name, array):
        """A non-trainable array saved in the state dict (like running stats)."""
        array = None if array is None else np.asarray(array)
        self.__dict__["_buffers"][name] = array
        self.__dict__[name] = array

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        name = str(name)
        self.__dict__["_modules"][name] = module
        self.__dict__[name] = module

    # -- computation -----------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        # A layer's backward(grad_output) gets a TypeError naming the layer for
        # a grad_output that is not an ndarray (None, a string, ...), instead
        # of an AttributeError from deep inside it.  Losses, whose
        # grad_output defaults to a scalar 1.0, check their own.
        super().__init_subclass__(**kwargs)
        bw = cls.__dict__.get("backward")
        if bw is None or getattr(bw, "_nk_checked", False):
            return
        param = inspect.signature(bw).parameters.get("grad_output")
        if param is None or param.default is not inspect.Parameter.empty:
            return

        @functools.wraps(bw)
        def backward(self, grad_output, *args, **kw):
            if not isinstance(grad_output, np.ndarray):
                raise TypeError(f"{_layer_name(self)}: backward expects grad_output as a "
                                f"numpy.ndarray, got {type(grad_output).__name__}")
            return bw(self, grad_output, *args, **kw)
        backward._nk_checked = True
        cls.backward = backward

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output):
        """Gradient w.r.t. the input; accumulates parameter gradients.
        nnkern's built-in modules also take ``input_grad=False``: then the
        input gradient is not computed (returns None) -- pass it at the root
        (``model.backward(g, input_grad=False)``) to save the first layer's
        backward-data work, as PyTorch does for inputs without requires_grad."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, *args, **kwargs):
        if _TRACER is None:
            return self.forward(*args, **kwargs)
        return _TRACER(self, args, kwargs)

    def _no_forward(self):
        return RuntimeError(
            f"{_layer_name(self)}: backward() called before forward(); run a forward "
            f"pass first (the backward pass needs what the forward caches)")

    # -- traversal -------------------------------------------------------
    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix=""):
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield mp + ("." if mp else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield mp + ("." if mp else "") + name, b

    def num_parameters(self):
        return sum(p.data.size for p in self.parameters())

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and on
        self, as torch's ``Module.apply`` (e.g. for a custom initialisation);
        returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and gradients ---------------------------------------------
    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter: frozen parameters get
        no gradient (their weight-gradient GEMMs are skipped) and optimizers
        leave them alone; returns self."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Reset the parameter gradients (to ``None`` by default, as PyTorch)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def to(self, dtype):
        """Cast every parameter and buffer to float32 or float64 (in place on
        the module: the Parameter objects stay, their ``.data`` is replaced;
        gradients are dropped)."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"to(): nnkern supports float32 and float64, got {dtype}")
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.data.dtype != dtype:
                    p.data = p.data.astype(dtype)
                    p.grad = None
            for k, b in list(m._buffers.items()):
                if b is not None and b.dtype.kind == "f":
                    m.register_buffer(k, b.astype(dtype))
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # -- state dicts -----------------------------------------------------
    def state_dict(self, destination=None, prefix=""):
        """Ordered mapping from PyTorch-style keys (``0.weight``,
        ``block.1.bias``) to the parameter and buffer arrays.  The arrays are
        the module's own (no copy), as in PyTorch: copy them to keep a
        snapshot."""
        if destination is None:
            destination = OrderedDict()
        for mp, m in self.named_modules(prefix=prefix.rstrip(".")):
            pre = mp + ("." if mp else "")
            for name, p in m._parameters.items():
                if p is not None:
                    destination[pre + name] = p.data
            for name, b in m._buffers.items():
                if b is not None:
                    destination[pre + name] = b
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays from ``state_dict`` into the parameters and buffers.

        Everything is validated before anything is assigned: with
        ``strict=True`` missing or unexpected keys raise a KeyError listing
        them, and a shape mismatch always raises a ValueError listing every
        mismatching key with both shapes -- the module is then unchanged.
        Values may be NumPy arrays or anything ``numpy.asarray`` accepts (such
        as CPU torch tensors from ``torch_model.state_dict()``); they are cast
        to the parameter's dtype.  Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict expects a mapping, got {type(state_dict).__name__}")
        own = OrderedDict()
        for mp, m in self.named_modules():
            pre = mp + ("." if mp else "")
            for name, p in m._parameters.items():
                if p is not None:
                    own[pre + name] = (m, name, p)
            for name, b in m._buffers.items():
                if b is not None:
                    own[pre + name] = (m, name, None)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                parts.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
            raise KeyError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                           + "; ".join(parts))
        staged, bad = [], []
        for key, (m, name, p) in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch tensors
                value = value.detach().cpu().numpy()
            try:
                value = np.asarray(value)
            except Exception as exc:  # e.g. a torch tensor that requires grad
                raise TypeError(f"load_state_dict: value for {key!r} cannot be converted "
                                f"to an array ({exc})") from exc
            target = p.data if p is not None else m._buffers[name]
            if value.shape != target.shape:
                bad.append(f"{key!r}: checkpoint shape {value.shape}, "
                           f"model shape {target.shape}")
                continue
            if value.dtype.kind not in "fiub":
                bad.append(f"{key!r}: unsupported dtype {value.dtype}")
                continue
            staged.append((m, name, p, value))
        if bad:
            raise ValueError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                             + "; ".join(bad))
        for m, name, p, value in staged:
            if p is not None:
                np.copyto(p.data, value, casting="unsafe")
            else:
                buf = m._buffers[name]
                np.copyto(buf, value, casting="unsafe")
        return _IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            mod = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {mod}")
        main = type(self).__name__ + "(" + self.extra_repr()
        if lines:
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def summary(self, input_shape, dtype=None, print_out=True):
        """Print (and return as a string) a table of every layer's output
        shape and parameter count, by running one forward pass on zeros of
        ``input_shape`` (including the batch dimension, e.g. ``(1, 1, 28, 28)``)
        in eval mode.  The module's caches are refreshed; its mode is
        restored."""
        global _TRACER
        if dtype is None:
            p = next(iter(self.parameters()), None)
            dtype = p.dtype if p is not None else np.float32
        names = {id(m): n for n, m in self.named_modules()}
        rows = []
        depth = [0]

        def tracer(mod, args, kwargs):
            row = [names.get(id(mod), "?"), depth[0], mod, None]
            rows.append(row)
            depth[0] += 1
            try:
                out = mod.forward(*args, **kwargs)
            finally:
                depth[0] -= 1
            row[3] = out
            return out

        was_training = [(m, m.training) for m in self.modules()]
        self.eval()
        x = np.zeros(tuple(int(s) for s in input_shape), dtype=dtype)
        _TRACER = tracer
        try:
            self(x)
        finally:
            _TRACER = None
            for m, t in was_training:
                object.__setattr__(m, "training", t)

        def shape_of(out):
            if isinstance(out, tuple):
                return ", ".join(str(tuple(o.shape)) for o in out)
            return str(tuple(np.shape(out)))

        table = [("Layer (type)", "Output Shape", "Param #")]
        for name, d, mod, out in rows:
            label = ("  " * max(d - 1, 0)) + (name or "(model)") + f" ({type(mod).__name__})"
            own = sum(p.data.size for p in mod._parameters.values() if p is not None)
            table.append((label, shape_of(out), f"{own:,}"))
        w0 = max(len(r[0]) for r in table) + 2
        w1 = max(len(r[1]) for r in table) + 2
        w2 = max(len(r[2]) for r in table)
        width = w0 + w1 + w2
        lines = ["=" * width]
        for i, (a, b, c) in enumerate(table):
            lines.append(f"{a:<{w0}}{b:<{w1}}{c:>{w2}}")
            if i == 0:
                lines.append("=" * width)
        total = self.num_parameters()
        trainable = sum(p.data.size for p in self.parameters() if p.requires_grad)
        lines += ["=" * width, f"Total params: {total:,}",
                  f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", "=" * width]
        text = "\n".join(lines)
        if print_out:
            print(text)
        return text


# -- helpers shared by the layer modules ---------------------------------------
def _accumulate_grad(p, g):
    """p.grad += g, where None counts as zero (g is owned by the caller and
    freshly computed, so it is adopted without a copy)."""
    if p.grad is None:
        p.grad = g
    else:
        p.grad += g


def _size_arg(module_name, name, v):
    """A layer size (features, channels, groups) as a Python int: ints only
    (int(inf) raised OverflowError, int(2.7) silently truncated, and
    int("3") accepted a string)."""
    import numbers
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{module_name}: {name} must be an int, got {v!r}")
    return int(v)


def _as_input(module, x):
    """Check that x is a float ndarray of the module's parameter dtype."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{_layer_name(module)}: expected a numpy.ndarray input, "
                        f"got {type(x).__name__}")
    return x


def _check_dtype(module, x, w):
    if x.dtype != w.dtype:
        if x.dtype in (np.float32, np.float64):
            raise TypeError(
                f"{_layer_name(module)}: input dtype {x.dtype} does not match the layer's "
                f"parameter dtype {w.dtype}; cast the input or the model "
                f"(model.float() / model.double())")
        raise TypeError(f"{_layer_name(module)}: input has dtype {x.dtype}; nnkern supports "
                        f"float32 and float64 only")


def _kernel_error(module, exc, x):
    """Re-raise a kernel's TypeError/ValueError naming the layer and the shape."""
    shape = tuple(np.shape(x))
    return type(exc)(f"{_layer_name(module)} with input of shape {shape}: {exc}")


class _NCHWModule(Module):
    """Base of the image layers (conv, pooling): 4-D (N, C, H, W) inputs, or
    unbatched 3-D (C, H, W) ones, handled as a batch of one."""

    _out_shape = None  # set by forward

    def _nchw(self, x):
        _as_input(self, x)
        if x.ndim == 4:
            return x, False
        if x.ndim == 3:
            return x[None], True
        raise ValueError(f"{_layer_name(self)}: expected a 3-D (C, H, W) or 4-D "
                         f"(N, C, H, W) input, got shape {tuple(x.shape)}")

    def _cache_shapes(self, unbatched, y):
        d = self.__dict__  # plain cache attributes: skip Module.__setattr__
        d["_unbatched"] = unbatched
        d["_out_shape"] = y.shape
        return y[0] if unbatched else y

    def _nchw_grad(self, grad_output):
        """grad_output as (N, C, H, W), checked against the forward output."""
        if self._out_shape is None:
            raise self._no_forward()
        g = grad_output
        if self._unbatched and g.ndim == 3:
            g = g[None]
        if g.shape != self._out_shape:
            raise ValueError(f"{_layer_name(self)}: grad_output has shape "
                             f"{tuple(grad_output.shape)}, expected "
                             f"{self._out_shape[1:] if self._unbatched else self._out_shape}")
        return g

    def _unbatch(self, gi):
        return gi[0] if gi is not None and self._unbatched else gi
