"""pytest-benchmark suite: GEMM (matmul) and linear forward / forward+backward,
nnkern vs the NumPy baseline vs PyTorch (when importable), side by side:

    pytest bench/bench_gemm.py --benchmark-group-by=group [--bench-size quick] [--bench-threads 1,2]

Cases, inputs and implementations come from bench/cases.py; parametrization
and verification from bench/conftest.py.
"""
from conftest import run_benchmark

GROUP = "gemm"


def test_gemm(benchmark, bench_case, impl, threads, request):
    run_benchmark(benchmark, bench_case, impl, threads, request.config.getoption("--bench-impls"))
