"""The benchmark scripts run at tiny sizes: kept working, not timed here (bench/ prints
side-by-side figures; they are not tests)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
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


def test_gpu_check_smoke_runs_without_a_gpu():
    r = subprocess.run(
        ["bash", str(BENCH / "gpu_check.sh"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHON": sys.executable},  # this interpreter, venv activated or not
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for expect in ("of peak", "whole batches", "ECCV16", "torch"):
        assert expect in r.stdout


def test_the_eccv16_reference_puts_its_inputs_where_the_model_is(tmp_path):
    """gpu_check.sh died on a GPU: the reference built its inputs on the CPU and joined them
    with the output of a model on CUDA. The meta device stands in for a GPU here: the run
    must get as far as copying the result back, not fail on mixed devices."""
    from PIL import Image

    from colorcnn.testimages import natural_rgb

    ref = _load("eccv16_reference")
    Image.fromarray(natural_rgb(40, 50)).convert("L").save(tmp_path / "g.png")
    model = ref.ECCV16().eval().to("meta")
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        ref.colorize_file(model, tmp_path / "g.png")  # mixed devices: a RuntimeError before
