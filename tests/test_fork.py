"""Processes: fork after multi-threaded kernels, spawn, and torch import order.

GNU libgomp's thread pool does not survive fork(): a child whose parent ran a
multi-threaded region used to hang forever in its first parallel region.
nnkern's C runtime registers a pthread_atfork child handler that makes every
kernel in the child serial (nnkern.get_num_threads() returns 1 there).  Each
scenario runs in its own interpreter under a timeout, so a hang fails the
test instead of blocking the suite.
"""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap

import pytest

import nnkern

TESTS = os.path.dirname(os.path.abspath(__file__))
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nnkern.__file__)))
TIMEOUT = 120

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")


def run_script(code, timeout=TIMEOUT, **env):
    """Run `code` as a script file (spawn children re-import __main__ from
    it) in a fresh interpreter; fail on a non-zero exit or a hang."""
    fd, path = tempfile.mkstemp(suffix=".py", prefix="nnkern_fork_")
    with os.fdopen(fd, "w") as f:
        f.write(textwrap.dedent(code))
    try:
        return _run(path, timeout, env)
    finally:
        os.unlink(path)


def _run(path, timeout, env):
    full = dict(os.environ)
    full["PYTHONPATH"] = os.pathsep.join([PKG_PARENT, TESTS, full.get("PYTHONPATH", "")])
    full.update(env)
    # Own process group, so that a hung child or grandchild is killed too.
    proc = subprocess.Popen([sys.executable, path], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=TESTS,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the script hung (> {timeout}s):\n{out}\n{err}")
    assert proc.returncode == 0, out + err
    return out


def parent_script(body):
    """PARENT with `body` as the end of its main block."""
    body = textwrap.indent(textwrap.dedent(body).strip(), " " * 8)
    return PARENT.replace("        {body}", body)


# The child checks its results against the parent's bitwise (the kernels are
# thread-count invariant), and reports its thread count.
PARENT = """
    import multiprocessing as mp, pickle, sys
    import numpy as np
    import nnkern
    import _rely_cases as C

    def child(q):
        try:
            got = C.run_all()
            q.put((nnkern.get_num_threads(), pickle.dumps(got), None))
        except BaseException as exc:  # report, do not hang the parent
            q.put((None, None, repr(exc)))

    def check(method, expect_threads):
        ctx = mp.get_context(method)
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q,))
        p.start()
        try:
            nt, blob, err = q.get(timeout=40)
        except Exception:
            p.kill()
            sys.exit(f"{method} child hung or died (exit code {p.exitcode})")
        p.join(30)
        assert err is None, err
        assert p.exitcode == 0, p.exitcode
        if expect_threads is not None:
            assert nt == expect_threads, (method, nt)
        C.assert_bitwise(ref, pickle.loads(blob), method)
        print(method, "ok", nt)

    if __name__ == "__main__":
        nnkern.set_num_threads(2)
        ref = C.run_all()          # multi-threaded regions: the OpenMP pool exists now
        ref = C.run_all()
        {body}
"""


@needs_fork
def test_fork_child_after_multithreaded_parent_runs_every_kernel():
    out = run_script(parent_script('check("fork", 1)'))
    assert "fork ok 1" in out


@needs_fork
def test_fork_child_is_serial_even_when_asked_for_threads():
    code = parent_script("""
        import os
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                nnkern.set_num_threads(2)
                assert nnkern.get_num_threads() == 1
                C.assert_bitwise(ref, C.run_all(), "os.fork")
                pid2 = os.fork()          # a grandchild too
                if pid2 == 0:
                    C.assert_bitwise(ref, C.run_all(), "grandchild")
                    os._exit(0)
                _, st = os.waitpid(pid2, 0)
                code = os.waitstatus_to_exitcode(st)
            finally:
                os._exit(code)
        _, st = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(st) == 0
        # the parent keeps its threads
        assert nnkern.get_num_threads() == 2
        C.assert_bitwise(ref, C.run_all(), "parent after fork")
        print("done")
    """)
    assert "done" in run_script(code)


def test_spawn_child_keeps_threads():
    out = run_script(parent_script('check("spawn", None)'))
    assert "spawn ok" in out


@needs_fork
def test_forkserver_child():
    out = run_script(parent_script('check("forkserver", None)'))
    assert "forkserver ok" in out


TORCH_ORDER = """
    import numpy as np
    {first}
    {second}
    import torch
    import nnkern, nnkern.functional as F
    nnkern.set_num_threads(2)
    torch.set_num_threads(2)
    r = np.random.default_rng(0)
    x = r.standard_normal((2, 6, 20, 20))
    w = r.standard_normal((8, 6, 3, 3))
    y = F.conv2d(x, w, padding=1)
    yt = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
    assert np.allclose(y, yt, rtol=1e-10, atol=1e-10)
    a = r.standard_normal((200, 200)).astype(np.float32)
    assert np.allclose(F.matmul(a, a), (torch.from_numpy(a) @ torch.from_numpy(a)).numpy(),
                       rtol=1e-4, atol=1e-3)
    print("ok")
"""


@pytest.mark.parametrize("order", ["torch_first", "nnkern_first"])
def test_torch_import_order(order):
    pytest.importorskip("torch")
    first, second = "import torch", "import nnkern"
    if order == "nnkern_first":
        first, second = second, first
    assert "ok" in run_script(TORCH_ORDER.format(first=first, second=second))
