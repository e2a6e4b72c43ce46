"""nnkern.init: torch's fans, gains and bounds; seeding."""
import math

import numpy as np
import pytest

from nnkern import init, nn


def test_gains_match_torch_values():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_gains_match_torch():
    torch = pytest.importorskip("torch")
    for nl in ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu", "conv_transpose2d"]:
        assert init.calculate_gain(nl) == pytest.approx(torch.nn.init.calculate_gain(nl))


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_bounds_and_stds(shape):
    w = np.empty(shape)
    rf = int(np.prod(shape[2:]))
    fan_in, fan_out = shape[1] * rf, shape[0] * rf
    init.xavier_uniform_(w, gain=2.0, generator=0)
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.98 * a
    init.xavier_normal_(w, generator=1)
    assert w.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.05)
    init.kaiming_uniform_(w, nonlinearity="relu", generator=2)
    b = math.sqrt(2) * math.sqrt(3 / fan_in)
    assert np.abs(w).max() <= b and np.abs(w).max() > 0.98 * b
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=3)
    assert w.std() == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    init.normal_(w, 1.0, 0.5, generator=4)
    assert w.mean() == pytest.approx(1.0, abs=0.02)
    init.uniform_(w, -3, -2, generator=5)
    assert w.min() >= -3 and w.max() <= -2
    init.zeros_(w)
    assert not w.any()
    init.ones_(w)
    assert np.all(w == 1)
    init.constant_(w, 0.25)
    assert np.all(w == 0.25)


def test_parameters_and_float32_and_returns():
    p = nn.Parameter(np.empty((4, 5), np.float32))
    assert init.kaiming_uniform_(p, generator=0) is p
    assert p.dtype == np.float32
    ref = p.data.copy()
    init.kaiming_uniform_(p, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(p.data, ref)


def test_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(np.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(np.empty((2, 2)), mode="fan_avg")
    with pytest.raises(TypeError, match="generator"):
        init.normal_(np.empty(2), generator="seed")
    with pytest.raises(TypeError, match="float ndarray"):
        init.zeros_(np.empty(2, np.int64))
