"""Ready-made models: MLPs (optionally residual), LeNet-5, a small CNN for
8x8 digits, and autoencoders whose decoder mirrors the encoder.

Every builder returns ordinary :mod:`nnkern.nn` modules (mostly
``Sequential``), so their ``state_dict`` keys are the ones PyTorch would use
for the same ``nn.Sequential``.  Pass ``rng`` (an int seed or a numpy
Generator) to make the initialization reproducible; the initial weights
follow PyTorch's default layer initialization.
"""
import numpy as np

from . import nn
from .data import _as_rng

__all__ = ["mlp", "lenet5", "small_cnn", "Autoencoder", "make_activation", "reset_parameters"]

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(),
    "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
    "identity": lambda: nn.Identity(),
    "linear": lambda: nn.Identity(),
}


def make_activation(spec):
    """A fresh activation module from a name ('relu', 'leaky_relu',
    'sigmoid', 'tanh', 'identity'), a module class, or a zero-argument
    factory.  ``None`` gives None."""
    if spec is None:
        return None
    if isinstance(spec, str):
        try:
            return _ACTIVATIONS[spec.lower()]()
        except KeyError:
            raise ValueError(f"unknown activation {spec!r}; expected one of "
                             f"{sorted(_ACTIVATIONS)} or a module class") from None
    if isinstance(spec, nn.Module):
        raise TypeError("pass an activation name or class, not a module instance "
                        "(every layer needs its own instance)")
    if callable(spec):
        return spec()
    raise TypeError(f"activation must be a name, a module class or a factory, got {spec!r}")


def reset_parameters(model, rng=None):
    """Re-draw every weight and bias of the Linear/Conv layers in ``model``
    from ``rng`` (an int seed or a numpy Generator) with PyTorch's default
    initialization: Kaiming-uniform with a = sqrt(5) for weights, i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for biases.
    Returns the model."""
    from . import init
    rng = _as_rng(rng)
    for mod in model.modules():
        if not isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            continue
        w = mod.weight
        init.kaiming_uniform_(w, a=np.sqrt(5.0), generator=rng)
        b = getattr(mod, "bias", None)
        if b is not None:
            shape = w.data.shape
            fan_in = int(shape[1] * np.prod(shape[2:]))  # torch's rule, also for ConvTranspose2d
            bound = 1.0 / np.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(b, -bound, bound, generator=rng)
    return model


# ---------------------------------------------------------------------------
# MLP
# ---------------------------------------------------------------------------

