"""Determinism: the same seed gives the same short training run bit for bit,
in one process, in a fresh process, and at any thread count."""
import os
import subprocess
import sys

import numpy as np
import pytest

import nnkern
import nnkern.functional as F
from nnkern import nn, optim

TESTS = os.path.dirname(os.path.abspath(__file__))
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nnkern.__file__)))


def make_model(dtype):
    pool = [nn.MaxPool2d(2)] if hasattr(F, "max_pool2d") else []
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, dtype=dtype),
        nn.ReLU(),
        *pool,
        nn.Conv2d(8, 8, 3, stride=2, groups=2, dtype=dtype),
        nn.Tanh(),
        nn.ConvTranspose2d(8, 4, 2, stride=2, dtype=dtype),
        nn.LeakyReLU(0.1),
        nn.Flatten(),
        nn.LazyLinear(10, dtype=dtype) if hasattr(nn, "LazyLinear") else _linear_for(dtype, pool),
        nn.Sigmoid(),
        nn.Linear(10, 5, dtype=dtype),
    )


def _linear_for(dtype, pool):
    side = 16 if pool else 32                  # after the (optional) 2x2 pool
    side = (side - 3) // 2 + 1                 # strided conv
    side = side * 2                            # transposed conv
    return nn.Linear(4 * side * side, 10, dtype=dtype)


def train(steps=4, seed=1234, dtype=np.float32, opt="adam"):
    """A few steps of a small CNN on random data.  Returns the losses and the
    final parameters as a list of arrays."""
    nnkern.init.manual_seed(seed)
    model = make_model(dtype)
    params = list(model.parameters())
    o = optim.Adam(params, lr=1e-2) if opt == "adam" else optim.SGD(params, lr=0.05,
                                                                     momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        x = rng.standard_normal((6, 3, 32, 32)).astype(dtype)
        t = rng.integers(0, 5, 6)
        o.zero_grad()
        loss = loss_fn(model(x), t)
        model.backward(loss_fn.backward())
        o.step()
        out.append(np.asarray(loss, dtype=dtype).reshape(1))
    return out + [np.array(p.data, copy=True) for p in params]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_same_seed_same_run(dtype, opt):
    a = train(dtype=dtype, opt=opt)
    b = train(dtype=dtype, opt=opt)
    _same(a, b)
    assert np.isfinite(a[0]).all()
    c = train(dtype=dtype, opt=opt, seed=99)
    assert c[-1].tobytes() != a[-1].tobytes()  # the seed matters


def test_different_thread_count_same_run(restore_threads):
    nnkern.set_num_threads(1)
    a = train()
    nnkern.set_num_threads(3)
    b = train()
    _same(a, b)


def test_fresh_process_same_run(restore_threads):
    """Another interpreter and another thread count (OMP_NUM_THREADS=2): the
    same bits."""
    nnkern.set_num_threads(1)
    here = train(steps=2)
    code = ("import sys, numpy as np; from test_determinism import train; "
            "sys.stdout.buffer.write(b''.join(a.tobytes() for a in train(steps=2)))")
    env = dict(os.environ, OMP_NUM_THREADS="2",
               PYTHONPATH=os.pathsep.join([PKG_PARENT, TESTS]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         timeout=120, cwd=TESTS)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == b"".join(a.tobytes() for a in here)
