"""The benchmark cases: one list that feeds the runner (run.py), the
pytest-benchmark suites (bench_*.py) and the memory probe (memprobe.py).

Shapes are those of /work/shared/ANCHORS.md (the peers' measurements on
this machine type), float32, NCHW.  Each ``Case`` has inputs made from a
seed derived from its id, a work count (flop or bytes per call) and one
factory per implementation ("nnkern", "numpy", "torch", and for pooling
forward "torch-cl", PyTorch on a channels_last copy of the input).  A factory
builds what its implementation needs outside the timing and returns the
zero-argument callable that is timed; it raises ``Unavailable`` when the
library or the nnkern feature is missing, so that the implementation is
simply skipped (nnkern's families land one by one).

Sizes: "full" (all ANCHORS cases), "quick" (a subset for a run under a
minute), "tiny" (small shapes for the test suite).
"""
import types
import zlib
from dataclasses import dataclass, field

import numpy as np

import baselines as B
from harness import Unavailable

F32 = np.float32
IMPL_ORDER = ("nnkern", "numpy", "torch", "torch-cl")
GROUPS = ("gemm", "conv", "pool", "layers")

# ------------------------------------------------------------------ shapes

GEMM_SHAPES = {  # (M, K, N): C = A[M,K] @ B[K,N]
    "full": [(128, 128, 128), (256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
             (64, 784, 256), (256, 784, 256), (128, 4096, 1024), (32, 512, 10), (1, 1024, 1024)],
    "quick": [(256, 256, 256), (1024, 1024, 1024), (64, 784, 256), (32, 512, 10)],
    "tiny": [(8, 16, 12)],
}
LINEAR_SHAPES = {  # (M, K, N): y = x[M,K] @ W[N,K].T + b
    "full": [(256, 784, 256), (128, 4096, 1024)],
    "quick": [(256, 784, 256)],
    "tiny": [(4, 6, 3)],
}
CONV_CASES = {  # name: (N, C, H, W, K, R, S, stride, pad, dil)
    "full": [
        ("lenet-c1", (64, 1, 28, 28, 6, 5, 5, 1, 2, 1)),
        ("lenet-c2", (64, 6, 14, 14, 16, 5, 5, 1, 0, 1)),
        ("res3x3-56", (8, 64, 56, 56, 64, 3, 3, 1, 1, 1)),
        ("res3x3-28", (8, 128, 28, 28, 128, 3, 3, 1, 1, 1)),
        ("res3x3-14", (8, 256, 14, 14, 256, 3, 3, 1, 1, 1)),
        ("stem7x7s2", (8, 3, 224, 224, 64, 7, 7, 2, 3, 1)),
        ("down3x3s2", (8, 64, 56, 56, 128, 3, 3, 2, 1, 1)),
        ("1x1-14", (8, 256, 14, 14, 1024, 1, 1, 1, 0, 1)),
        ("dil2-56", (8, 64, 56, 56, 64, 3, 3, 1, 2, 2)),
        ("dil4-64", (4, 32, 64, 64, 32, 3, 3, 1, 4, 4)),
        ("bs1-3x3-56", (1, 64, 56, 56, 64, 3, 3, 1, 1, 1)),
    ],
    "quick": ["lenet-c1", "lenet-c2", "res3x3-28", "dil4-64"],
    "tiny": [("tiny-s2d2", (2, 4, 11, 10, 5, 3, 3, 2, 1, 2))],
}
DEPTHWISE_CASES = {  # name: (N, C, H, W, R, S, stride, pad, dil); groups = C, C_out = C
    "full": [
        ("dw3x3-56", (8, 128, 56, 56, 3, 3, 1, 1, 1)),
        ("dw3x3s2-56", (8, 128, 56, 56, 3, 3, 2, 1, 1)),
        ("dw3x3-14", (8, 512, 14, 14, 3, 3, 1, 1, 1)),
    ],
    "quick": ["dw3x3s2-56"],
    "tiny": [("tiny-dw-s2", (2, 4, 11, 10, 3, 3, 2, 1, 1))],
}
GROUPED_CASES = {  # name: (N, C, H, W, K, R, S, stride, pad, dil, groups): ResNeXt-style
    "full": [
        ("rx-g32-28", (8, 256, 28, 28, 256, 3, 3, 1, 1, 1, 32)),
        ("rx-g32s2-56", (8, 256, 56, 56, 256, 3, 3, 2, 1, 1, 32)),
    ],
    "quick": [],
    "tiny": [("tiny-g2", (2, 4, 9, 9, 6, 3, 3, 1, 1, 1, 2))],
}
POOL_CASES = {  # name: ((N, C, H, W), kernel, stride, pad)
    "full": [
        ("resnet-maxpool", (8, 64, 112, 112), 3, 2, 1),
        ("lenet-pool", (64, 6, 28, 28), 2, 2, 0),
        ("k2s2-56", (8, 256, 56, 56), 2, 2, 0),
        ("k3s1p1-56", (8, 64, 56, 56), 3, 1, 1),
    ],
    "quick": ["lenet-pool", "k2s2-56"],
    "tiny": [("tiny-k3s2p1", (2, 3, 9, 9), 3, 2, 1)],
}
LENET_BATCH = {"full": 64, "quick": 64, "tiny": 4}
# GIL-release scaling: a convolution run from two Python threads at once
GIL_CASE = {
    "full": ("res3x3-28-b4", (4, 128, 28, 28, 128, 3, 3, 1, 1, 1)),
    "quick": ("res3x3-28-b4", (4, 128, 28, 28, 128, 3, 3, 1, 1, 1)),
    "tiny": ("tiny-3x3", (2, 3, 9, 9, 4, 3, 3, 1, 1, 1)),
}


def _pick(table, size):
    """Quick lists name a subset of the full list."""
    entries = table[size]
    if entries and isinstance(entries[0], str):
        full = {e[0]: e for e in table["full"]}
        return [full[n] for n in entries]
    return entries


# ------------------------------------------------------------------ the Case

@dataclass
class Case:
    family: str  # gemm | linear | conv | pool | layers | overhead
    group: str  # what --only selects: gemm | conv | pool | layers
    name: str
    op: str
    params: dict
    work: float  # flop (unit GFLOP/s) or bytes (unit GB/s) per call; 0: time only
    unit: str
    make: object  # (rng) -> SimpleNamespace of NumPy inputs
    impls: dict = field(default_factory=dict)  # impl -> factory(inputs) -> callable
    tol: float = 1e-3  # max |a - b| / max(1, max |b|) between implementations

    @property
    def id(self):
        return f"{self.family}/{self.name}/{self.op}"

    def inputs(self):
        return self.make(np.random.default_rng(zlib.crc32(self.id.encode())))


def _randn(rng, shape, scale=1.0):
    return rng.standard_normal(shape, dtype=F32) * F32(scale)


# ------------------------------------------------------------------ library access

def torch_mod():
    try:
        import torch
    except ImportError:
        raise Unavailable("torch is not installed")
    return torch


def nk_functional(*names):
    """nnkern.functional, provided it has every one of names."""
    import nnkern.functional as F
    missing = [n for n in names if not hasattr(F, n)]
    if missing:
        raise Unavailable(f"nnkern.functional has no {', '.join(missing)} yet")
    return F


def _nk_winograd(N, C, H, W, K, R, S, st, pd, dl, P, Q):
    """Which passes nnkern runs by Winograd F(4x4, 3x3) at the current ISA
    level and setting: (forward, backward passes such as 'dx+dw'), or
    (None, None) when this nnkern has no such probe."""
    try:
        from nnkern import _C
        fwd = _C.conv2d_fwd_uses_winograd(N, C, H, W, K, R, S, (st, st), (pd, pd), (dl, dl), 1,
                                          P, Q)
        tp = dl * (R - 1) - pd
        dx = st == 1 and tp >= 0 and _C.conv2d_fwd_uses_winograd(
            N, K, P, Q, C, R, S, (1, 1), (tp, tp), (dl, dl), 1, H, W)
        dw = _C.conv2d_bwd_weight_uses_winograd(N, C, H, W, K, R, S, (st, st), (pd, pd), (dl, dl),
                                                1, P, Q)
    except (ImportError, AttributeError):
        return None, None
    return bool(fwd), "+".join(n for n, on in (("dx", dx), ("dw", dw)) if on)


def _tensor(a, grad=False):
    t = torch_mod().from_numpy(np.array(a))  # own copy
    return t.requires_grad_() if grad else t


def _no_grad(fn):
    torch = torch_mod()

    def call():
        with torch.no_grad():
            return fn()
    return call


# ------------------------------------------------------------------ GEMM and linear

def gemm_cases(size):
    cases = []
    for (M, K, N) in GEMM_SHAPES[size]:
        def make(rng, M=M, K=K, N=N):
            return types.SimpleNamespace(a=_randn(rng, (M, K)), b=_randn(rng, (K, N)))

        def nk(i):
            F = nk_functional("matmul")
            return lambda: F.matmul(i.a, i.b)

        def npy(i):
            return lambda: B.matmul(i.a, i.b)

        def tch(i):
            torch = torch_mod()
            ta, tb = _tensor(i.a), _tensor(i.b)
            return lambda: torch.mm(ta, tb)

        cases.append(Case("gemm", "gemm", f"{M}x{K}x{N}", "matmul", dict(M=M, K=K, N=N), 2.0 * M * N * K,
                          "GFLOP/s", make, dict(nnkern=nk, numpy=npy, torch=tch)))
    for (M, K, N) in LINEAR_SHAPES[size]:
        def make(rng, M=M, K=K, N=N):
            return types.SimpleNamespace(x=_randn(rng, (M, K)), w=_randn(rng, (N, K), K ** -0.5),
                                         b=_randn(rng, (N,), 0.1), g=_randn(rng, (M, N)))

        def nk_f(i):
            F = nk_functional("linear")
            return lambda: F.linear(i.x, i.w, i.b)

        def np_f(i):
            return lambda: B.linear_fwd(i.x, i.w, i.b)

        def t_f(i):
            F = torch_mod().nn.functional
            tx, tw, tb = _tensor(i.x), _tensor(i.w), _tensor(i.b)
            return _no_grad(lambda: F.linear(tx, tw, tb))

        def nk_fb(i):
            F = nk_functional("linear", "linear_backward")

            def step():
                y = F.linear(i.x, i.w, i.b)
                return (y,) + tuple(F.linear_backward(i.g, i.x, i.w))
            return step

        def np_fb(i):
            def step():
                y = B.linear_fwd(i.x, i.w, i.b)
                return (y,) + B.linear_bwd(i.g, i.x, i.w)
            return step

        def t_fb(i):
            torch = torch_mod()
            F = torch.nn.functional
            tx, tw, tb, tg = _tensor(i.x, True), _tensor(i.w, True), _tensor(i.b, True), _tensor(i.g)

            def step():
                y = F.linear(tx, tw, tb)
                return (y,) + torch.autograd.grad(y, (tx, tw, tb), tg)
            return step

        p = dict(M=M, K=K, N=N)
        flop = 2.0 * M * N * K
        cases.append(Case("linear", "gemm", f"{M}x{K}x{N}", "fwd", p, flop, "GFLOP/s", make,
                          dict(nnkern=nk_f, numpy=np_f, torch=t_f)))
        cases.append(Case("linear", "gemm", f"{M}x{K}x{N}", "fwd+bwd", p, 3 * flop, "GFLOP/s", make,
                          dict(nnkern=nk_fb, numpy=np_fb, torch=t_fb)))
    return cases


# ------------------------------------------------------------------ conv2d

def _conv_pair(name, N, C, H, W, K, R, S, st, pd, dl, G, np_fwd, np_bwd):
    """The fwd and bwd Cases of one conv2d layer (G groups); np_fwd(x, w, b,
    stride, pad, dil) and np_bwd(dy, x, w, stride, pad, dil) are the NumPy
    baselines."""
    P, Q = B.out_size(H, R, st, pd, dl), B.out_size(W, S, st, pd, dl)
    Cg = C // G
    flop = 2.0 * N * K * Cg * R * S * P * Q
    params = dict(N=N, C=C, H=H, W=W, K=K, R=R, S=S, stride=st, pad=pd, dil=dl, P=P, Q=Q)
    if G > 1:
        params["groups"] = G

    def make(rng):
        return types.SimpleNamespace(
            x=_randn(rng, (N, C, H, W)), w=_randn(rng, (K, Cg, R, S), (Cg * R * S) ** -0.5),
            b=_randn(rng, (K,), 0.1), dy=_randn(rng, (N, K, P, Q)))

    def nk_f(i):
        F = nk_functional("conv2d")
        return lambda: F.conv2d(i.x, i.w, i.b, st, pd, dl, G)

    def np_f(i):
        return lambda: np_fwd(i.x, i.w, i.b, st, pd, dl)

    def t_f(i):
        F = torch_mod().nn.functional
        tx, tw, tb = _tensor(i.x), _tensor(i.w), _tensor(i.b)
        return _no_grad(lambda: F.conv2d(tx, tw, tb, st, pd, dl, G))

    def nk_b(i):
        F = nk_functional("conv2d_backward")
        return lambda: F.conv2d_backward(i.dy, i.x, i.w, st, pd, dl, G)

    def np_b(i):
        return lambda: np_bwd(i.dy, i.x, i.w, st, pd, dl)

    def t_b(i):
        torch = torch_mod()
        tx, tw, tb, tdy = _tensor(i.x, True), _tensor(i.w, True), _tensor(i.b, True), _tensor(i.dy)
        ty = torch.nn.functional.conv2d(tx, tw, tb, st, pd, dl, G)
        return lambda: torch.autograd.grad(ty, (tx, tw, tb), tdy, retain_graph=True)

    wf, wb = _nk_winograd(N, C, H, W, K, R, S, st, pd, dl, P, Q) if G == 1 else (False, None)
    return [Case("conv", "conv", name, "fwd", dict(params, winograd="fwd" if wf else ""), flop,
                 "GFLOP/s", make, dict(nnkern=nk_f, numpy=np_f, torch=t_f)),
            Case("conv", "conv", name, "bwd", dict(params, winograd=wb or ""), 2 * flop,
                 "GFLOP/s", make, dict(nnkern=nk_b, numpy=np_b, torch=t_b))]


def conv_cases(size):
    cases = []
    for name, dims in _pick(CONV_CASES, size):
        cases += _conv_pair(name, *dims, 1, B.conv2d_fwd, B.conv2d_bwd)
    return cases


def depthwise_cases(size):
    """Depthwise layers (MobileNet-style, groups = C): not among the ANCHORS
    cases; the NumPy baseline is a broadcast multiply-add per tap."""
    cases = []
    for name, (N, C, H, W, R, S, st, pd, dl) in _pick(DEPTHWISE_CASES, size):
        P, Q = B.out_size(H, R, st, pd, dl), B.out_size(W, S, st, pd, dl)
        flop = 2.0 * N * C * R * S * P * Q
        params = dict(N=N, C=C, H=H, W=W, K=C, R=R, S=S, stride=st, pad=pd, dil=dl, P=P, Q=Q,
                      groups=C)

        def make(rng, N=N, C=C, H=H, W=W, R=R, S=S, P=P, Q=Q):
            return types.SimpleNamespace(
                x=_randn(rng, (N, C, H, W)), w=_randn(rng, (C, 1, R, S), (R * S) ** -0.5),
                b=_randn(rng, (C,), 0.1), dy=_randn(rng, (N, C, P, Q)))

        def nk_f(i, st=st, pd=pd, dl=dl, C=C):
            F = nk_functional("conv2d")
            return lambda: F.conv2d(i.x, i.w, i.b, st, pd, dl, C)

        def np_f(i, st=st, pd=pd, dl=dl):
            return lambda: B.depthwise_fwd(i.x, i.w, i.b, st, pd, dl)

        def t_f(i, st=st, pd=pd, dl=dl, C=C):
            F = torch_mod().nn.functional
            tx, tw, tb = _tensor(i.x), _tensor(i.w), _tensor(i.b)
            return _no_grad(lambda: F.conv2d(tx, tw, tb, st, pd, dl, C))

        def nk_b(i, st=st, pd=pd, dl=dl, C=C):
            F = nk_functional("conv2d_backward")
            return lambda: F.conv2d_backward(i.dy, i.x, i.w, st, pd, dl, C)

        def np_b(i, st=st, pd=pd, dl=dl):
            return lambda: B.depthwise_bwd(i.dy, i.x, i.w, st, pd, dl)

        def t_b(i, st=st, pd=pd, dl=dl, C=C):
            torch = torch_mod()
            tx, tw, tb, tdy = _tensor(i.x, True), _tensor(i.w, True), _tensor(i.b, True), _tensor(i.dy)
            ty = torch.nn.functional.conv2d(tx, tw, tb, st, pd, dl, C)
            return lambda: torch.autograd.grad(ty, (tx, tw, tb), tdy, retain_graph=True)

        cases.append(Case("conv", "conv", name, "fwd", params, flop, "GFLOP/s", make,
                          dict(nnkern=nk_f, numpy=np_f, torch=t_f)))
        cases.append(Case("conv", "conv", name, "bwd", params, 2 * flop, "GFLOP/s", make,
                          dict(nnkern=nk_b, numpy=np_b, torch=t_b)))
    return cases


def grouped_cases(size):
    """Grouped layers (ResNeXt-style, 8 channels a group): not among the
    ANCHORS cases; the NumPy baseline is the im2col GEMM per group."""
    cases = []
    for name, (*dims, G) in _pick(GROUPED_CASES, size):
        cases += _conv_pair(name, *dims, G,
                            lambda x, w, b, st, pd, dl, G=G: B.grouped_fwd(x, w, b, st, pd, dl, G),
                            lambda dy, x, w, st, pd, dl, G=G: B.grouped_bwd(dy, x, w, st, pd, dl, G))
    return cases


# ------------------------------------------------------------------ pooling

def pool_cases(size):
    cases = []
    for name, (N, C, H, W), k, s, p in _pick(POOL_CASES, size):
        P, Q = B.out_size(H, k, s, p), B.out_size(W, k, s, p)
        params = dict(N=N, C=C, H=H, W=W, k=k, s=s, p=p, P=P, Q=Q)
        nbytes = 4.0 * (N * C * H * W + N * C * P * Q)  # fwd: read x, write y; bwd: read dy, write dx

        def make(rng, N=N, C=C, H=H, W=W, P=P, Q=Q):
            return types.SimpleNamespace(x=_randn(rng, (N, C, H, W)), dy=_randn(rng, (N, C, P, Q)))

        for kind in ("max", "avg"):
            nk_name = f"{kind}_pool2d"

            def nk_f(i, nk_name=nk_name, k=k, s=s, p=p):
                fn = getattr(nk_functional(nk_name), nk_name)
                return lambda: fn(i.x, k, s, p)

            def np_f(i, kind=kind, k=k, s=s, p=p):
                fn = B.max_pool2d_fwd if kind == "max" else B.avg_pool2d_fwd
                return lambda: fn(i.x, k, s, p)

            def t_f(i, nk_name=nk_name, k=k, s=s, p=p):
                fn = getattr(torch_mod().nn.functional, nk_name)
                tx = _tensor(i.x)
                return _no_grad(lambda: fn(tx, k, s, p))

            def tcl_f(i, nk_name=nk_name, k=k, s=s, p=p):
                torch = torch_mod()
                fn = getattr(torch.nn.functional, nk_name)
                tx = _tensor(i.x).contiguous(memory_format=torch.channels_last)
                return _no_grad(lambda: fn(tx, k, s, p))

            def t_b(i, nk_name=nk_name, k=k, s=s, p=p):
                torch = torch_mod()
                tx, tdy = _tensor(i.x, True), _tensor(i.dy)
                ty = getattr(torch.nn.functional, nk_name)(tx, k, s, p)
                return lambda: torch.autograd.grad(ty, (tx,), tdy, retain_graph=True)

            if kind == "max":
                def nk_b(i, k=k, s=s, p=p):
                    F = nk_functional("max_pool2d", "max_pool2d_backward")
                    _, idx = F.max_pool2d(i.x, k, s, p, return_indices=True)
                    return lambda: F.max_pool2d_backward(i.dy, idx, i.x.shape)

                def np_b(i, k=k, s=s, p=p):
                    _, idx = B.max_pool2d_fwd_argmax(i.x, k, s, p)
                    return lambda: B.max_pool2d_bwd(i.dy, idx, i.x.shape, k, s, p)
            else:
                def nk_b(i, k=k, s=s, p=p):
                    F = nk_functional("avg_pool2d_backward")
                    return lambda: F.avg_pool2d_backward(i.dy, i.x.shape, k, s, p)

                def np_b(i, k=k, s=s, p=p):
                    return lambda: B.avg_pool2d_bwd(i.dy, i.x.shape, k, s, p)

            cases.append(Case("pool", "pool", name, f"{kind}-fwd", params, nbytes, "GB/s", make,
                              {"nnkern": nk_f, "numpy": np_f, "torch": t_f, "torch-cl": tcl_f}, tol=1e-5))
            cases.append(Case("pool", "pool", name, f"{kind}-bwd", params, nbytes, "GB/s", make,
                              dict(nnkern=nk_b, numpy=np_b, torch=t_b), tol=1e-5))
    return cases


# ------------------------------------------------------------------ layers: LeNet-5 step, per-call overhead

LENET_SHAPES = {"0": (6, 1, 5, 5), "3": (16, 6, 5, 5), "7": (120, 400), "9": (84, 120), "11": (10, 84)}
LENET_LR = 0.1


def lenet_flop(n):
    flop = 0.0
    for (c, h, k, r, pd) in ((1, 28, 6, 5, 2), (6, 14, 16, 5, 0)):
        P = B.out_size(h, r, 1, pd)
        flop += 2.0 * n * k * c * r * r * P * P
    return flop + 2.0 * n * (400 * 120 + 120 * 84 + 84 * 10)


def _lenet_make(n):
    def make(rng):
        params = {}
        for key, shp in LENET_SHAPES.items():
            bound = float(np.prod(shp[1:])) ** -0.5  # PyTorch's default init range
            params[key + ".weight"] = rng.uniform(-bound, bound, shp).astype(F32)
            params[key + ".bias"] = rng.uniform(-bound, bound, shp[0]).astype(F32)
        return types.SimpleNamespace(params=params, x=_randn(rng, (n, 1, 28, 28)),
                                     y=rng.integers(0, 10, n).astype(np.int64))
    return make


def _sorted_values(named):
    return [named[k] for k in sorted(named)]


def lenet_nnkern(i):
    import nnkern
    import nnkern.functional as NF  # what nnkern.nn runs on
    missing = [n for n in ("conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward", "linear",
                           "linear_backward") if not hasattr(NF, n)]
    if missing:
        raise Unavailable(f"nnkern.nn needs nnkern.functional.{', '.join(missing)}")
    nn = getattr(nnkern, "nn", None)
    names = ("Sequential", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "CrossEntropyLoss")
    if nn is None or not all(hasattr(nn, n) for n in names):
        raise Unavailable("nnkern.nn has no LeNet-5 layers yet")
    try:
        import nnkern.optim as optim
        SGD = optim.SGD
    except (ImportError, AttributeError):
        raise Unavailable("nnkern.optim.SGD is missing")
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    model.load_state_dict({k: v.copy() for k, v in i.params.items()})
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=LENET_LR)

    def step():
        opt.zero_grad()
        loss = loss_fn.forward(model(i.x), i.y)
        model.backward(loss_fn.backward())
        opt.step()
        return loss
    step.outputs = lambda: _sorted_values({k: p.data for k, p in model.named_parameters()})
    return step


