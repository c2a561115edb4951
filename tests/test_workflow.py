"""The workflow as users run it: lint, failing before any job, the paper-scale DAG, profiles,
and the demo end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, make_ilsvrc_tree, rule_blocks

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
            shutil.copy2(src, dest / name, follow_symlinks=False)  # config.yaml stays a link
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 1800, env=None):
    cmd = [sys.executable, "-m", "snakemake", *args]
    r = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def write_config(path: Path, overrides: dict) -> Path:
    path.write_text(yaml.safe_dump(overrides))
    return path


def job_counts(text: str) -> dict[str, int]:
    """The (first) "job / count" table of a Snakemake run or dry run."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"\s*job\s+count\s*", line))
    counts = {}
    for line in lines[start + 2 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture
def fresh_torch_home(tmp_path, monkeypatch):
    """No cached ImageNet weights, whatever this machine has."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home"


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


def test_no_workflow_profile_is_applied_behind_the_users_back():
    """profiles/default would be applied under --profile profiles/slurm too (and capped it)."""
    assert not (ROOT / "profiles" / "default").exists()
    slurm = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert "cores" not in slurm and "resources" not in slurm and "printshellcmds" not in slurm


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"data": {"image_size": 30}}, "data.image_size must be a multiple of 4"),
        ({"data": {"shard_sz": 10}}, "shard_sz"),
        (
            {"data": {"source": "ilsvrc", "root": "/nonexistent/ILSVRC"}},
            "data.root '/nonexistent/ILSVRC' does not exist",
        ),
        (
            {"test": {"source": "sun397", "root": "/nonexistent"}},
            "test.root '/nonexistent' does not exist",
        ),
        (
            {"test": {"source": "sun397", "root": ".", "list_file": "nope.txt"}},
            "test.list_file 'nope.txt' does not exist",
        ),
        ({"model": {"b_kernel": 2}}, "model.b_kernel must be an odd kernel size"),
        ({"train": {"batch_size": 500}}, "train.batch_size .* must be at most data.n_images"),
        (
            {"model": {"backbone_weights": "weights/typo.pth"}},
            "model.backbone_weights is 'weights/typo.pth'",
        ),
        (
            {"study": {"external": {"ddcolor": {"path": "/nonexistent/ddcolor"}}}},
            "study.external.ddcolor.path '/nonexistent/ddcolor' does not exist",
        ),
        ({"study": {"external": {"gray": {"path": "."}}}}, "study.external.gray must be a name"),
        ({"study": {"external": {"x": {"claim": "?"}}}}, "exactly one of path and builtin"),
        ({"test": {"protocol": "val5k"}}, "test.protocol must be original for SUN397"),
        (
            {"study": {"peers": {"eccv16": {"weights": "/models/absent-9b330a0b.pth"}}}},
            "study.peers.eccv16.weights: no file /models/absent-9b330a0b.pth",
        ),
        (
            {"study": {"peers": {"eccv16": {"weights": "random"}}}},
            "study.peers.eccv16 must be a name that says 'random'",
        ),
        ({"study": {"peers": {"ddcolor": {"weights": "random"}}}}, "study.peers.ddcolor.network"),
        (
            {"study": {"peers": {"paper": {"network": "eccv16", "weights": "random"}}}},
            "study.peers.paper must be a name",
        ),
    ],
)
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, overrides, message):
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(tmp_path / "bad.yaml", overrides)
    r = snakemake(wd, "-n", "--configfile", str(cfg), check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert re.search(message, out), out[-3000:]
    assert not (wd / "results").exists()


def test_an_imagenet_val_protocol_prepares_the_truth_and_writes_the_gray_inputs(tmp_path):
    """test.source imagenet_val, protocol val5k, on a generated flat val folder: the test set
    is the prepared 256x256 truth, `snakemake gray_inputs` writes what each system gets, and
    the whole study is planned on them."""
    from PIL import Image
    from test_testset import make_val_folder

    val = make_val_folder(tmp_path / "val")
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(
        tmp_path / "val.yaml",
        {"test": {"source": "imagenet_val", "root": str(val), "protocol": "val5k"}},
    )
    r = snakemake(wd, "gray_inputs", "--cores", "2", "--configfile", str(cfg))
    assert job_counts(r.stdout + r.stderr) == {"test_set": 1, "gray_inputs": 1}
    table = wd / "results" / "test" / "test_set.tsv"
    lines = [x for x in table.read_text().splitlines() if not x.startswith("#")][1:]
    assert len(lines) == 6 and all(x.split("\t")[1] == "imagenet_val" for x in lines)
    gray = sorted((wd / "results" / "test" / "gray").glob("*.png"))
    assert [p.name for p in gray] == [f"ILSVRC2012_val_{i:08d}.png.png" for i in range(1, 7)]
    assert all(Image.open(p).size == (256, 256) and Image.open(p).mode == "L" for p in gray)
    assert (
        "val5k: only 7 val images (not 5000)" in (wd / "logs" / "test" / "test_set.log").read_text()
    )
    r = snakemake(wd, "-n", "--configfile", str(cfg), "--quiet", "rules")
    counts = job_counts(r.stdout + r.stderr)
    assert counts["colorize"] == 1 and counts["score"] == 1 and "test_set" not in counts


def test_a_peer_from_a_weights_file_is_verified_recorded_and_scored(tmp_path):
    """study.peers with a state dict under the published keys (random values): the peer's
    scores need only the test set, the peer and its scoring (no training); its record names
    the file's SHA-256. A file of another network fails the peer job, listing why."""
    import hashlib
    import json

    import torch
    from test_peers import random_published_state

    state = random_published_state("eccv16")
    torch.save(state, tmp_path / "eccv16.pth")
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(
        tmp_path / "peer.yaml",
        {"study": {"peers": {"eccv16": {"weights": str(tmp_path / "eccv16.pth")}}}},
    )
    target = "results/external/eccv16/score/scores.tsv"
    r = snakemake(wd, target, "--cores", "2", "--configfile", str(cfg))
    counts = job_counts(r.stdout + r.stderr)
    assert counts["peer"] == 1 and counts["score_external"] == 1 and "train" not in counts
    record = json.loads((wd / "results" / "peers" / "eccv16" / "weights.json").read_text())
    digest = hashlib.sha256((tmp_path / "eccv16.pth").read_bytes()).hexdigest()
    assert record["sha256"] == digest and record["verified"] == "published keys and shapes"
    lines = (wd / target).read_text().splitlines()
    assert len(lines) == 1 + record["images"] and all("\teccv16\t" in x for x in lines[1:])
    del state["model_out.weight"]
    torch.save(state, tmp_path / "eccv16.pth")  # a new file: the peer reruns, and refuses it
    r = snakemake(wd, target, "--cores", "2", "--configfile", str(cfg), check=False)
    log = (wd / "logs" / "peers" / "eccv16" / "colorize.log").read_text()
    assert r.returncode != 0 and "1 missing keys: model_out.weight" in log


@pytest.mark.slow
def test_lpips_and_fid_score_every_system_when_their_weights_are_given(tmp_path):
    """score.perceptual with weights files (random values under the published keys): every
    system (the run, an external system, the baselines) gets LPIPS per image and an FID with
    its interval in the study and the results table; the external system's LPIPS is paired
    with its own rows. A missing weights file fails before any job."""
    import torch
    from test_perceptual import random_inception_state, random_lin_state, random_vgg_state

    files = {"lpips": tmp_path / "vgg.pth", "lpips_vgg": tmp_path / "vgg16.pth",
             "fid": tmp_path / "inception.pth"}  # fmt: skip
    torch.save(random_lin_state(), files["lpips"])
    torch.save(random_vgg_state(), files["lpips_vgg"])
    torch.save(random_inception_state(), files["fid"])
    perceptual = {k: str(v) for k, v in files.items()} | {"fid_n_boot": 50}
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(
        tmp_path / "perceptual.yaml",
        {
            "score": {"perceptual": perceptual},
            "study": {"external": {"category_mean": {"builtin": "category_mean"}}},
        },
    )
    r = snakemake(wd, "results/study/summary.tsv", "--cores", "2", "--configfile", str(cfg))
    counts = job_counts(r.stdout + r.stderr)
    assert counts["perceptual"] == 1 and counts["perceptual_baselines"] == 1
    assert counts["perceptual_external"] == 1 and counts["fid"] == 1
    res = wd / "results" / "study"
    summary = pd.read_csv(res / "summary.tsv", sep="\t").set_index("system")
    assert set(summary.index) == {"paper", "category_mean", "gray", "mean_chroma"}
    for metric in ("lpips", "fid"):
        assert summary[metric].notna().all() and (summary[metric] > 0).all()
        assert (summary[f"{metric}_lo"] <= summary[metric]).all()
        assert (summary[metric] <= summary[f"{metric}_hi"]).all()
    scores = pd.read_csv(res / "scores.tsv", sep="\t")
    assert scores["lpips"].notna().all() and (scores["lpips"] > 0).all()
    ext = pd.read_csv(wd / "results/external/category_mean/perceptual/scores.tsv", sep="\t")
    mine = scores[scores["variant"] == "category_mean"].set_index("image")["lpips"]
    np.testing.assert_allclose(mine.loc[ext["image"]], ext["lpips"], rtol=1e-5)
    fid = pd.read_csv(wd / "results/perceptual/fid.tsv", sep="\t")
    assert (fid["n"] == len(mine)).all() and (fid["n_boot"] == 50).all()
    missing = write_config(
        tmp_path / "missing.yaml", {"score": {"perceptual": {**perceptual, "fid": "/nope.pth"}}}
    )
    r = snakemake(wd, "-n", "--configfile", str(missing), check=False)
    assert (
        r.returncode != 0
        and "score.perceptual.fid '/nope.pth' does not exist" in r.stdout + r.stderr
    )


@pytest.fixture(scope="module")
def paper_tree(tmp_path_factory):
    d = tmp_path_factory.mktemp("paper")
    tree = make_ilsvrc_tree(d / "ILSVRC2012", 1000, 2, real_images=False)
    (d / "SUN397" / "a" / "abbey").mkdir(parents=True)
    return d, write_config(
        d / "roots.yaml", {"data": {"root": str(tree)}, "test": {"root": str(d / "SUN397")}}
    )


def test_paper_scale_without_weights_fails_at_once_naming_key_and_file(
    tmp_path, paper_tree, fresh_torch_home
):
    wd = copy_workflow(tmp_path / "wf")
    t0 = time.perf_counter()
    r = snakemake(wd, "-n", "--configfile", "config/paper.yaml", str(paper_tree[1]), check=False)
    print(
        f"paper config without weights: exit {r.returncode} after {time.perf_counter() - t0:.1f} s"
    )
    out = r.stdout + r.stderr
    expected = fresh_torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    assert (
        r.returncode != 0 and "model.backbone_weights is 'imagenet'" in out and str(expected) in out
    )
    assert not (wd / "results").exists()


def test_paper_study_dag(tmp_path, paper_tree, fresh_torch_home):
    """With the weights in place: one prepare job per shard, one train job per variant and
    seed, the local backbone rule before training; dry-run time printed (not asserted)."""
    weights = fresh_torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")
    wd = copy_workflow(tmp_path / "wf")
    t0 = time.perf_counter()
    r = snakemake(
        wd, "-n", "--configfile", "config/paper.yaml", str(paper_tree[1]), "--quiet", "rules"
    )
    print(f"paper study dry run: {time.perf_counter() - t0:.1f} s")
    counts = job_counts(r.stdout)
    assert counts["prepare"] == 124 and counts["train"] == 10 and counts["colorize"] == 10
    assert counts["score"] == 10 and counts["score_baselines"] == 1 and counts["backbone"] == 1
    assert "demo" not in counts
    target = "results/paper/seed2016/train/model.pt"  # targets go before --configfile
    paper = ("--configfile", "config/paper.yaml", str(paper_tree[1]))
    dag = snakemake(wd, target, "--dag", *paper).stdout
    ids = {m.group(2): m.group(1) for m in re.finditer(r'(\d+)\[label = "(\w+)', dag)}
    assert f"{ids['backbone']} -> {ids['train']}" in dag


def test_slurm_profile_asks_for_the_configured_gpus_and_threads(
    tmp_path, paper_tree, fresh_torch_home
):
    """Only the command line and the slurm profile apply: train asks for train.gpus GPUs,
    train.threads CPUs and train.runtime_min (the old default profile capped it at gpu=1).
    SLURM's own records are checked on the real cluster (tests/test_slurm.py)."""
    weights = fresh_torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(
        tmp_path / "gpus.yaml", {"train": {"gpus": 4, "threads": 24}, "study": {"seeds": [1]}}
    )
    target = "results/paper/seed1/train/model.pt"
    paper = ("--configfile", "config/paper.yaml", str(paper_tree[1]), str(cfg))
    r = snakemake(wd, target, "-n", "--profile", "profiles/slurm", *paper)
    train = r.stdout.split("rule train:")[1].split("Job stats")[0]
    assert re.search(r"\bgpu=4\b", train) and re.search(r"\bruntime=1440\b", train), train
    # the slurm executor's dry run does not print threads: the same profile, run locally
    cores = ("--executor", "local", "--cores", "64")
    r = snakemake(wd, target, "-n", "--profile", "profiles/slurm", *cores, *paper)
    train = r.stdout.split("rule train:")[1].split("Job stats")[0]
    assert re.search(r"^\s+threads: 24$", train, re.M), train  # train.threads, not a default


def test_demo_study_has_one_train_job_per_variant_and_seed(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    r = snakemake(wd, "-n", "--configfile", "config/demo-study.yaml", "--quiet", "rules")
    counts = job_counts(r.stdout)
    assert counts["train"] == 4 and counts["colorize"] == 4 and counts["score"] == 4
    assert counts["study"] == 1 and counts["score_baselines"] == 1 and counts["demo"] == 1


def test_sampling_more_than_exist_fails_with_a_clear_message(tmp_path):
    tree = make_ilsvrc_tree(tmp_path / "ILSVRC2012", 3, 2, real_images=True)
    wd = copy_workflow(tmp_path / "wf")
    cfg = write_config(
        tmp_path / "c.yaml",
        {"data": {"source": "ilsvrc", "root": str(tree)}, "model": {"backbone_weights": "random"}},
    )
    r = snakemake(
        wd, "results/data/manifest.tsv", "--cores", "1", "--configfile", str(cfg), check=False
    )
    assert r.returncode != 0
    log = (wd / "logs" / "data" / "sample.log").read_text()
    assert "asked for 312 images (data.n_images 280 + data.n_val_images 32 held out)" in log
    assert "but only 6 exist" in log and "allow_fewer: true" in log


@pytest.mark.slow
def test_demo_end_to_end_report_and_figure_only_reruns(tmp_path, fresh_torch_home):
    """The README's first command on a fresh copy: the whole chain offline on 2 cores."""
    wd = copy_workflow(tmp_path / "wf")
    r = snakemake(wd, "--cores", "2")
    assert "Shell command: None" not in r.stdout + r.stderr
    # data stage: nothing dropped silently
    shards = sorted((wd / "results" / "data" / "shards").glob("*.Y.npy"))
    assert len(shards) == 5
    n = sum(np.load(s, mmap_mode="r").shape[0] for s in shards)
    rejected = (wd / "results" / "data" / "rejected.tsv").read_text().splitlines()[1:]
    assert n + len(rejected) == 312
    # training: the random-backbone fallback is announced everywhere
    assert "RANDOM BACKBONE" in (wd / "logs" / "backbone" / "backbone.log").read_text()
    run = wd / "results" / "paper" / "seed2016"
    assert "random (fallback" in (run / "train" / "metrics.tsv").read_text()
    # scoring: the model and both baselines on every usable test image; gray one rejected
    scores = pd.read_csv(wd / "results" / "study" / "scores.tsv", sep="\t")
    assert set(scores["method"]) == {"model", "gray", "mean_chroma"}
    assert scores["image"].nunique() == 8 and len(scores) == 24
    assert "grayscale" in (wd / "results" / "test" / "rejected.tsv").read_text()
    reports = wd / "reports" / "demo"
    figures = sorted(p.name for p in (reports / "figures").glob("*.png"))
    assert figures == sorted(p.name for p in (ROOT / "reports" / "demo" / "figures").glob("*.png"))
    for f in figures:
        assert (reports / "figures" / f).stat().st_size > 10_000, f
    md = (reports / "results.md").read_text()
    assert md.startswith("## The paper's claims") and "random (fallback" in md
    # the committed demo results are reproduced: baselines exactly, the model to within
    # floating-point differences between CPUs
    fresh, committed = (
        pd.read_csv(d / "demo" / "results.tsv", sep="\t").query("section == 'score'")
        for d in (reports.parent, ROOT / "reports")
    )
    assert list(fresh["item"] + fresh["metric"]) == list(committed["item"] + committed["metric"])
    baseline = fresh["item"].isin(["gray", "mean_chroma"]).to_numpy()
    est, ref = fresh["estimate"].to_numpy(), committed["estimate"].to_numpy()
    np.testing.assert_allclose(est[baseline], ref[baseline], rtol=1e-5)
    np.testing.assert_allclose(est[~baseline], ref[~baseline], rtol=0.01, atol=1e-3)
    # the report (a zip: it holds the gallery's folder): every figure, the results table and
    # the gallery with its thumbnails and views, each labelled (checked once in Chromium)
    snakemake(wd, "--report", "report.zip")
    with zipfile.ZipFile(wd / "report.zip") as z:
        names = z.namelist()
        html = z.read("report/report.html").decode(errors="replace")
    stored = {Path(n).name for n in names}
    assert set(figures) | {"results.html", "index.html", "data.js"} <= stored
    thumbs = [n for n in names if "/thumbs/" in n]
    assert len(thumbs) == 8 * 4 and len([n for n in names if "/views/" in n]) == len(thumbs)
    for label in ["results table", "gallery"] + [
        f.removesuffix(".png").replace("_", " ") for f in figures
    ]:
        assert label in html, label
    # nothing to do when up to date; editing one figure's script reruns that rule alone
    r = snakemake(wd, "-n", "--cores", "2")
    assert "Nothing to be done" in r.stdout + r.stderr
    script = wd / "workflow" / "scripts" / "figure_scores.py"
    script.write_text(script.read_text() + "\n# edited\n")
    r = snakemake(wd, "-n", "--cores", "2", "--quiet", "rules")
    assert set(job_counts(r.stdout)) == {"figure_scores", "all"}, r.stdout


HEAVY_RULES = {
    "sample",
    "prepare",
    "train",
    "test_set",
    "colorize",
    "score",
    "score_baselines",
    "study",
}


def test_every_rule_has_conda_log_and_benchmark_where_heavy():
    blocks = rule_blocks()
    assert HEAVY_RULES <= set(blocks)
    for name, (body, _smk) in blocks.items():
        if "script:" not in body and "shell:" not in body:
            continue  # target rules
        conda = r"^\s+conda:\n\s+(\"\.\./\.\./envs/[\w-]+\.yaml\"|(run_)?torch_env\b)"
        assert re.search(conda, body, re.M), name
        assert re.search(r"^\s+log:\n", body, re.M), name
        if name in HEAVY_RULES:
            assert re.search(r"^\s+benchmark:\n", body, re.M), name


def test_cluster_jobs_ask_for_runtime_and_tiny_rules_stay_local():
    """Each rule says it is local (``localrule: True``, which survives renaming when the
    workflow is used as a module; a ``localrules:`` list does not); every other rule with a
    script asks for a wall time."""
    blocks = rule_blocks()
    local = {name for name, (body, _) in blocks.items() if "localrule: True" in body}
    figures = {name for name in blocks if name.startswith("figure_")}
    expected = {"demo", "backbone", "data_summary", "results_table", "reports", "all", *figures}
    assert local == expected
    for text in [
        (ROOT / "Snakefile").read_text(),
        (ROOT / "workflow" / "Snakefile").read_text(),
    ] + [p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk")]:
        assert "localrules:" not in text
    for name, (body, _smk) in blocks.items():
        if name in local or "script:" not in body:
            continue
        assert re.search(r"^\s+runtime=", body, re.M), f"rule {name} has no runtime"


@pytest.mark.slow
def test_a_normal_user_extends_a_finished_training_run(tmp_path, fresh_torch_home):
    """More train.epochs after a finished run retrain without root's file-permission override
    (a write-protected model.pt made Snakemake refuse the job while building the DAG)."""
    wd = copy_workflow(tmp_path / "wf")
    target = "results/paper/seed2016/train/model.pt"
    one = write_config(tmp_path / "one.yaml", {"train": {"epochs": 1}})
    snakemake(wd, target, "--cores", "2", "--configfile", str(one))
    assert os.access(wd / target, os.W_OK)
    drop = "-dac_override,-dac_read_search"
    as_user = ["setpriv", "--bounding-set", drop, "--inh-caps", drop] if os.geteuid() == 0 else []
    two = write_config(tmp_path / "two.yaml", {"train": {"epochs": 2}})
    cmd = [*as_user, sys.executable, "-m", "snakemake", target, "--cores", "2"]
    r = subprocess.run(
        [*cmd, "--configfile", str(two)], cwd=wd, capture_output=True, text=True, timeout=1200
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = wd / "results" / "paper" / "seed2016" / "train"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["steps"] == 32
    log = (wd / "logs" / "paper" / "seed2016" / "train.log").read_text()
    assert "resuming from step 16" in log


#: `conda` as far as `snakemake --list-conda-envs` asks it (no conda channel here)
FAKE_CONDA = """#!/bin/sh
case "$*" in
  --version) echo "conda 24.7.1";;
  "info --json") echo '{"conda_version": "24.7.1", "conda_prefix": "/nonexistent",
    "root_prefix": "/nonexistent", "envs_dirs": [], "platform": "linux-64"}';;
  config*) echo '{"get": {"channel_priority": "strict"}}';;
  *) echo "{}";;
esac
"""


def conda_envs(wd: Path, tmp_path: Path, *args: str) -> set[str]:
    """The env files the jobs of a run use, as `snakemake --list-conda-envs` lists them."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    (tmp_path / "bin" / "conda").write_text(FAKE_CONDA)
    (tmp_path / "bin" / "conda").chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    out = snakemake(wd, "--list-conda-envs", "--cores", "1", *args, env=env).stdout
    return set(re.findall(r"envs/([\w-]+\.yaml)", out))


def test_a_cpu_run_uses_only_envs_that_create_without_a_gpu_and_gpu_jobs_get_cuda(
    tmp_path, paper_tree
):
    """The demo (gpus 0) never asks for the CUDA build, which needs a GPU machine's driver to
    create; the paper configuration gives train and colorize the CUDA build, and the local
    backbone rule the CPU one."""
    wd = copy_workflow(tmp_path / "wf")
    assert conda_envs(wd, tmp_path) == {"data.yaml", "report.yaml", "torch-cpu.yaml"}
    weights = tmp_path / "vgg16.pth"
    weights.write_bytes(b"")
    paper = ["--configfile", "config/paper.yaml", str(paper_tree[1])]
    paper += ["--config", f"model={{backbone_weights: {weights}}}"]
    every = {"data.yaml", "report.yaml", "torch-cpu.yaml", "torch-cuda.yaml"}
    assert conda_envs(wd, tmp_path, *paper) == every
    backbone_only = conda_envs(wd, tmp_path, "results/backbone/weights.pt", *paper)
    assert backbone_only == {"torch-cpu.yaml"}
    train_only = ["results/paper/seed2016/train/model.pt", *paper]
    assert "torch-cuda.yaml" in conda_envs(wd, tmp_path, *train_only)


def cluster_requests(wd: Path, attempts=(1, 2)) -> dict:
    """``{(rule, attempt): {"mem_mb": ..., "runtime": ...}}`` of the demo's cluster rules, as
    Snakemake evaluates a job's resources for its try."""
    from snakemake.api import SnakemakeApi
    from snakemake.iocontainers import Wildcards
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    requests = {}
    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[wd / "config" / "config.yaml"]),
            storage_settings=StorageSettings(),
            snakefile=wd / "Snakefile",
            workdir=wd,
        )
        wf.dag(DAGSettings())
        workflow = wf._workflow  # the parsed rules; the API has no public accessor for them
        for rule in workflow.rules:
            if rule.norun or rule.name in workflow._localrules:  # run where Snakemake runs
                continue
            wc = Wildcards(fromdict={"variant": "paper", "seed": "2016", "shard": "0"})
            for attempt in attempts:
                res = rule.expand_resources(wc, rule.input, attempt)
                requests[rule.name, attempt] = {k: res.get(k) for k in ("mem_mb", "runtime")}
    return requests


def test_a_resubmitted_job_asks_for_more_memory_and_time(tmp_path):
    """The slurm profile resubmits a failed job (`retries: 1`); a job killed for memory or
    wall time must not ask for the same again. Evaluated as Snakemake evaluates a job's
    resources for its try (`attempt`); train's wall time stays (a resubmitted training job
    resumes from its checkpoint)."""
    requests = cluster_requests(copy_workflow(tmp_path / "wf"))
    grown = set()
    for (name, attempt), req in requests.items():
        if attempt == 2:
            for key, value in req.items():
                first = requests[name, 1][key]
                if value is not None and not (name == "train" and key == "runtime"):
                    assert value == 2 * first, (name, key, first, value)
                    grown.add(name)
    assert requests["train", 2]["runtime"] == requests["train", 1]["runtime"]
    assert {"prepare", "train", "colorize", "score", "score_baselines", "study"} <= grown


def test_ddp_training_asks_for_host_memory_per_process(tmp_path):
    """Each of train.gpus processes holds torch, CUDA's host side and its share of the batch;
    the request was the same for 1 and 4 processes."""
    requests = {}
    for gpus in (1, 4):
        wd = copy_workflow(tmp_path / f"wf{gpus}")
        cfg = wd / "config" / "config.yaml"
        cfg.write_text(cfg.read_text().replace("  gpus: 0\n", f"  gpus: {gpus}\n", 1))
        requests[gpus] = cluster_requests(wd, attempts=(1,))["train", 1]["mem_mb"]
    assert requests[4] - requests[1] > 3 * 3000, requests  # 3 more processes


def test_scoring_asks_for_memory_by_the_largest_test_image(tmp_path):
    """A 48 MP test image took 5.0 GB in score_baselines against a fixed 4 GB request."""
    wd = copy_workflow(tmp_path / "wf")
    small = cluster_requests(wd, attempts=(1,))["score_baselines", 1]["mem_mb"]
    table = wd / "results" / "test" / "test_set.tsv"
    table.parent.mkdir(parents=True)
    table.write_text("# root: x\npath\tcategory\twidth\theight\na/b/x.jpg\tb\t8000\t6000\n")
    big = cluster_requests(wd, attempts=(1,))["score_baselines", 1]["mem_mb"]
    threads = (small - 1024) // 1536  # as Snakemake caps them for this evaluation
    assert small == 1024 + threads * 1536 and big == 1024 + threads * 5036, (small, big)


def test_another_torch_home_reruns_nothing(tmp_path):
    """The backbone rule's params say what the weights are, not where this machine caches
    them: another user's (or a cluster home's) TORCH_HOME must not rerun the study."""
    wd = copy_workflow(tmp_path / "wf")
    target = "results/backbone/weights.pt"
    first = {**os.environ, "TORCH_HOME": str(tmp_path / "home-a")}
    snakemake(wd, target, "--cores", "1", env=first)
    other = {**os.environ, "TORCH_HOME": str(tmp_path / "home-b")}
    r = snakemake(wd, target, "-n", env=other)
    assert "Nothing to be done" in r.stdout + r.stderr, r.stdout[-2000:]


def test_editing_the_library_code_a_rule_runs_reruns_that_rule_only(tmp_path):
    """Snakemake tracks the rule scripts, not the library they import: each rule has the
    digest of the library modules its script reaches as a param."""
    wd = copy_workflow(tmp_path / "wf")
    target = "results/backbone/weights.pt"
    snakemake(wd, target, "--cores", "1")
    with open(wd / "src" / "colorcnn" / "metrics.py", "a") as f:
        f.write("\n# an edit the backbone rule does not run\n")
    assert "Nothing to be done" in snakemake(wd, target, "-n").stdout
    with open(wd / "src" / "colorcnn" / "backbone.py", "a") as f:
        f.write("\n# an edit the backbone rule runs\n")
    r = snakemake(wd, target, "-n")
    assert "Params have changed" in r.stdout and job_counts(r.stdout) == {"backbone": 1}


def test_a_key_given_twice_in_a_configfile_stops_the_run_naming_it(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    (tmp_path / "dup.yaml").write_text("train:\n  epochs: 2\n  epochs: 3\n")
    r = snakemake(wd, "-n", "--configfile", str(tmp_path / "dup.yaml"), check=False)
    assert r.returncode != 0 and "train.epochs is given twice" in r.stdout + r.stderr


def test_pointing_the_test_root_at_another_folder_rebuilds_the_test_set(tmp_path):
    """The roots were function-valued params, which Snakemake does not record: after a
    finished run, another test.root gave "Nothing to be done"."""
    from conftest import make_sun_tree

    wd = copy_workflow(tmp_path / "wf")
    target = "results/test/test_set.tsv"
    configs = []
    for name in ("A", "B"):
        make_sun_tree(tmp_path / name / "SUN397")
        cfg = {"test": {"source": "sun397", "root": str(tmp_path / name / "SUN397")}}
        configs.append(write_config(tmp_path / f"{name}.yaml", cfg))
    snakemake(wd, target, "--cores", "1", "--configfile", str(configs[0]))
    assert (
        "Nothing to be done" in snakemake(wd, target, "-n", "--configfile", str(configs[0])).stdout
    )
    r = snakemake(wd, target, "-n", "--configfile", str(configs[1]))
    assert "Params have changed" in r.stdout and job_counts(r.stdout) == {"test_set": 1}


def test_an_edit_inside_the_test_root_rebuilds_the_test_set(tmp_path):
    """Changed, added or deleted images under the same test.root gave "Nothing to be done"."""
    from conftest import make_sun_tree

    wd = copy_workflow(tmp_path / "wf")
    target = "results/test/test_set.tsv"
    root = make_sun_tree(tmp_path / "SUN397")
    cfg = write_config(tmp_path / "sun.yaml", {"test": {"source": "sun397", "root": str(root)}})
    snakemake(wd, target, "--cores", "1", "--configfile", str(cfg))
    images = sorted(root.rglob("*.jpg"))

    def reruns() -> bool:
        r = snakemake(wd, target, "-n", "--configfile", str(cfg))
        return "Params have changed" in r.stdout and job_counts(r.stdout) == {"test_set": 1}

    assert not reruns()
    images[0].unlink()  # deleted
    assert reruns()
    snakemake(wd, target, "--cores", "1", "--configfile", str(cfg))
    shutil.copy(images[1], images[1].with_name("sun_added.jpg"))  # added
    assert reruns()


@pytest.mark.parametrize("setup", ["ilsvrc-and-a-weights-file", "demo-without-imagenet-file"])
def test_a_cluster_job_runs_where_the_dataset_and_the_weights_are_absent(
    tmp_path, fresh_torch_home, setup
):
    """Snakemake re-reads the workflow inside every cluster job. The checks of the dataset
    folders and of the weights file (or $TORCH_HOME) belong where Snakemake was started: on a
    compute node without them (another mount, another home) the job must parse and run, as
    it needs neither (train reads the shards and the resolved backbone). And the job's DAG
    re-evaluates the backbone rule's params: they must come out as where Snakemake started,
    or the job re-resolves the backbone (on the SLURM test it deleted it). Here the train job
    runs as a cluster job runs it (--mode remote), with the dataset and weights gone."""
    import torch
    from conftest import make_ilsvrc_tree

    from colorcnn.backbone import random_prefix

    wd = copy_workflow(tmp_path / "wf")
    train = {"epochs": 1, "batch_size": 4, "val_every": 0}
    tree = weights = None
    if setup == "demo-without-imagenet-file":  # the demo falls back to random weights
        cfg = write_config(tmp_path / "c.yaml", {"train": train})
    else:
        tree = make_ilsvrc_tree(tmp_path / "ILSVRC2012", 4, 6)
        weights = tmp_path / "models" / "vgg16.pth"
        weights.parent.mkdir()
        torch.save({f"features.{k}": v for k, v in random_prefix(1).items()}, weights)
        data = {"source": "ilsvrc", "root": str(tree), "n_images": 16, "n_val_images": 0}
        overrides = {"data": data, "model": {"backbone_weights": str(weights)}, "train": train}
        cfg = write_config(tmp_path / "c.yaml", overrides)
    made = ("results/data/rejected.tsv", "results/backbone/weights.pt")
    snakemake(wd, *made, "--cores", "2", "--configfile", str(cfg))
    resolved = (wd / made[1]).stat().st_mtime_ns
    if tree:  # the compute node: no dataset, no weights file
        tree.rename(tmp_path / "elsewhere")
        weights.rename(tmp_path / "elsewhere.pth")
    else:  # the compute node's torch cache holds the file the main process lacked
        cached = fresh_torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
        cached.parent.mkdir(parents=True)
        cached.write_bytes(b"")
    job = (
        "--target-jobs", "train:variant=paper,seed=2016", "--allowed-rules", "train",
        "--mode", "remote", "--force", "--nolock", "--notemp", "--ignore-incomplete",
        "--rerun-triggers", "software-env", "mtime", "params", "code", "input", "--cores", "2",
    )  # fmt: skip
    r = snakemake(wd, *job, "--configfiles", str(cfg), check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "rule backbone" not in out and (wd / made[1]).stat().st_mtime_ns == resolved
    assert (wd / "results" / "paper" / "seed2016" / "train" / "model.pt").is_file()


def test_a_cluster_job_does_not_look_for_the_torch_cache(fresh_torch_home):
    """The ImageNet file is looked for where Snakemake starts (the local backbone rule)."""
    from colorcnn.backbone import plan_backbone
    from colorcnn.config import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        plan_backbone("imagenet", download=False, data_source="ilsvrc")
    plan = plan_backbone("imagenet", download=False, data_source="ilsvrc", check=False)
    assert plan.weights == "imagenet"
