"""Shared fixtures: both ISA paths, deterministic hypothesis profiles."""
import os

import pytest
from hypothesis import HealthCheck, settings

import nnkern
from nnkern import _C

from _util import SIMD_LEVELS

# Deterministic by default (CI); NNKERN_HYPOTHESIS_PROFILE=long for local soak runs.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("long", deadline=None, max_examples=2000,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("NNKERN_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=_C.isa_available())
def isa(request):
    """Run the test once per ISA path this CPU has ('generic', 'avx2')."""
    before = _C.isa_active()
    _C.set_isa(request.param)
    try:
        yield request.param
    finally:
        _C.set_isa(before)


@pytest.fixture(params=SIMD_LEVELS)
def simd_level(request):
    """Run the test once per SIMD level this CPU has ('avx2', 'avx512')."""
    before = _C.isa_active()
    _C.set_isa(request.param)
    try:
        yield request.param
    finally:
        _C.set_isa(before)


@pytest.fixture
def restore_threads():
    n = nnkern.get_num_threads()
    yield
    nnkern.set_num_threads(n)
