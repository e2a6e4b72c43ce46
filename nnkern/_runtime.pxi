# _runtime.pxi -- shared binding helpers: status codes, ISA dispatch, threads.
from libc.stdint cimport int64_t

cdef extern from "nk_common.h":
    ctypedef enum nk_status:
        NK_OK
        NK_ERR_ARG
        NK_ERR_NOMEM
        NK_ERR_OVERFLOW
        NK_ERR_INDEX

cdef extern from "nk_runtime.h":
    ctypedef enum nk_isa:
        NK_ISA_GENERIC
        NK_ISA_AVX2
        NK_ISA_AVX512
    nk_isa nk_isa_detect() nogil
    nk_isa nk_isa_level() nogil
    nk_isa nk_isa_active() nogil
    nk_status nk_isa_set(nk_isa isa) nogil
    const char *nk_isa_name(nk_isa isa) nogil
    int nk_openmp_enabled() nogil
    int nk_get_max_threads() nogil
    nk_status nk_set_max_threads(int n) nogil

_ISA_BY_NAME = {"generic": NK_ISA_GENERIC, "avx2": NK_ISA_AVX2, "avx512": NK_ISA_AVX512}


cdef int check_status(nk_status st, str what) except -1:
    """Turn a C status code into a Python exception naming `what`."""
    if st == NK_OK:
        return 0
    if st == NK_ERR_NOMEM:
        raise MemoryError(f"{what}: could not allocate the workspace")
    if st == NK_ERR_OVERFLOW:
        raise ValueError(f"{what}: the requested sizes overflow 64-bit arithmetic")
    if st == NK_ERR_INDEX:
        raise ValueError(f"{what}: an index is out of range for the input")
    raise ValueError(f"{what}: invalid arguments (status {<int>st})")


cdef inline int num_threads():
    """Thread count for the next kernel call (see nnkern.get_num_threads)."""
    return nk_get_max_threads()


def openmp_enabled():
    """True when the extension was built with OpenMP."""
    return bool(nk_openmp_enabled())


def get_max_threads():
    return nk_get_max_threads()


def set_max_threads(int n):
    check_status(nk_set_max_threads(n), "set_num_threads")


def isa_detected():
    """Best instruction-set path the CPU supports."""
    return nk_isa_name(nk_isa_detect()).decode()


def isa_active():
    """Instruction-set level the kernels use now ('generic', 'avx2' or
    'avx512'; at 'avx512' GEMM and conv2d's stride-1 float32 forward have
    AVX-512 code, the rest runs AVX2)."""
    return nk_isa_name(nk_isa_level()).decode()


def isa_available():
    """Levels usable on this CPU, portable first."""
    best = <int>nk_isa_detect()
    return [name for name, lvl in sorted(_ISA_BY_NAME.items(), key=lambda kv: kv[1])
            if lvl <= best]


def set_isa(str name):
    """Force an instruction-set level ('generic', 'avx2' or 'avx512'); for
    tests and benchmarks.  ValueError if unknown or unsupported by this CPU."""
    if name not in _ISA_BY_NAME:
        raise ValueError(f"unknown ISA {name!r}; expected one of {sorted(_ISA_BY_NAME)}")
    if nk_isa_set(<nk_isa>_ISA_BY_NAME[name]) != NK_OK:
        raise ValueError(f"this CPU does not support the {name!r} path")
