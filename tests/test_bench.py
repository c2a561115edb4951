"""The benchmark scripts run (tiny sizes): they are not timed here, only kept working."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_prepare_bench(capsys):
    _load("prepare_bench").main(["--n", "4", "--size", "32", "--threads", "1", "2"])
    out = capsys.readouterr().out
    assert "naive, bicubic (PIL default), 1 thread" in out and "ours, bilinear, 2 thread(s)" in out


def test_train_bench(capsys):
    _load("train_bench").main(["--sizes", "16", "--batch", "2", "--steps", "1"])
    out = capsys.readouterr().out
    assert "matmul peak" in out and "of peak" in out


def test_qssim_bench(capsys):
    _load("qssim_bench").main(["--pairs", "1", "--images", "1"])
    out = capsys.readouterr().out
    assert "1024x768" in out and "MP/s" in out
