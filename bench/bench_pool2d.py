"""pytest-benchmark suite: max / avg pooling forward and backward,
nnkern vs the NumPy baseline vs PyTorch (when importable), side by side:

    pytest bench/bench_pool2d.py --benchmark-group-by=group [--bench-size quick] [--bench-threads 1,2]

Cases, inputs and implementations come from bench/cases.py; parametrization
and verification from bench/conftest.py.
"""
from conftest import run_benchmark

GROUP = "pool"


def test_pool(benchmark, bench_case, impl, threads, request):
    run_benchmark(benchmark, bench_case, impl, threads, request.config.getoption("--bench-impls"))
