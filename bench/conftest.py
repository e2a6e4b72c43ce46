"""pytest plumbing for the pytest-benchmark suites (bench_*.py).

    pytest bench/bench_conv2d.py --benchmark-group-by=group [--bench-size quick] [--bench-threads 1,2]
    pytest bench/ --benchmark-group-by=group --benchmark-json out.json

Each suite file sets GROUP (gemm, conv, pool, layers); the tests are
parametrized here over the cases of bench/cases.py, the implementations and
the thread counts.  Every case is verified (all implementations compared)
once, before its first benchmark; a mismatch fails that benchmark.  The
benchmark group is "<case id> t=<threads>", so --benchmark-group-by=group
puts nnkern, NumPy and PyTorch side by side.
"""
import os
import sys

import pytest

from _paths import HERE, ROOT  # noqa: E402,F401  (sets sys.path: this folder, the checkout)

import cases as C  # noqa: E402
import harness as H  # noqa: E402

_VERIFIED = {}


def pytest_addoption(parser):
    group = parser.getgroup("nnkern-bench")
    group.addoption("--bench-size", default=os.environ.get("NNKERN_BENCH_SIZE", "full"),
                    choices=("full", "quick", "tiny"), help="case set (default full: the ANCHORS.md cases)")
    group.addoption("--bench-threads", default=os.environ.get("NNKERN_BENCH_THREADS", "1,2"),
                    help="comma list of thread counts (default 1,2)")
    group.addoption("--bench-impls", default=os.environ.get("NNKERN_BENCH_IMPLS", ""),
                    help="comma list of implementations (default: all of nnkern, numpy, torch, torch-cl)")


def pytest_collect_file(file_path, parent):
    # collect bench_*.py when the directory is given (pytest bench/)
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc):
    if "bench_case" not in metafunc.fixturenames:
        return
    size = metafunc.config.getoption("--bench-size")
    threads = [int(t) for t in metafunc.config.getoption("--bench-threads").split(",")]
    group = getattr(metafunc.module, "GROUP")
    only = [i for i in metafunc.config.getoption("--bench-impls").split(",") if i]
    params, ids = [], []
    for case in C.build_cases(size, [group]):
        for impl in C.IMPL_ORDER:
            if impl in case.impls and (not only or impl in only):
                for t in threads:
                    params.append((case, impl, t))
                    ids.append(f"{case.id}-{impl}-t{t}")
    metafunc.parametrize(("bench_case", "impl", "threads"), params, ids=ids)


def run_benchmark(benchmark, case, impl, threads, only=None):
    """Verify the case once (all selected implementations), then benchmark one."""
    if case.id not in _VERIFIED:
        try:
            from run import verify_case
            _VERIFIED[case.id] = verify_case(case, [i for i in (only or "").split(",") if i] or None)
        except H.VerificationError as e:
            _VERIFIED[case.id] = e
    v = _VERIFIED[case.id]
    if isinstance(v, Exception):
        pytest.fail(str(v))
    _, present, skipped = v
    if impl not in present:
        pytest.skip(skipped.get(impl, "unavailable"))
    _, fns, _ = C.instantiate(case, [impl])
    fn = fns[impl]
    benchmark.group = f"{case.id} t={threads}"
    benchmark.extra_info.update(family=case.family, case=case.name, op=case.op, impl=impl, threads=threads,
                                unit=case.unit, work=case.work)
    with H.thread_limits(threads):
        benchmark(fn)
    st = getattr(benchmark, "stats", None)
    if st is not None and case.work:
        benchmark.extra_info["rate_at_median"] = case.work / st.stats.median * 1e-9
