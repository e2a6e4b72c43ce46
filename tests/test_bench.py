"""The benchmark tooling (bench/): runner, verification, compare, memory
probe, pytest-benchmark suites.  Tiny shapes only; nothing here asserts on
time.

The runner is exercised twice over: with the nnkern functions that exist in
this build, and with a stand-in nnkern.functional (NumPy reference code) so
that the ratio, percent-of-peak and plot paths run even before every kernel
family has landed.
"""
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import nnkern

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

import baselines as B  # noqa: E402
import cases as C  # noqa: E402
import compare  # noqa: E402
import harness as H  # noqa: E402
import run  # noqa: E402

PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nnkern.__file__)))


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ------------------------------------------------------------------ a stand-in nnkern.functional

def _stand_in():
    """nnkern.functional's API, computed with the NumPy reference code."""
    fwd_argmax = B.max_pool2d_fwd_argmax

    def max_pool2d(x, k, s=None, p=0, return_indices=False):
        s = k if s is None else s
        y, idx = fwd_argmax(x, k, s, p)
        return (y, B.argmax_to_flat(idx, x.shape, k, s, p)) if return_indices else y

    def max_pool2d_backward(g, idx, shape):
        N, Cc, Hh, W = shape
        dx = np.zeros((N * Cc, Hh * W), g.dtype)
        planes = np.repeat(np.arange(N * Cc), g[0, 0].size)
        np.add.at(dx, (planes, idx.reshape(-1)), g.reshape(-1))
        return dx.reshape(shape)

    conv_fwd, conv_bwd, dw_fwd, dw_bwd = B.conv2d_fwd, B.conv2d_bwd, B.depthwise_fwd, B.depthwise_bwd
    g_fwd, g_bwd = B.grouped_fwd, B.grouped_bwd

    def conv2d(x, w, b, s=1, p=0, d=1, groups=1):
        if groups > 1 and groups == x.shape[1] == w.shape[0]:
            return dw_fwd(x, w, b, s, p, d)
        return g_fwd(x, w, b, s, p, d, groups) if groups > 1 else conv_fwd(x, w, b, s, p, d)

    def conv2d_backward(dy, x, w, s=1, p=0, d=1, groups=1):
        if groups > 1 and groups == x.shape[1] == w.shape[0]:
            return dw_bwd(dy, x, w, s, p, d)
        return g_bwd(dy, x, w, s, p, d, groups) if groups > 1 else conv_bwd(dy, x, w, s, p, d)

    # bound now, so that a test that breaks a baseline leaves the stand-in intact
    return types.SimpleNamespace(
        matmul=lambda a, b: (a.astype(np.float64) @ b).astype(a.dtype),
        linear=B.linear_fwd, linear_backward=B.linear_bwd,
        conv2d=conv2d, conv2d_backward=conv2d_backward,
        max_pool2d=max_pool2d, max_pool2d_backward=max_pool2d_backward,
        avg_pool2d=B.avg_pool2d_fwd, avg_pool2d_backward=B.avg_pool2d_bwd,
        relu=B.relu,
    )


@pytest.fixture
def stand_in(monkeypatch):
    fake = _stand_in()

    def nk_functional(*names):
        return fake
    monkeypatch.setattr(C, "nk_functional", nk_functional)
    return fake


@pytest.fixture(autouse=True)
def _restore_threads():
    n = nnkern.get_num_threads()
    yield
    nnkern.set_num_threads(n)


def _run(tmp_path, *extra):
    js = tmp_path / "out.json"
    png = tmp_path / "out.png"
    data = run.main(["--tiny", "--no-progress", "--json", str(js), "--plot", str(png), *extra])
    with open(js) as f:
        on_disk = json.load(f)
    return data, on_disk, png


# ------------------------------------------------------------------ runner output