def lenet_numpy(i):
    net = B.NumpyLeNet5(i.params, LENET_LR)
    step = lambda: net.step(i.x, i.y)  # noqa: E731
    step.outputs = lambda: _sorted_values(net.p)
    return step


def lenet_torch(i):
    torch = torch_mod()
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in i.params.items()})
    opt = torch.optim.SGD(model.parameters(), lr=LENET_LR)
    tx, ty = _tensor(i.x), torch.from_numpy(i.y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(tx), ty)
        loss.backward()
        opt.step()
        return loss.item()
    step.outputs = lambda: _sorted_values({k: p.detach() for k, p in model.named_parameters()})
    return step


def layer_cases(size):
    n = LENET_BATCH[size]
    cases = [Case("layers", "layers", f"lenet5-b{n}", "train-step", dict(batch=n), 3 * lenet_flop(n), "GFLOP/s",
                  _lenet_make(n), dict(nnkern=lenet_nnkern, numpy=lenet_numpy, torch=lenet_torch), tol=1e-4)]

    # per-call overhead of tiny ops: what a layer API pays per call
    def make_small(rng):
        return types.SimpleNamespace(x=_randn(rng, (1, 10)), w=_randn(rng, (10, 10)), b=_randn(rng, (10,)))

    def nk_relu(i):
        F = nk_functional("relu")
        return lambda: F.relu(i.x)

    def t_relu(i):
        F = torch_mod().nn.functional
        tx = _tensor(i.x)
        return _no_grad(lambda: F.relu(tx))

    def nk_lin(i):
        F = nk_functional("linear")
        return lambda: F.linear(i.x, i.w, i.b)

    def t_lin(i):
        F = torch_mod().nn.functional
        tx, tw, tb = _tensor(i.x), _tensor(i.w), _tensor(i.b)
        return _no_grad(lambda: F.linear(tx, tw, tb))

    cases.append(Case("overhead", "layers", "relu 1x10", "call", {}, 0.0, "us", make_small,
                      dict(nnkern=nk_relu, numpy=lambda i: (lambda: B.relu(i.x)), torch=t_relu)))
    cases.append(Case("overhead", "layers", "linear 1x10x10", "call", {}, 0.0, "us", make_small,
                      dict(nnkern=nk_lin, numpy=lambda i: (lambda: B.linear_fwd(i.x, i.w, i.b)), torch=t_lin)))
    return cases


# ------------------------------------------------------------------ selection

BUILDERS = {"gemm": gemm_cases,
            "conv": lambda size: conv_cases(size) + depthwise_cases(size) + grouped_cases(size),
            "pool": pool_cases, "layers": layer_cases}


def build_cases(size="full", groups=GROUPS):
    cases = []
    for g in groups:
        cases.extend(BUILDERS[g](size))
    return cases


def find_case(case_id, size="full"):
    for c in build_cases(size):
        if c.id == case_id:
            return c
    raise KeyError(f"no benchmark case {case_id!r} in size {size!r}")


def instantiate(case, only_impls=None):
    """Build the inputs and every available implementation of a case.
    Returns (inputs, {impl: callable}, {impl: reason it is skipped})."""
    inp = case.inputs()
    fns, skipped = {}, {}
    for name in IMPL_ORDER:
        if name not in case.impls or (only_impls and name not in only_impls):
            continue
        try:
            fns[name] = case.impls[name](inp)
        except Unavailable as e:
            skipped[name] = str(e)
    return inp, fns, skipped
