"""nnkern.optim -- SGD and Adam with torch.optim's exact update formulas.

Optimizers own their state (momentum buffers, Adam moments) and update the
parameters' ``.data`` in place.  ``params`` is an iterable of Parameters or
a list of dicts (parameter groups with their own hyper-parameters), as in
PyTorch.  Parameters whose ``.grad`` is None are skipped.
"""
import math
import numbers

import numpy as np

from .nn.module import Parameter

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # id(param) -> dict
        self.param_groups = []
        if isinstance(params, Parameter):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Parameters or dicts, but got a Parameter")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Parameter) else list(params)
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"optimizer can only optimize Parameters, got "
                                f"{type(p).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains a parameter twice")
        group["params"] = params
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        pass

    @staticmethod
    def _gradients(group):
        """(param, effective gradient) for the params of a group that have a
        gradient: sign-flipped with maximize, plus weight_decay * p (torch's
        L2 penalty).  The gradient is never modified in place."""
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if maximize:
                g = -g
            if wd != 0:
                g = g + wd * p.data
            yield p, g

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    # -- state dicts: PyTorch's layout, parameters numbered in group order --
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``
        as torch.optim: parameters are numbered in group order.  Arrays are
        copies."""
        index, groups = {}, []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            d = {k: v for k, v in g.items() if k != "params"}
            d["params"] = ids
            groups.append(d)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                st = self.state.get(id(p))
                if st:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                           for k, v in st.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and state; everything is validated
        (group sizes, state shapes) before anything changes."""
        try:
            groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError) as exc:
            raise ValueError("optimizer state_dict must have 'state' and 'param_groups'") from exc
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        mapping = {}
        for mine, theirs in zip(self.param_groups, groups):
            ids = list(theirs["params"])
            if len(ids) != len(mine["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
            for i, p in zip(ids, mine["params"]):
                mapping[int(i)] = p
        new_state = {}
        for k, st in saved_state.items():
            k = int(k)
            if k not in mapping:
                raise ValueError(f"optimizer state refers to parameter {k}, which the "
                                 f"optimizer does not have")
            p = mapping[k]
            conv = {}
            for name, v in st.items():
                if isinstance(v, np.ndarray) and v.ndim > 0:
                    if v.shape != p.data.shape:
                        raise ValueError(f"optimizer state {name!r} of parameter {k} has shape "
                                         f"{v.shape}, the parameter has {p.data.shape}")
                    v = v.astype(p.data.dtype, copy=True)
                elif isinstance(v, np.ndarray):
                    v = v.item()
                conv[name] = v
            new_state[id(p)] = conv
        new_groups = []
        for mine, theirs in zip(self.param_groups, groups):
            g = {k: _py(v) for k, v in theirs.items() if k != "params"}
            g["params"] = mine["params"]
            self._check_group(g)
            new_groups.append(g)
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


def _py(v):
    """0-d arrays and array-likes from a loaded file back to Python values."""
    if isinstance(v, np.ndarray):
        return v.item() if v.ndim == 0 else tuple(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, list):
        return tuple(v)
    return v


def _nonneg(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
        raise ValueError(f"Invalid {name}: {v}")


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's update:

    ``g = grad + weight_decay * p``;
    with momentum: ``buf = g`` at the first step, then
    ``buf = momentum * buf + (1 - dampening) * g``, and
    ``g = g + momentum * buf`` (nesterov) or ``g = buf``;
    ``p -= lr * g``.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, g):
        for k in ("lr", "momentum", "dampening", "weight_decay"):
            _nonneg(f"{k} value" if k != "lr" else "learning rate", g[k])
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def step(self):
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            nesterov = group["nesterov"]
            for p, g in self._gradients(group):
                if mom != 0:
                    st = self.state.setdefault(id(p), {})
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        buf = st["momentum_buffer"] = np.array(g, dtype=p.data.dtype, copy=True)
                    else:
                        buf *= mom
                        buf += (1 - damp) * g if damp else g
                    g = g + mom * buf if nesterov else buf
                p.data -= lr * g


class Adam(Optimizer):
    """Adam, torch.optim.Adam's update (amsgrad off):

    ``g = grad + weight_decay * p``; ``m = b1 m + (1-b1) g``;
    ``v = b2 v + (1-b2) g^2``; with ``t`` the step count,
    ``p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _check_group(self, g):
        _nonneg("learning rate", g["lr"])
        _nonneg("epsilon value", g["eps"])
        _nonneg("weight_decay value", g["weight_decay"])
        b = tuple(g["betas"])
        if len(b) != 2 or not 0 <= b[0] < 1:
            raise ValueError(f"Invalid beta parameter at index 0: {b[0] if b else b}")
        if not 0 <= b[1] < 1:
            raise ValueError(f"Invalid beta parameter at index 1: {b[1]}")
        g["betas"] = (float(b[0]), float(b[1]))

    def step(self):
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            amsgrad = group["amsgrad"]
            for p, g in self._gradients(group):
                st = self.state.get(id(p))
                if st is None:
                    z = np.zeros_like(p.data)
                    st = self.state[id(p)] = {"step": 0, "exp_avg": z,
                                              "exp_avg_sq": np.zeros_like(p.data)}
                    if amsgrad:
                        st["max_exp_avg_sq"] = np.zeros_like(p.data)
                st["step"] += 1
                t = st["step"]
                m, v = st["exp_avg"], st["exp_avg_sq"]
                m += (g - m) * (1 - b1)          # torch: exp_avg.lerp_(grad, 1 - beta1)
                v *= b2
                v += (1 - b2) * (g * g)          # torch: mul_(b2).addcmul_(g, g, 1 - b2)
                bc1 = 1 - b1 ** t
                bc2 = 1 - b2 ** t
                step_size = lr / bc1
                bc2_sqrt = math.sqrt(bc2)
                if amsgrad:
                    vm = st["max_exp_avg_sq"]
                    np.maximum(vm, v, out=vm)
                    denom = np.sqrt(vm)
                else:
                    denom = np.sqrt(v)
                denom /= bc2_sqrt
                denom += eps
                upd = m / denom
                upd *= step_size
                p.data -= upd