def test_runner_tiny_json_fields(tmp_path, stand_in, capsys):
    data, js, png = _run(tmp_path, "--threads", "1")
    meta = js["meta"]
    for k in ("cpu", "nproc", "threads", "isa", "compiler_flags", "numpy", "nnkern", "torch",
              "nnkern_config", "date", "argv", "timing", "size"):
        assert k in meta, k
    assert meta["threads"] == [1] and meta["size"] == "tiny"
    assert meta["isa"] == nnkern.show_config(print_out=False)["isa"]
    if "threadpool_info" in meta:
        assert isinstance(meta["threadpool_info"], list)
    # peak probe (None only without a C compiler)
    if js["peak"] is not None:
        assert set(js["peak"]["fma_gflops"]) == {"1"}
        assert all(v > 0 for v in js["peak"]["copy_gbs"].values())
    families = {r["family"] for r in js["results"]}
    assert {"gemm", "linear", "conv", "pool", "layers", "overhead"} <= families
    for r in js["results"]:
        for k in ("case", "op", "impl", "threads", "median_ms", "p10_ms", "p90_ms", "min_ms", "samples",
                  "unit", "rate"):
            assert k in r, k
        assert r["p10_ms"] <= r["median_ms"] <= r["p90_ms"]
        assert r["samples"] >= 3
    impls = {r["impl"] for r in js["results"]}
    assert {"nnkern", "numpy"} <= impls
    vs = {r["vs"] for r in js["ratios"]}
    assert "numpy" in vs
    try:
        import torch  # noqa: F401
        assert {"torch", "torch-cl"} <= vs
    except ImportError:
        pass
    assert all(r["ratio"] > 0 for r in js["ratios"])
    # every case verified, with the pairwise errors recorded
    for cid, v in js["verification"].items():
        assert "nnkern" in v["impls"] or cid.startswith("layers/lenet")
        assert all(e <= v["tol"] for e in v["max_rel_err"].values())
    assert {g["impl"] for g in js["gil"]} >= {"nnkern", "numpy"}
    assert all(g["speedup"] > 0 and g["stall_ms"] > 0 and g["call_ms_with_ticker"] > 0 for g in js["gil"])
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "vs numpy" in out and "% peak" in out and "GIL release" in out


def test_runner_with_this_builds_nnkern(tmp_path):
    """Whatever nnkern families exist now: the run completes, skips what is missing."""
    data, js, _ = _run(tmp_path, "--threads", "1", "--only", "gemm,pool,gil", "--no-peak")
    assert js["peak"] is None
    assert {r["family"] for r in js["results"]} >= {"gemm", "pool"}
    for cid, v in js["verification"].items():
        if "nnkern" not in v["impls"]:
            assert "nnkern" in js["skipped"][cid]


def test_thread_counts(tmp_path, stand_in):
    data, js, _ = _run(tmp_path, "--threads", "2,1", "--only", "gemm", "--cases", "gemm/", "--no-peak")
    assert sorted(r["threads"] for r in js["results"] if r["impl"] == "nnkern") == [1, 2]
    assert {r["threads"] for r in js["ratios"]} == {1, 2}
    assert nnkern.get_num_threads() == data["meta"]["nnkern_config"]["num_threads"]  # restored


def test_only_and_cases_filters(tmp_path, stand_in):
    data, js, _ = _run(tmp_path, "--threads", "1", "--only", "conv", "--cases", "tiny-s2d2/fwd", "--no-peak",
                       "--impls", "nnkern,numpy")
    assert {(r["case"], r["op"]) for r in js["results"]} == {("tiny-s2d2", "fwd")}
    assert {r["impl"] for r in js["results"]} == {"nnkern", "numpy"}
    assert js["gil"] == []


def test_merge_runs(tmp_path, stand_in):
    paths = []
    for k in range(2):
        js = tmp_path / f"run{k}.json"
        run.main(["--tiny", "--no-progress", "--no-peak", "--only", "gemm,gil", "--threads", "1",
                  "--json", str(js)])
        paths.append(str(js))
    out = tmp_path / "merged.json"
    md = tmp_path / "merged.md"
    data = run.main(["--merge", *paths, "--json", str(out), "--md", str(md)])
    with open(out) as f:
        merged = json.load(f)
    assert merged["meta"]["merged_from"] == paths
    for r in merged["results"]:
        assert len(r["runs_median_ms"]) == 2
        assert r["median_ms"] == pytest.approx(float(np.median(r["runs_median_ms"])))
    assert len(merged["ratios"]) == len(data["ratios"]) > 0
    assert md.read_text().startswith("Merged 2 runs")
    with open(paths[1]) as f:
        bad = json.load(f)
    bad["failures"] = {"gemm/x": "mismatch"}
    with open(paths[1], "w") as f:
        json.dump(bad, f)
    with pytest.raises(SystemExit, match="verification failures"):
        run.main(["--merge", *paths])


