"""Threads: concurrent Python threads and OpenMP thread-count invariance, for
every kernel in nnkern.functional (see tests/_rely_cases.py)."""
import threading

import numpy as np
import pytest

import nnkern
import _rely_cases as C
from _util import num_threads


def test_every_public_function_has_a_case():
    missing = [n for n in C.public_functions() if n not in C.CASES]
    assert not missing, f"add cases for {missing} to tests/_rely_cases.py"


@pytest.mark.parametrize("omp_threads", [1, 2])
def test_four_python_threads_match_serial(omp_threads, restore_threads):
    """Every kernel called concurrently from 4 Python threads (each running
    the cases in a different order) gives the serial results bitwise."""
    nnkern.set_num_threads(omp_threads)
    ref = C.run_all()
    names = list(C.CASES)
    results, errors = [None] * 4, []
    start = threading.Barrier(4)

    def worker(i):
        try:
            start.wait()
            order = names[i:] + names[:i]
            got = {}
            for rep in range(2):
                for dt in C.DTYPES:
                    for name in (order if rep == 0 else order[::-1]):
                        got[(name, np.dtype(dt).name)] = C.CASES[name](dt)
            results[i] = got
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a Python thread hung"
    assert not errors, errors
    for i, got in enumerate(results):
        C.assert_bitwise(ref, {k: got[k] for k in ref}, f"python thread {i}")


@pytest.mark.parametrize("name", list(C.CASES))
def test_bitwise_identical_for_1_2_3_openmp_threads(name, isa):
    res = {}
    for n in (1, 2, 3):
        with num_threads(n):
            res[n] = C.run_all(names=[name])
    C.assert_bitwise(res[1], res[2], f"{name} ({isa}) 1 vs 2 threads")
    C.assert_bitwise(res[1], res[3], f"{name} ({isa}) 1 vs 3 threads")


def test_nn_training_step_thread_invariant(restore_threads):
    """A forward/backward/step of a small CNN through nnkern.nn (layers,
    containers, loss, optimizer) is bitwise identical for 1, 2, 3 threads."""
    from test_determinism import train

    runs = {}
    for n in (1, 2, 3):
        nnkern.set_num_threads(n)
        runs[n] = train(steps=2)
    for n in (2, 3):
        for a, b in zip(runs[1], runs[n], strict=True):
            assert a.tobytes() == b.tobytes()
