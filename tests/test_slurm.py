"""A real SLURM run: a one-node cluster on this machine, the demo through the slurm profile."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, rule_blocks
from test_workflow import copy_workflow, job_counts, snakemake

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
DATA_OUTPUTS = ("results/data/manifest.tsv", "results/data/rejected.tsv", "results/data/shards")


@pytest.fixture
def slurm_cluster(tmp_path):
    d = tmp_path / "cluster"
    r = subprocess.run(
        ["bash", str(CLUSTER), "start", str(d)], capture_output=True, text=True, timeout=900
    )
    if r.returncode == 3:
        pytest.skip(r.stderr.strip())
    assert r.returncode == 0, r.stdout + r.stderr
    env = {**os.environ, "SLURM_CONF": str(d / "slurm.conf")}
    try:
        yield env
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", str(d)], timeout=120)


def _files(root: Path):
    out = {}
    for rel in DATA_OUTPUTS:
        p = root / rel
        for f in sorted([p] if p.is_file() else p.rglob("*")):
            if f.is_file():
                out[str(f.relative_to(root))] = f.read_bytes()
    return out


def _scontrol(jobid: str, env) -> dict[str, str]:
    out = subprocess.run(
        ["scontrol", "show", "job", jobid], env=env, capture_output=True, text=True, check=True
    ).stdout
    return dict(kv.split("=", 1) for kv in out.split() if "=" in kv)


def _slurm_snakemake(wd: Path, env, *args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", *args]
    # first status check after 5 s instead of 40: the test's jobs take seconds
    cmd += ["--slurm-init-seconds-before-status-checks", "5"]
    return subprocess.run(cmd, cwd=wd, env=env, capture_output=True, text=True, timeout=1800)


def _jobs(env) -> list[tuple[str, str, str]]:
    """(job id, rule, state) of every job SLURM knows of."""
    out = subprocess.run(
        ["squeue", "-t", "all", "-h", "-o", "%i|%k|%T"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = [ln.split("|") for ln in out.splitlines() if ln.strip()]
    return [(i, c.removeprefix("rule_").split("_wildcards")[0], t) for i, c, t in jobs]


@pytest.mark.slow
def test_demo_runs_through_slurm_and_matches_a_local_run(tmp_path, slurm_cluster):
    """Every job goes through sbatch (tiny rules stay local); the CPU-only demo asks SLURM
    for no GPU (the node has two count-only GPUs: a GPU request would be granted here, and
    would never start on a cluster without GPUs); train gets train.threads CPUs; the data
    stage is byte-identical to a local run's. Then a training job that asks for a GPU it
    cannot use fails at its start, saying why, instead of training on the CPU."""
    overrides = {"train": {"epochs": 1, "gpus": 0, "threads": 2}, "colorize": {"gpus": 0}}
    cfg = tmp_path / "ci.yaml"
    cfg.write_text(yaml.safe_dump(overrides))
    wd = copy_workflow(tmp_path / "slurm")
    r = _slurm_snakemake(wd, slurm_cluster, "--configfile", str(cfg))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]

    # Every cluster job of the run went through SLURM: Snakemake's job stats vs SLURM's records.
    stats = job_counts(out)
    local = {name for name, (body, _) in rule_blocks().items() if "localrule: True" in body}
    expected = {k: v for k, v in stats.items() if k not in local}
    assert {"sample", "prepare", "train", "colorize", "score", "study"} <= set(expected)
    jobs = _jobs(slurm_cluster)
    by_rule: dict[str, int] = {}
    for jobid, rule, state in jobs:
        assert state == "COMPLETED", jobs
        by_rule[rule] = by_rule.get(rule, 0) + 1
        assert f"has been submitted with SLURM jobid {jobid} " in out, jobid
        record = _scontrol(jobid, slurm_cluster)
        assert record["JobState"] == "COMPLETED", record
        assert "gpu" not in record.get("TresPerJob", ""), (rule, record)
        if rule == "train":
            assert record["NumCPUs"] == "2", record  # train.threads, not capped by a profile
    assert by_rule == expected, (by_rule, expected)
    assert any((wd / "logs" / "slurm").rglob("*.log"))

    # The data stage is byte-identical to a local run's.
    here = copy_workflow(tmp_path / "local")
    snakemake(here, "results/data/rejected.tsv", "--cores", "2")
    a, b = _files(wd), _files(here)
    assert a.keys() == b.keys() and len(a) >= 22
    assert [k for k in a if a[k] != b[k]] == []

    # train.gpus: 1 on a node whose GPUs CUDA cannot use: granted, then a fast clear failure
    gpu = tmp_path / "gpu.yaml"
    gpu.write_text(yaml.safe_dump({**overrides, "train": {**overrides["train"], "gpus": 1}}))
    started = time.monotonic()
    args = ("results/paper/seed2016/train/model.pt", "--retries", "0", "--configfile", str(gpu))
    r = _slurm_snakemake(wd, slurm_cluster, *args)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and time.monotonic() - started < 600, out[-6000:]
    [jobid] = [i for i, rule, state in _jobs(slurm_cluster) if state == "FAILED"]
    record = _scontrol(jobid, slurm_cluster)
    assert record["TresPerJob"] == "gres:gpu:1" and record["JobState"] == "FAILED", record
    log = (wd / "logs" / "paper" / "seed2016" / "train.log").read_text()
    assert "train.gpus is 1 but CUDA is unusable" in log, log[-3000:]
    assert "step" not in log.split("CUDA is unusable")[0]  # failed before any training