def test_peak_probe_without_compiler(monkeypatch):
    import peak
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert peak.compile_probe() is None
    assert peak.measure_peak((1,), "tiny") is None


def test_bad_arguments():
    with pytest.raises(SystemExit):
        run.main(["--tiny", "--only", "nonsense"])
    with pytest.raises(SystemExit):
        run.main(["--tiny", "--threads", "0"])


# ------------------------------------------------------------------ verification fails loudly

def test_wrong_baseline_fails_before_timing(tmp_path, stand_in, monkeypatch):
    real = B.conv2d_fwd
    monkeypatch.setattr(B, "conv2d_fwd", lambda *a: real(*a) * np.float32(1.01))
    timed = []
    monkeypatch.setattr(H, "measure_interleaved", lambda *a, **k: timed.append(1))
    with pytest.raises(H.VerificationError) as exc:
        run.main(["--tiny", "--no-progress", "--no-peak", "--only", "conv,gemm", "--threads", "1"])
    msg = str(exc.value)
    assert "conv/tiny-s2d2/fwd" in msg and "numpy" in msg and "Nothing was timed" in msg
    assert not timed
    try:
        import torch  # noqa: F401
        assert "Suspect implementation(s): numpy" in msg
    except ImportError:
        pass


def test_wrong_nnkern_is_named(tmp_path, stand_in, monkeypatch):
    pytest.importorskip("torch")
    good = stand_in.avg_pool2d_backward
    monkeypatch.setattr(stand_in, "avg_pool2d_backward", lambda *a: good(*a)[:, :, ::-1].copy())
    with pytest.raises(H.VerificationError, match=r"Suspect implementation\(s\): nnkern"):
        run.main(["--tiny", "--no-progress", "--no-peak", "--only", "pool", "--threads", "1"])


def test_keep_going_drops_failed_case_and_records_it(tmp_path, stand_in, monkeypatch):
    def broken(*a):
        raise RuntimeError("kernel exploded")
    monkeypatch.setattr(stand_in, "conv2d_backward", broken)
    data, js, _ = _run(tmp_path, "--threads", "1", "--only", "conv", "--no-peak", "--keep-going")
    assert list(js["failures"]) == ["conv/tiny-s2d2/bwd", "conv/tiny-dw-s2/bwd",
                                    "conv/tiny-g2/bwd"]
    assert "nnkern raised RuntimeError: kernel exploded" in js["failures"]["conv/tiny-s2d2/bwd"]
    assert {r["op"] for r in js["results"]} == {"fwd"}
    with pytest.raises(H.VerificationError, match="kernel exploded"):
        run.main(["--tiny", "--no-progress", "--no-peak", "--only", "conv", "--threads", "1"])


def test_runner_cli_exit_status_on_mismatch(tmp_path):
    """The command line reports a mismatch loudly and exits non-zero (status 3)."""
    code = ("import sys, numpy as np; sys.path.insert(0, %r); sys.argv[0] = 'run.py'\n"
            "import baselines as B, run\n"
            "B.matmul = lambda a, b: np.matmul(a, b) + 1\n"
            "sys.argv[1:] = ['--tiny', '--no-progress', '--no-peak', '--only', 'gemm', '--threads', '1', "
            "'--impls', 'nnkern,numpy']\n"
            "exec(compile(open(run.__file__).read(), run.__file__, 'exec'), {'__name__': '__main__', "
            "'__file__': run.__file__})\n") % BENCH
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_child_env(),
                       cwd=str(tmp_path), timeout=120)
    assert p.returncode == 3, p.stderr[-2000:]
    assert "VERIFICATION FAILED for gemm/" in p.stderr


