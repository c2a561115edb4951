"""Processes, devices, DDP and signals: torchrun with two gloo processes, SIGTERM and resume
(colorcnn.runtime)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SRC, make_job, metrics_rows, steps_done

import colorcnn.train as T
from colorcnn.checkpoint import load_checkpoint
from colorcnn.config import HeadConfig, TrainConfig
from colorcnn.runtime import launch, plan_processes, select_device
from colorcnn.testimages import write_shards


def test_plan_processes_follows_the_gpus_the_job_was_given():
    assert plan_processes(0, 4) == (1, "cpu")  # train.gpus: 0 forces the CPU
    assert plan_processes(1, 1) == (1, "cuda")
    assert plan_processes(2, 2) == (2, "cuda")
    with pytest.raises(RuntimeError, match="train.gpus is 4 but this job sees 1 GPU"):
        plan_processes(4, 1)


def test_ddp_gloo_two_processes_through_the_rules_job_file(tmp_path, backbone_file):
    """The spec round trip the rule uses: summary written, logs in the rule's log, and the
    result equal to one process with the whole batch."""
    shards = write_shards(tmp_path / "s", 16)
    head = HeadConfig(norm="none")  # batch norm statistics are per process under DDP on CPU
    one = make_job(tmp_path / "one", shards, backbone_file, head=head, epochs=2, batch_size=8)
    T.train(one)
    two = make_job(tmp_path / "two", shards, backbone_file, head=head, epochs=2, batch_size=8)
    Path(two.checkpoint_dir).mkdir(parents=True)
    two.save(tmp_path / "two" / "job.json")
    launch(tmp_path / "two" / "job.json", 2)
    a, b = load_checkpoint(one.model), load_checkpoint(two.model)
    assert b["config"]["world_size"] == 2
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-5)
    la = [float(r[2]) for r in metrics_rows(one.metrics)]
    lb = [float(r[2]) for r in metrics_rows(two.metrics)]
    np.testing.assert_allclose(la, lb, rtol=1e-4)
    summary = json.loads(Path(two.summary).read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 4
    assert "wrote" in Path(two.log).read_text()


@pytest.fixture
def one_thread():
    """Bit-identical results across processes need the same reduction order in each."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_sigterm_checkpoints_and_the_rerun_resumes_bit_identically(
    tmp_path, backbone_file, one_thread
):
    """A real training process gets SIGTERM (as from SLURM): it finishes the step, writes a
    checkpoint, exits non-zero; the rerun ends exactly where an uninterrupted run does."""
    shards = write_shards(tmp_path / "s", 20)
    head = HeadConfig(a_channels=8, b_channels=4)  # fast steps: 300 of them in a few seconds
    settings = dict(head=head, epochs=60, checkpoint_every=1000, batch_size=4)
    full = make_job(tmp_path / "full", shards, backbone_file, **settings)
    T.train(full)
    job = make_job(tmp_path / "sig", shards, backbone_file, **settings)
    Path(job.checkpoint_dir).mkdir(parents=True)
    job.save(tmp_path / "job.json")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "colorcnn.train", str(tmp_path / "job.json")]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (Path(job.checkpoint_dir).glob("*/metrics.tsv") and steps_done(job) >= 5):
        assert proc.poll() is None and time.time() < deadline, "training ended before the signal"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    [last] = Path(job.checkpoint_dir).glob("*/last.pt")
    stopped = load_checkpoint(last)["step"]
    assert 5 <= stopped < 300 and "rerun to resume" in err
    assert not Path(job.model).exists()
    assert T.train(job)["steps"] == 300
    a, b = load_checkpoint(full.model), load_checkpoint(job.model)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


# --- GPUs asked for are GPUs used: no silent CPU fallback ---------------------------------------


def test_a_job_asked_for_gpus_never_trains_on_the_cpu():
    """train.gpus: 1 in a job where CUDA is unusable trained on the CPU, holding a GPU
    allocation; it must stop at once and say why (this machine has no GPU)."""
    assert plan_processes(0, 0) == (1, "cpu")
    with pytest.raises(RuntimeError, match=r"train.gpus is 1 but CUDA is unusable") as e:
        plan_processes(1, 0)
    assert "torch " in str(e.value) and "CUDA_VISIBLE_DEVICES" in str(e.value)
    with pytest.raises(RuntimeError, match="CUDA is unusable"):
        select_device("cuda")
    assert select_device("cpu").type == "cpu"


