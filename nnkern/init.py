"""nnkern.init -- weight initializers with torch.nn.init's names, fan
computations and gains.

Every function fills its argument in place (a :class:`nnkern.nn.Parameter`
or a float ndarray) and returns it.  Randomness comes from ``generator``: a
``numpy.random.Generator``, an int seed, or ``None`` for nnkern's default
generator (seeded with :func:`manual_seed`).  Values are drawn in float64
and cast to the array's dtype.
"""
import math
import numbers

import numpy as np

__all__ = ["calculate_gain", "manual_seed", "default_generator", "zeros_", "ones_",
           "constant_", "normal_", "uniform_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_"]

_default = np.random.default_rng()


def manual_seed(seed):
    """Reseed nnkern's default generator (used when no generator is given)."""
    global _default
    _default = np.random.default_rng(seed)
    return _default


def default_generator():
    return _default


def _rng(generator):
    if generator is None:
        return _default
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be a numpy.random.Generator, an int seed or None, "
                    f"got {type(generator).__name__}")


def _array(tensor):
    data = tensor if isinstance(tensor, np.ndarray) else getattr(tensor, "data", None)
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        raise TypeError(f"expected a Parameter or a float ndarray, got {type(tensor).__name__}")
    return data


def _fill(tensor, values):
    data = _array(tensor)
    data[...] = values
    return tensor


def calculate_gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(shape):
    """torch's rule: fan_in = size(1) * receptive field, fan_out = size(0) *
    receptive field (also for transposed-convolution weights)."""
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer "
                         "than 2 dimensions")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _fan(shape, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def constant_(tensor, val):
    return _fill(tensor, val)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    data = _array(tensor)
    return _fill(tensor, _rng(generator).uniform(a, b, size=data.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    data = _array(tensor)
    return _fill(tensor, _rng(generator).normal(mean, std, size=data.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_array(tensor).shape)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_array(tensor).shape)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    data = _array(tensor)
    if 0 in data.shape:
        return tensor
    fan = _fan(data.shape, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    data = _array(tensor)
    if 0 in data.shape:
        return tensor
    fan = _fan(data.shape, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def _default_layer_init(weight, bias, generator):
    """PyTorch's reset_parameters() for Linear/Conv: kaiming_uniform_(a=sqrt(5))
    on the weight, bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = _rng(generator)
    kaiming_uniform_(weight, a=math.sqrt(5), generator=rng)
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(_array(weight).shape)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound, generator=rng)
