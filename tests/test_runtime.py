"""Processes, devices, DDP and signals: torchrun with two gloo processes, SIGTERM and resume
(colorcnn.runtime)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SRC, make_job, metrics_rows, steps_done

import colorcnn.train as T
from colorcnn.checkpoint import load_checkpoint
from colorcnn.config import HeadConfig
from colorcnn.runtime import launch, plan_processes
from colorcnn.testimages import write_shards


def test_plan_processes_follows_the_gpus_the_job_was_given():
    assert plan_processes(0, 4) == (1, "cpu")  # train.gpus: 0 forces the CPU
    assert plan_processes(1, 0) == (1, "auto")
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