def test_the_train_script_asked_for_a_gpu_fails_within_a_minute(tmp_path, run_script):
    """Through the rule's script, as a paper run on a node without a usable GPU."""
    from conftest import workflow_config

    from colorcnn.config import parse_config

    settings = parse_config(workflow_config(), check_files=False)
    run = settings.runs[0]
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="CUDA is unusable"):
        run_script(
            "train",
            input=dict(Y=[], UV=[], index=[], backbone="b.pt", backbone_record="b.json"),
            output=dict(model=str(tmp_path / "model.pt"), metrics="m", summary="s"),
            params=dict(
                gpus=1,
                train=asdict(run.train),
                head=asdict(run.head),
                n_train_rows=4,
                record={},
            ),
            log=[str(tmp_path / "train.log")],
            threads=1,
        )
    assert time.monotonic() - started < 60


def test_loader_workers_and_threads_are_shared_by_the_processes():
    """4 GPUs and 10 threads started 9 loader workers in each of 4 processes (40 on 10 CPUs)."""
    cfg = TrainConfig()
    assert cfg.workers_for(10, 1) == 9
    assert cfg.workers_for(10, 4) == 1  # 10 // 4 threads each, one drives the GPU
    assert cfg.workers_for(3, 4) == 0
    assert TrainConfig(loader_workers=2).workers_for(10, 4) == 2


# --- DDP: signals through the launcher, every rank's error in the rule's log ------------------


def _worker_pids(job_file: Path) -> list[int]:
    """The processes running ``python -m colorcnn.train JOB_FILE``."""
    pids = []
    for d in Path("/proc").iterdir():
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"colorcnn.train" in cmd and str(job_file).encode() in cmd:
            pids.append(int(d.name))
    return pids


def _launcher(job_file: Path, nproc: int, threads: int = 2) -> subprocess.Popen:
    code = f"from colorcnn.runtime import launch; launch({str(job_file)!r}, {nproc}, {threads})"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1])
def test_a_signal_to_the_launcher_stops_every_worker_with_a_checkpoint(
    tmp_path, backbone_file, sig
):
    """SLURM signals the job's main process: torchrun exited 1 on SIGTERM and died at once on
    SIGUSR1, leaving its workers training. Each worker must stop after a step, rank 0 write
    the checkpoint, all exit and the launcher exit 143; the rerun resumes."""
    shards = write_shards(tmp_path / "s", 16)
    head = HeadConfig(a_channels=8, b_channels=4, norm="none")
    job = make_job(tmp_path / "j", shards, backbone_file, head=head, epochs=200, batch_size=4)
    Path(job.checkpoint_dir).mkdir(parents=True)
    job_file = tmp_path / "job.json"
    job.save(job_file)
    proc = _launcher(job_file, 2)
    deadline = time.time() + 120
    while steps_done(job) < 5:
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()[-3000:]
        time.sleep(0.1)
    workers = _worker_pids(job_file)
    assert len(workers) == 2
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert _worker_pids(job_file) == []  # nothing left holding the GPUs
    [last] = Path(job.checkpoint_dir).glob("*/last.pt")
    stopped = load_checkpoint(last)["step"]
    assert 5 <= stopped < 800
    assert "rerun to resume" in Path(job.log).read_text()
    assert not Path(job.model).exists()


def test_every_ranks_error_reaches_the_rules_log(tmp_path, backbone_file):
    """A worker's exception went to stderr only; the rule's log must name it and its rank,
    and the launcher must fail (not hang) naming the log."""
    shards = write_shards(tmp_path / "s", 16)
    job = make_job(tmp_path / "j", shards, backbone_file, batch_size=7)  # 7 over 2 processes
    Path(job.checkpoint_dir).mkdir(parents=True)
    job_file = tmp_path / "job.json"
    job.save(job_file)
    proc = _launcher(job_file, 2)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err[-3000:]
    assert "rank" in err and str(job.log) in err
    text = Path(job.log).read_text()
    for rank in (0, 1):
        assert f"rank {rank} failed" in text, text[-3000:]
    assert "must be divisible by the 2 processes" in text
    assert _worker_pids(job_file) == []
