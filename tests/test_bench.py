"""The benchmark scripts run at tiny sizes: kept working, not timed here (bench/ prints
side-by-side figures; they are not tests)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

BENCH = ROOT / "bench"


def _load(name):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize(
    "name, args, expect",
    [
        ("prepare_bench", ["--n", "4", "--size", "32", "--repeats", "1"], "PIL with draft()"),
        (
            "train_bench",
            ["--sizes", "16", "--batch", "2", "--matmul", "64", "--repeats", "1"],
            "of peak",
        ),
        (
            "qssim_bench",
            ["--pairs", "1", "--batch", "2", "--sizes", "32x32", "--repeats", "1"],
            "torch",
        ),
        (
            "loader_bench",
            ["--images", "64", "--size", "16", "--batch", "8", "--steps", "4", "--repeats", "1"],
            "whole batches",
        ),
        (
            "score_bench",
            ["--images", "2", "--height", "48", "--width", "64", "--repeats", "1"],
            "scaling",
        ),
        (
            "colorize_bench",
            ["--images", "1", "--height", "48", "--width", "64", "--size", "32", "--repeats", "1"],
            "ECCV16",
        ),
        (
            "colorize_bench",
            ["--whole-process", "--images", "1", "--height", "48", "--width", "64", "--size", "32"]
            + ["--repeats", "1", "--startup-repeats", "1"],
            "whole process",
        ),
    ],
)
def test_bench_runs(name, args, expect, capsys):
    _load(name).main(args)
    assert expect in capsys.readouterr().out


def test_gpu_check_smoke_runs_without_a_gpu(tmp_path):
    """The same code as on a GPU at tiny sizes: train.fit on shards on disk (eager and
    compiled, bf16, channels_last), the loader, colorize (eager and compiled), QSSIM."""
    r = subprocess.run(
        ["bash", str(BENCH / "gpu_check.sh"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=900,
        # this interpreter, venv activated or not; the figures into this test's folder
        env={**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "figures.json")},
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for expect in ("fit, eager", "fit, compiled", "loader alone", "of peak", "MP/s", "QSSIM"):
        assert expect in r.stdout
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["training"]["fit, compiled"]["images_per_s"] > 0
    assert figures["colorize"]["colorize, compiled"]["megapixels_per_s"] > 0
    assert figures["versions"]["torch"] == torch.__version__


def test_the_gpu_check_keeps_every_tensor_on_the_models_device(tmp_path, monkeypatch):
    """The meta device stands in for a GPU: each part must get as far as reading a result
    back (which meta cannot), never fail on a tensor left on the CPU."""
    from colorcnn import train as T
    from colorcnn.runtime import Runtime

    gc = _load("gpu_check")
    meta = torch.device("meta")
    monkeypatch.setattr(T, "setup_runtime", lambda *a: Runtime(0, 1, meta, False, gc.CL))
    p = {**gc.SMOKE, "bf16": False}  # autocast has no meta device
    with pytest.raises(RuntimeError, match="item\\(\\) cannot be called on meta tensors"):
        gc.training(tmp_path / "a", p, meta)  # the first loss read back, after a whole step
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        gc.colorize(tmp_path / "c", p, meta)
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        gc.qssim(p, meta)
