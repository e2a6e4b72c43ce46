"""nnkern.nn -- modules with explicit forward and backward passes.

Layers follow torch.nn's constructor signatures, defaults, weight layouts
and state-dict key names, so a PyTorch state dict converted to NumPy loads
directly.  See :class:`Module` for the forward/backward contract.
"""
from .module import Module, Parameter
from .linear import Linear, Dense, Identity
from .conv import Conv2d, ConvTranspose2d
from .pooling import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
from .activation import ReLU, LeakyReLU, Sigmoid, Tanh
from .shape import Flatten, Unflatten, Upsample
from .container import Sequential
from .skip import Residual, Concat
from .loss import MSELoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss
from .. import init  # noqa: F401  (nnkern.nn.init, as torch.nn.init)

__all__ = ["Module", "Parameter", "Linear", "Dense", "Identity", "Conv2d", "ConvTranspose2d",
           "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "ReLU", "LeakyReLU", "Sigmoid",
           "Tanh", "Flatten", "Unflatten", "Upsample", "Sequential", "Residual", "Concat",
           "MSELoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss"]
