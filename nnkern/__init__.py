"""nnkern: neural-network kernels for the CPU.

Hand-written C kernels (GEMM, 2-D convolution, pooling) with OpenMP and
run-time AVX2/FMA dispatch, bound through Cython, under a small NumPy layer
API with explicit backward passes.
"""
__version__ = "0.1.0"

try:
    from . import _C
except ImportError as exc:  # pragma: no cover - message for source checkouts
    raise ImportError(
        "nnkern's C extension (nnkern._C) is not built. Install the package "
        "with `pip install .`, or build it in place for development with "
        "`python setup.py build_ext --inplace`."
    ) from exc

from ._config import (get_num_threads, set_num_threads, show_config, get_conv_winograd,
                      set_conv_winograd, _init_threads, _init_conv_winograd)

_init_threads()
_init_conv_winograd()

from . import functional  # noqa: E402
from . import nn, optim, init  # noqa: E402
from .serialization import save, load  # noqa: E402

__all__ = ["__version__", "functional", "nn", "optim", "init", "save", "load", "get_num_threads", "set_num_threads", "show_config",
           "get_conv_winograd", "set_conv_winograd"]