def test_verify_outputs_rules():
    a = np.array([1.0, np.nan, np.inf, -2.0])
    assert H.max_rel_err(a, a.copy()) == 0.0
    assert H.max_rel_err(a, np.array([1.0, 0.0, np.inf, -2.0])) == np.inf  # NaN in one only
    assert H.max_rel_err(np.zeros(3), np.zeros(4)) == np.inf
    assert H.max_rel_err(np.array([100.0]), np.array([101.0])) == pytest.approx(1 / 101)
    assert H.verify_outputs("x", {"a": [np.ones(2)], "b": [np.ones(2)]}, 1e-6) == {"a~b": 0.0}
    with pytest.raises(H.VerificationError, match="a vs b"):
        H.verify_outputs("x", {"a": [np.ones(2)], "b": [np.ones(2), np.ones(1)]}, 1e-6)
    assert H.to_numpy_list((np.ones(2), None, [1.5]))[1] == 1.5


def test_baselines_against_float64_reference():
    """The NumPy baselines themselves, on a case with stride, padding and dilation."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    s, p, d = 2, 1, 2
    y = B.conv2d_fwd(x, w, b, s, p, d)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ref = np.zeros_like(y)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            patch = xp[:, :, i * s:i * s + d * 2 + 1:d, j * s:j * s + d * 1 + 1:d]
            ref[:, :, i, j] = np.einsum("ncrs,kcrs->nk", patch, w) + b
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    # backward: <dy, conv(x)> is linear in x and w; check against autodiff-free identities
    dy = rng.standard_normal(y.shape)
    dx, dw, db = B.conv2d_bwd(dy, x, w, s, p, d)
    eps = 1e-6
    for arr, grad in ((x, dx), (w, dw)):
        e = np.zeros_like(arr)
        e.flat[5] = eps
        f = lambda xx, ww: np.sum(dy * B.conv2d_fwd(xx, ww, b, s, p, d))  # noqa: E731
        num = (f(x + e, w) - f(x - e, w)) / (2 * eps) if arr is x else (f(x, w + e) - f(x, w - e)) / (2 * eps)
        assert num == pytest.approx(grad.flat[5], rel=1e-6, abs=1e-8)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)))
    # depthwise (groups = C): against the float64 reference with groups
    from nnkern import _C
    wd = rng.standard_normal((3, 1, 3, 2))
    yd = B.depthwise_fwd(x, wd, b[:3], s, p, d)
    np.testing.assert_allclose(
        yd, _C.conv2d_fwd_ref(x, wd, b[:3], (s, s), (p, p), (d, d), 3, *yd.shape[2:]),
        rtol=1e-12, atol=1e-12)
    dyd = rng.standard_normal(yd.shape)
    dxd, dwd, dbd = B.depthwise_bwd(dyd, x, wd, s, p, d)
    np.testing.assert_allclose(
        dxd, _C.conv2d_bwd_data_ref(dyd, wd, 9, 8, (s, s), (p, p), (d, d), 3), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        dwd, _C.conv2d_bwd_weight_ref(dyd, x, 3, 2, (s, s), (p, p), (d, d), 3), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dbd, dyd.sum(axis=(0, 2, 3)))
    # grouped (2 groups: 4 -> 6 channels): against the float64 reference
    xg = rng.standard_normal((2, 4, 9, 8))
    wg, bg = rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    yg = B.grouped_fwd(xg, wg, bg, s, p, d, 2)
    np.testing.assert_allclose(
        yg, _C.conv2d_fwd_ref(xg, wg, bg, (s, s), (p, p), (d, d), 2, *yg.shape[2:]),
        rtol=1e-12, atol=1e-12)
    dyg = rng.standard_normal(yg.shape)
    dxg, dwg, dbg = B.grouped_bwd(dyg, xg, wg, s, p, d, 2)
    np.testing.assert_allclose(
        dxg, _C.conv2d_bwd_data_ref(dyg, wg, 9, 8, (s, s), (p, p), (d, d), 2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        dwg, _C.conv2d_bwd_weight_ref(dyg, xg, 3, 2, (s, s), (p, p), (d, d), 2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dbg, dyg.sum(axis=(0, 2, 3)))
    # pooling: max with argmax -> flat indices as PyTorch returns them
    xx = rng.standard_normal((1, 2, 7, 7))
    yv, idx = B.max_pool2d_fwd_argmax(xx, 3, 2, 1)
    flat = B.argmax_to_flat(idx, xx.shape, 3, 2, 1)
    np.testing.assert_array_equal(np.take_along_axis(xx.reshape(1, 2, -1), flat.reshape(1, 2, -1), 2).reshape(yv.shape), yv)
    np.testing.assert_array_equal(B.max_pool2d_fwd(xx, 3, 2, 1), yv)


# ------------------------------------------------------------------ compare, memory probe, suites

def _fake_run(path, ms, commit, ratio=1.0):
    res = [dict(family="conv", case="c", op="fwd", impl="nnkern", threads=1, median_ms=ms,
                p10_ms=ms * 0.98, p90_ms=ms * 1.02),
           dict(family="conv", case="d", op="fwd", impl="nnkern", threads=1, median_ms=1.0,
                p10_ms=0.9, p90_ms=1.1)]
    with open(path, "w") as f:
        json.dump(dict(meta=dict(date="d", git_commit=commit, cpu="cpu"), results=res,
                       ratios=[dict(family="conv", case="c", op="fwd", threads=1, vs="torch", ratio=ratio)]), f)


def test_compare_flags_regressions(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    _fake_run(old, 1.0, "aaa", 1.5)
    _fake_run(new, 1.3, "bbb", 1.1)
    assert compare.main([str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "+30.0%" in out and "**slower**" in out and "1.50× | 1.10×" in out
    assert "| conv | d | fwd | nnkern | 1 | 1 | 1 | +0.0% | ~ |" in out
    assert compare.main([str(old), str(new), "--fail"]) == 1
    assert compare.main([str(new), str(old), "--fail"]) == 0
    assert "**faster**" in capsys.readouterr().out


def test_memprobe_subprocess():
    p = subprocess.run([sys.executable, os.path.join(BENCH, "memprobe.py"), "--case", "gemm/8x16x12/matmul",
                        "--impl", "numpy", "--size", "tiny"], capture_output=True, text=True, env=_child_env(),
                       timeout=120)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res["peak_extra_mib"] >= 0 and res["tracemalloc_peak_mib"] >= 0
    assert res["outputs_mib"] == pytest.approx(8 * 12 * 4 / 2 ** 20)


def test_memory_flag(tmp_path, stand_in):
    data, js, _ = _run(tmp_path, "--threads", "1", "--only", "gemm", "--cases", "8x16x12", "--no-peak",
                       "--memory", "--impls", "numpy")
    assert [m["impl"] for m in js["memory"]] == ["numpy"]
    assert "peak_extra_mib" in js["memory"][0]


def test_pytest_benchmark_suite_runs():
    pytest.importorskip("pytest_benchmark")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.join(BENCH, "bench_conv2d.py"), "--bench-size", "tiny", "--bench-threads", "1",
                        "--bench-impls", "nnkern,numpy",
                        "--benchmark-disable", "--rootdir", BENCH],
                       capture_output=True, text=True, env=_child_env(), cwd=BENCH, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert " passed" in p.stdout


def test_case_list_matches_anchors():
    full = C.build_cases("full")
    # the 11 ANCHORS cases, 3 depthwise and 2 grouped ones, x fwd/bwd
    assert len([c for c in full if c.family == "conv"]) == 32
    assert len([c for c in full if c.family == "pool"]) == 16  # 4 cases x max/avg x fwd/bwd
    assert len([c for c in full if c.family == "gemm"]) == 10
    ids = [c.id for c in full]
    assert len(ids) == len(set(ids))
    quick = {c.id for c in C.build_cases("quick")}
    assert quick <= set(ids)
