# cython: language_level=3
"""nnkern._C -- the one compiled extension: Cython bindings over csrc/.

Each kernel family keeps its bindings in its own .pxi file, included here so
that all of them share one module (and one copy of the C runtime state).
A binding does three things: validate, allocate outputs, call C with the GIL
released (see _runtime.pxi for the shared helpers).
"""
cimport numpy as cnp

cnp.import_array()

include "_runtime.pxi"
include "_gemm.pxi"
include "_conv.pxi"
include "_pool.pxi"
include "_act.pxi"