def mlp(sizes, activation="relu", residual=False, output_activation=None, bias=True, rng=None):
    """A fully-connected network ``Linear(sizes[0], sizes[1])``, activation,
    ..., ``Linear(sizes[-2], sizes[-1])`` (no activation after the last layer
    unless ``output_activation`` is given).

    With ``residual=True`` every hidden layer whose output is at least as wide
    as its input becomes ``Residual(Sequential(Linear, activation))``, i.e.
    ``x -> J x + act(W x + b)`` with the seed's zero-embedding J when the
    layer widens.  That is what keeps gradients from vanishing in deep
    networks (see :func:`nnkern.diagnostics.depth_experiment`).
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes needs at least an input and an output size, got {sizes}")
    if any(s < 1 for s in sizes):
        raise ValueError(f"mlp: sizes must be positive, got {sizes}")
    make_activation(activation)  # validate early
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        lin = nn.Linear(a, b, bias=bias)
        if last:
            layers.append(lin)
            if output_activation is not None:
                layers.append(make_activation(output_activation))
        elif residual and b >= a:
            layers.append(nn.Residual(nn.Sequential(lin, make_activation(activation))))
        else:
            layers += [lin, make_activation(activation)]
    model = nn.Sequential(*layers)
    return reset_parameters(model, rng) if rng is not None else model


# ---------------------------------------------------------------------------
# CNNs
# ---------------------------------------------------------------------------

def lenet5(num_classes=10, in_channels=1, activation="relu", rng=None):
    """LeNet-5 for 28x28 inputs (MNIST), as in the benchmarks: conv 5x5 (6,
    padding 2), act, max pool 2, conv 5x5 (16), act, max pool 2, flatten,
    dense 400-120-84-num_classes with activations between them.  Outputs
    logits (N, num_classes)."""
    act = lambda: make_activation(activation)  # noqa: E731
    model = nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2), act(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), act(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), act(),
        nn.Linear(120, 84), act(),
        nn.Linear(84, num_classes),
    )
    return reset_parameters(model, rng) if rng is not None else model


def small_cnn(num_classes=10, in_channels=1, input_size=8, channels=(16, 32), kernel_size=3,
              activation="relu", rng=None):
    """The demo's CNN: conv (padding keeps the size), act, max pool 2, conv,
    act, max pool 2, flatten, dense.  For 8x8 digits the dense layer sees
    ``channels[1] * 2 * 2`` features.  Outputs logits (N, num_classes)."""
    c1, c2 = channels
    pad = kernel_size // 2
    side = int(input_size) // 2 // 2
    if side < 1:
        raise ValueError(f"small_cnn: input_size {input_size} is too small for two 2x2 poolings")
    model = nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size, padding=pad), make_activation(activation), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, kernel_size, padding=pad), make_activation(activation), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * side * side, num_classes),
    )
    return reset_parameters(model, rng) if rng is not None else model


# ---------------------------------------------------------------------------
# Autoencoders
# ---------------------------------------------------------------------------

class Autoencoder(nn.Module):
    """``decoder(encoder(x))`` with access to the code.

    ``encode(x)`` gives the code (e.g. 2-D, for visualization), ``decode(z)``
    maps codes back to inputs; ``forward`` runs both and ``backward`` sends
    the gradient through the decoder, then the encoder.  Train it with
    ``fit(ae, MSELoss(), opt, (X, X))`` (or BCELoss on [0, 1] data).

    Builders: :meth:`Autoencoder.mlp` and :meth:`Autoencoder.conv` mirror an
    encoder into its decoder.
    """

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def backward(self, grad_output):
        return self.encoder.backward(self.decoder.backward(grad_output))

    @classmethod
    def mlp(cls, sizes, activation="relu", output_activation="sigmoid", code_activation=None,
            rng=None):
        """Encoder ``mlp(sizes)``, e.g. [64, 32, 2], and the mirrored decoder
        ``mlp(sizes[::-1])`` (2 -> 32 -> 64), with ``output_activation``
        ('sigmoid' for data in [0, 1], None for unbounded data) on the
        reconstruction and ``code_activation`` (default none: a linear code)
        on the code."""
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"Autoencoder.mlp: sizes needs at least 2 entries, got {sizes}")
        rng = _as_rng(rng) if rng is not None else None
        enc = mlp(sizes, activation, output_activation=code_activation, rng=rng)
        dec = mlp(sizes[::-1], activation, output_activation=output_activation, rng=rng)
        return cls(enc, dec)

    @classmethod
    def conv(cls, channels=(1, 8, 16), kernel_size=3, activation="relu", output_activation="sigmoid",
             upsample="transpose", code_dim=None, input_shape=None, rng=None):
        """A convolutional autoencoder.

        Encoder: for each ``(c_in, c_out)`` in ``channels``: Conv2d (size
        kept by padding), activation, MaxPool2d(2) -- each stage halves H and
        W.  Optionally a dense bottleneck to ``code_dim`` (needs
        ``input_shape=(C, H, W)``).  Decoder mirrors it stage by stage:
        ``upsample='transpose'`` uses ConvTranspose2d(c_out, c_in, 2,
        stride=2); ``upsample='nearest'`` uses Upsample(2) followed by a
        Conv2d.  The last stage ends in ``output_activation``.
        """
        channels = [int(c) for c in channels]
        if len(channels) < 2:
            raise ValueError(f"Autoencoder.conv: channels needs at least 2 entries, got {channels}")
        if upsample not in ("transpose", "nearest"):
            raise ValueError(f"Autoencoder.conv: upsample must be 'transpose' or 'nearest', got {upsample!r}")
        pad = kernel_size // 2
        enc, dec = [], []
        for a, b in zip(channels[:-1], channels[1:]):
            enc += [nn.Conv2d(a, b, kernel_size, padding=pad), make_activation(activation), nn.MaxPool2d(2)]
        pairs = list(zip(channels[:-1], channels[1:]))[::-1]
        for i, (a, b) in enumerate(pairs):
            last = i == len(pairs) - 1
            if upsample == "transpose":
                dec.append(nn.ConvTranspose2d(b, a, 2, stride=2))
            else:
                dec += [nn.Upsample(scale_factor=2), nn.Conv2d(b, a, kernel_size, padding=pad)]
            act = output_activation if last else activation
            if act is not None:
                dec.append(make_activation(act))
        if code_dim is not None:
            if input_shape is None:
                raise ValueError("Autoencoder.conv: code_dim needs input_shape=(C, H, W)")
            c, h, w = input_shape
            f = 2 ** (len(channels) - 1)
            if h % f or w % f:
                raise ValueError(f"Autoencoder.conv: H and W must be divisible by {f}, got {h}x{w}")
            inner = (channels[-1], h // f, w // f)
            flat = int(np.prod(inner))
            enc += [nn.Flatten(), nn.Linear(flat, code_dim)]
            dec = [nn.Linear(code_dim, flat), make_activation(activation), nn.Unflatten(1, inner)] + dec
        model = cls(nn.Sequential(*enc), nn.Sequential(*dec))
        return reset_parameters(model, rng) if rng is not None else model
