"""The workflow as users run it: lint, config validation, the paper-scale DAG, the demo."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, make_ilsvrc_tree

WORKFLOW_FILES = ("Snakefile", "config.yaml", "config", "workflow", "envs", "profiles", "src")


def copy_workflow(dest: Path) -> Path:
    """A clean copy of the workflow (no results), as a fresh clone would have it."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "results")
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 900):
    cmd = [sys.executable, "-m", "snakemake", *args]
    r = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def write_config(path: Path, overrides: dict) -> Path:
    path.write_text(yaml.safe_dump(overrides))
    return path


@pytest.mark.parametrize(
    "cmd",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "."],
        [sys.executable, "-m", "snakemake", "--lint"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt", "snakemake-lint"],
)
def test_lint_is_clean(cmd):
    exe = shutil.which(cmd[0]) or str(Path(sys.executable).parent / cmd[0])
    r = subprocess.run([exe, *cmd[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    if "--lint" in cmd:
        assert "Congratulations" in r.stdout + r.stderr


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"data": {"image_size": 30}}, "image_size"),
        ({"data": {"n_images": 0}}, "n_images"),
        ({"data": {"resize": "pad"}}, "resize"),
        ({"data": {"shard_sz": 10}}, "shard_sz"),
        ({"data": {"source": "ilsvrc"}}, "data.root"),
    ],
)
def test_invalid_config_fails_before_any_job_naming_the_key(tmp_path, overrides, key):
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(tmp_path / "bad.yaml", overrides)
    r = snakemake(wd, "-n", "--configfile", str(cfg), check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert key in out, out[-3000:]
    assert not (wd / "results").exists()


def test_paper_scale_dag_dry_runs_in_seconds(tmp_path):
    tree = make_ilsvrc_tree(tmp_path / "ILSVRC2012", 1000, 2, real_images=False)
    assert len(list((tree / "train").iterdir())) == 1000
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(tmp_path / "root.yaml", {"data": {"root": str(tree)}})
    t0 = time.perf_counter()
    r = snakemake(wd, "-n", "--configfile", "config/paper.yaml", str(cfg), "--quiet", "rules")
    elapsed = time.perf_counter() - t0
    assert elapsed < 10, f"dry run took {elapsed:.1f} s"
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in r.stdout.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert counts["prepare"] == 123 and counts["sample"] == 1, r.stdout
    assert "demo" not in counts


def test_sampling_more_than_exist_fails_with_a_clear_message(tmp_path):
    tree = make_ilsvrc_tree(tmp_path / "ILSVRC2012", 3, 2, real_images=True)
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(tmp_path / "c.yaml", {"data": {"source": "ilsvrc", "root": str(tree)}})
    r = snakemake(
        wd, "results/data/manifest.tsv", "--cores", "1", "--configfile", str(cfg), check=False
    )
    assert r.returncode != 0
    log = (wd / "logs" / "data" / "sample.log").read_text()
    assert "asked for 280 images but only 6 exist" in log and "allow_fewer: true" in log


@pytest.mark.slow
def test_demo_end_to_end_report_and_figure_only_reruns(tmp_path):
    """The README's first command on a fresh copy: the whole chain offline on 2 cores."""
    wd = copy_workflow(tmp_path / "wf")
    t0 = time.perf_counter()
    snakemake(wd, "--cores", "2")
    elapsed = time.perf_counter() - t0
    print(f"demo workflow: {elapsed:.0f} s")
    assert elapsed < 600

    # data stage: nothing dropped silently
    shards = sorted((wd / "results" / "data" / "shards").glob("*.Y.npy"))
    assert len(shards) == 5
    n = sum(np.load(s, mmap_mode="r").shape[0] for s in shards)
    rejected = (wd / "results" / "data" / "rejected.tsv").read_text().splitlines()[1:]
    assert n + len(rejected) == 280
    # training: the random-backbone fallback is announced everywhere
    assert "RANDOM BACKBONE" in (wd / "logs" / "train" / "train.log").read_text()
    assert "random (fallback" in (wd / "results" / "train" / "metrics.tsv").read_text()
    # scoring: the model and both baselines on every usable test image; gray one rejected
    scores = pd.read_csv(wd / "results" / "score" / "scores.tsv", sep="\t")
    assert set(scores["method"]) == {"model", "gray", "mean_chroma"}
    assert scores["image"].nunique() == 8
    assert "grayscale" in (wd / "results" / "test" / "rejected.tsv").read_text()
    for f in (
        "training_curves",
        "qssim_distribution",
        "category_qssim",
        "qssim_vs_colourfulness",
        "examples",
    ):
        assert (wd / "reports" / "figures" / f"{f}.png").stat().st_size > 10_000, f
    assert "random (fallback" in (wd / "reports" / "results.md").read_text()

    # the HTML report with captions
    snakemake(wd, "--report", "reports/report.html")
    html = (wd / "reports" / "report.html").read_text(errors="replace")
    assert "qssim_distribution.png" in html and len(html) > 100_000

    # nothing to do when up to date; editing a figure script reruns only figure rules
    r = snakemake(wd, "-n", "--cores", "2")
    assert "Nothing to be done" in r.stdout + r.stderr
    script = wd / "workflow" / "scripts" / "figures.py"
    script.write_text(script.read_text() + "\n# edited\n")
    r = snakemake(wd, "-n", "--cores", "2", "--quiet", "rules")
    jobs = {
        line.split()[0]
        for line in r.stdout.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    } - {"total"}
    assert jobs and jobs <= {
        "figure_training",
        "figure_qssim",
        "figure_categories",
        "figure_colourfulness",
        "figure_examples",
        "results_table",
        "reports",
        "all",
    }, jobs
