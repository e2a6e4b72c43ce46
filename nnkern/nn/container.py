"""Sequential: modules applied in order; backward runs them in reverse."""
from collections import OrderedDict

import numpy as np

from . import module as _module
from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """``Sequential(*modules)`` or ``Sequential(OrderedDict(name=module))``.

    ``forward`` feeds each module's output to the next; ``backward`` feeds
    the gradient through them in reverse order.  Children are named "0",
    "1", ... (or by the OrderedDict's keys), which gives PyTorch's state-dict
    keys (``0.weight``, ``3.bias``).  Supports ``len``, iteration, indexing,
    slicing (a new Sequential sharing the modules) and ``append``.

    An error raised inside a child gets a note naming the child's position.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, "
                                    f"not a Module")
                self.add_module(str(i), m)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: {type(module).__name__} is not a Module")
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a Sequential of length {n}")
        return list(self._modules.values())[idx % n]

    def forward(self, x):
        fresh = False
        tracing = _module._TRACER is not None
        name = None
        try:
            for name, m in self._modules.items():
                # In place only on a new array made by the previous layer (a
                # defensive check that it is not a view of that layer's input).
                if (fresh and m._can_inplace and not tracing
                        and not np.may_share_memory(x, xin)):
                    x = m._forward_inplace(x)
                else:
                    xin = x
                    x = m(x)
                fresh = m._fresh_output
        except Exception as exc:
            exc.add_note(f"in Sequential child {name!r} ({type(self._modules[name]).__name__}) "
                         f"during forward")
            raise
        return x

    _supports_input_grad = True

    def backward(self, grad_output, input_grad=True):
        """Backward through the children in reverse.  With
        ``input_grad=False`` the first child does not compute its input
        gradient (None is returned)."""
        g = grad_output
        name = None
        names = list(self._modules)
        owned = False  # True when g was made by a child and is referenced nowhere else
        try:
            for i in range(len(names) - 1, -1, -1):
                name = names[i]
                m = self._modules[name]
                if i == 0 and not input_grad:
                    if m._supports_input_grad:
                        return m.backward(g, input_grad=False)
                    m.backward(g)
                    return None
                if owned and m._can_inplace:
                    g = m._backward_inplace(g)
                else:
                    g = m.backward(g)
                fg = m._fresh_grad
                owned = owned if fg is None else fg
        except Exception as exc:
            exc.add_note(f"in Sequential child {name!r} ({type(self._modules[name]).__name__}) "
                         f"during backward")
            raise
        return g
