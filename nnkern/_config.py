"""Build and run-time configuration: versions, ISA path, OpenMP threads."""
import os
import platform

from . import _C

__all__ = ["show_config", "get_num_threads", "set_num_threads", "usable_cpu_count",
           "get_conv_winograd", "set_conv_winograd"]

try:
    from ._build_info import BUILD_INFO
except ImportError:  # pragma: no cover - only when built by unusual means
    BUILD_INFO = {"compiler": "unknown", "compiler_version": "unknown",
                  "cflags": "unknown", "ldflags": "unknown",
                  "openmp": _C.openmp_enabled(), "sanitize": ""}


def _cgroup_cpu_limit():
    """CPU quota of the cgroup (v2 cpu.max or v1 cfs files), or None."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, int(int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        if quota > 0 and period > 0:
            return max(1, quota // period)
    except (OSError, ValueError):
        pass
    return None


def usable_cpu_count():
    """CPUs this process may run on: the affinity mask, capped by a cgroup
    CPU quota when one is set."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    return max(1, min(n, limit) if limit else n)


def _init_threads():
    # OMP_NUM_THREADS is honoured by the OpenMP runtime itself.  Without it,
    # the OpenMP default is the affinity mask; cap it by a cgroup quota.
    if not os.environ.get("OMP_NUM_THREADS") and _C.openmp_enabled():
        n = usable_cpu_count()
        if n < _C.get_max_threads():
            _C.set_max_threads(n)


def get_num_threads():
    """Number of OpenMP threads the next kernel call may use.  Always 1 in a
    child process created by fork() (GNU libgomp's thread pool does not
    survive fork; use the 'spawn' or 'forkserver' start method for
    multi-threaded kernels in child processes)."""
    return _C.get_max_threads()


def set_num_threads(n):
    """Set the number of threads nnkern's kernels use (like
    torch.set_num_threads).  Applies to every Python thread; a later
    threadpoolctl limit or omp_set_num_threads in this thread can lower it.
    Without OpenMP the kernels are serial and this only validates n."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads expects an int, got {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"Number of threads must be positive, got {n}")
    _C.set_max_threads(n)


def set_conv_winograd(enabled):
    """Let float32 3x3 stride-1 convolutions (groups 1, >= 16 channels in
    and out, AVX2 or AVX-512) use Winograd F(4x4, 3x3) -- forward,
    backward-data, and with >= 32 channels the weight gradient -- or not.  On by default, and off when the environment
    variable NNKERN_CONV_WINOGRAD is 0 at import.  Its results are not
    bit-identical to the direct paths: float32 rounding differs by a few
    1e-6 of the output's magnitude (a direct sum: ~3e-7).  Like
    torch.backends.cudnn's algorithm choice, it is process-wide; results do
    not depend on the thread count either way."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_conv_winograd expects a bool, got {type(enabled).__name__}")
    _C.conv_winograd_enable(enabled)


def get_conv_winograd():
    """True when the Winograd path may be used (see set_conv_winograd)."""
    return _C.conv_winograd_enabled()


def _init_conv_winograd():
    v = os.environ.get("NNKERN_CONV_WINOGRAD", "").strip().lower()
    if v in ("0", "false", "off", "no"):
        _C.conv_winograd_enable(False)


def show_config(print_out=True):
    """Print and return nnkern's build and run-time configuration."""
    from . import __version__
    import numpy as np

    cfg = {
        "version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "compiler": BUILD_INFO["compiler"],
        "compiler_version": BUILD_INFO["compiler_version"],
        "cflags": BUILD_INFO["cflags"],
        "ldflags": BUILD_INFO["ldflags"],
        "sanitize": BUILD_INFO.get("sanitize", ""),
        "openmp": bool(_C.openmp_enabled()),
        "isa": _C.isa_active(),
        "isa_detected": _C.isa_detected(),
        "nnkern_arch_env": os.environ.get("NNKERN_ARCH", ""),
        "num_threads": get_num_threads(),
        "conv_winograd": get_conv_winograd(),
        "usable_cpus": usable_cpu_count(),
        "machine": platform.machine(),
    }
    if print_out:
        width = max(map(len, cfg))
        print("nnkern configuration")
        for k, v in cfg.items():
            print(f"  {k:<{width}} : {v}")
    return cfg
