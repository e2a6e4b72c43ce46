"""nnkern.functional -- mirrors torch.nn.functional for NumPy arrays.

Names, argument order, defaults, output-size rules and error wording follow
PyTorch; every forward has a matching ``*_backward``.  Each kernel family
lives in its own module and is re-exported here.
"""
from ._linear import *  # noqa: F401,F403
from ._conv import *  # noqa: F401,F403
from ._pool import *  # noqa: F401,F403
from ._activation import *  # noqa: F401,F403
from . import _linear, _conv, _pool, _activation

__all__ = _linear.__all__ + _conv.__all__ + _pool.__all__ + _activation.__all__
