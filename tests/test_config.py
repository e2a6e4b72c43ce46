"""Build, import, configuration, thread control and ISA dispatch."""
import json
import os
import subprocess
import sys

import pytest

import nnkern
from nnkern import _C


# Subprocesses must import the same nnkern as this process (installed, or an
# in-place build during development).
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nnkern.__file__)))


def child_env(**env):
    full = dict(os.environ)
    full["PYTHONPATH"] = PKG_PARENT + os.pathsep + full.get("PYTHONPATH", "")
    for k, v in env.items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    return full


def run_py(code, **env):
    out = subprocess.run([sys.executable, "-c", code], env=child_env(**env), capture_output=True,
                         text=True, timeout=120, cwd=os.path.dirname(__file__))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_show_config_keys(capsys):
    cfg = nnkern.show_config()
    printed = capsys.readouterr().out
    for key in ("version", "compiler", "cflags", "openmp", "isa", "num_threads"):
        assert key in cfg
        assert key in printed
    assert cfg["version"] == nnkern.__version__
    assert cfg["isa"] in ("generic", "avx2", "avx512")
    assert cfg["num_threads"] == nnkern.get_num_threads()
    for bad in ("-march=native", "-ffast-math", "-Ofast"):
        assert bad not in cfg["cflags"]
    assert "-O3" in cfg["cflags"]
    assert cfg["show" if False else "isa_detected"] in _C.isa_available()


def test_show_config_silent(capsys):
    cfg = nnkern.show_config(print_out=False)
    assert capsys.readouterr().out == ""
    assert isinstance(cfg, dict)


def test_set_get_num_threads(restore_threads):
    nnkern.set_num_threads(1)
    assert nnkern.get_num_threads() == 1
    if _C.openmp_enabled():
        nnkern.set_num_threads(3)
        assert nnkern.get_num_threads() == 3


@pytest.mark.parametrize("bad", [0, -1, -100])
def test_set_num_threads_rejects_non_positive(bad):
    with pytest.raises(ValueError, match="positive"):
        nnkern.set_num_threads(bad)


@pytest.mark.parametrize("bad", [1.5, "2", None, True])
def test_set_num_threads_rejects_non_int(bad):
    with pytest.raises(TypeError):
        nnkern.set_num_threads(bad)


def test_set_num_threads_applies_to_other_python_threads(restore_threads):
    import threading
    nnkern.set_num_threads(1)
    seen = []
    t = threading.Thread(target=lambda: seen.append(nnkern.get_num_threads()))
    t.start()
    t.join()
    assert seen == [1]


@pytest.mark.skipif(not _C.openmp_enabled(), reason="built without OpenMP")
def test_omp_num_threads_env_is_honoured():
    assert run_py("import nnkern; print(nnkern.get_num_threads())", OMP_NUM_THREADS="3") == "3"
    assert run_py("import nnkern; print(nnkern.get_num_threads())", OMP_NUM_THREADS="1") == "1"


def test_default_threads_are_usable_cpus():
    code = "import nnkern, nnkern._config as c; print(nnkern.get_num_threads(), c.usable_cpu_count())"
    got, usable = run_py(code, OMP_NUM_THREADS=None).split()
    expected = usable if _C.openmp_enabled() else "1"
    assert got == expected


@pytest.mark.skipif(not _C.openmp_enabled(), reason="built without OpenMP")
def test_threadpoolctl_limits_nnkern(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    nnkern.set_num_threads(2)
    before = nnkern.get_num_threads()
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert nnkern.get_num_threads() == 1
    assert nnkern.get_num_threads() == before


def test_nnkern_arch_generic_forces_portable_path():
    cfg = json.loads(run_py("import json, nnkern; print(json.dumps(nnkern.show_config(False)))",
                            NNKERN_ARCH="generic"))
    assert cfg["isa"] == "generic"
    assert cfg["nnkern_arch_env"] == "generic"


def test_nnkern_arch_avx2_caps_the_level():
    code = ("import json, nnkern; from nnkern import _C; "
            "print(json.dumps([nnkern.show_config(False)['isa'], _C.isa_available()]))")
    isa, available = json.loads(run_py(code, NNKERN_ARCH="avx2"))
    # capped at avx2, but the higher level stays selectable
    assert isa == ("avx2" if "avx2" in available else "generic")
    assert available == _C.isa_available()


def test_isa_levels_are_ordered():
    available = _C.isa_available()
    assert available == ["generic", "avx2", "avx512"][:len(available)]
    assert _C.isa_detected() == available[-1]


def test_set_isa_rejects_unsupported_level():
    missing = [name for name in ("avx2", "avx512") if name not in _C.isa_available()]
    if not missing:
        pytest.skip("this CPU supports every level")
    before = _C.isa_active()
    with pytest.raises(ValueError, match="does not support"):
        _C.set_isa(missing[0])
    assert _C.isa_active() == before


def test_default_isa_is_best_detected():
    cfg = json.loads(run_py("import json, nnkern; print(json.dumps(nnkern.show_config(False)))",
                            NNKERN_ARCH=None))
    assert cfg["isa"] == cfg["isa_detected"]


def test_isa_switch_and_errors(isa):
    assert _C.isa_active() == isa
    with pytest.raises(ValueError, match="unknown ISA"):
        _C.set_isa("sse9")
    assert _C.isa_active() == isa


def test_cli_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "nnkern", "--help"], capture_output=True,
                         text=True, timeout=60, cwd=os.path.dirname(__file__), env=child_env())
    assert out.returncode == 0
    assert "demo" in out.stdout and "config" in out.stdout


def test_imported_package_is_built():
    # The compiled extension must be the one next to the imported package.
    assert os.path.dirname(_C.__file__) == os.path.dirname(nnkern.__file__)
