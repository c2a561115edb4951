"""Where and how a training process runs: processes, devices, DDP, signals.

- :func:`select_device`: the ``torch.device`` a ``device`` setting names (``auto``, ``cpu``,
  ``cuda``) for this process;
- :func:`plan_processes`: how many processes on which device, from ``train.gpus`` and the GPUs
  the scheduler actually gave the job (a mismatch is an error, never 4 processes on 1 GPU);
- :func:`launch`: start ``torchrun`` with one process per GPU, each running a
  :class:`~colorcnn.train.Job` read back from JSON;
- :class:`Runtime`: this process's rank, device and mixed-precision settings;
- :class:`StopSignal`: SIGTERM/SIGUSR1 (preemption, a time limit) asks training to stop after
  the current step, with a checkpoint; :class:`Preempted` is the exit that follows.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)


class Preempted(SystemExit):
    """Training stopped on a signal after writing a checkpoint; rerun to resume."""

    def __init__(self, step: int, checkpoint: Path):
        super().__init__(128 + signal.SIGTERM)
        self.step, self.checkpoint = step, checkpoint


def select_device(pref: str = "auto", local_rank: int = 0) -> torch.device:
    """``cuda`` (this process's GPU) when asked or available under ``auto``, else the CPU."""
    if pref == "cuda" or (pref == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for but no CUDA device is available")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def plan_processes(gpus: int, visible: int) -> tuple[int, str]:
    """``(processes, device)`` for ``train.gpus`` and the ``visible`` CUDA devices: 0 → one
    CPU process; 1 → one process on a GPU when there is one; more → one process per GPU."""
    if gpus == 0:
        return 1, "cpu"
    if gpus == 1:
        return 1, "auto"
    if visible != gpus:
        shown = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        raise RuntimeError(
            f"train.gpus is {gpus} but this job sees {visible} GPU(s) (CUDA_VISIBLE_DEVICES="
            f"{shown}). Give the job {gpus} GPUs (the slurm profile requests train.gpus GPUs "
            f"through the rule's gpu resource), or set train.gpus to {visible}."
        )
    return gpus, "cuda"


def launch(job_path: str | Path, nproc: int) -> None:
    """Run ``python -m colorcnn.train JOB`` in ``nproc`` processes with torchrun (DDP)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc_per_node={nproc}", "-m", "colorcnn.train", str(job_path)]
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    log.info("launching: %s", " ".join(cmd))
    subprocess.run(cmd, check=True, env=env)


@dataclass(frozen=True)
class Runtime:
    rank: int
    world: int
    device: torch.device
    autocast: bool
    memory_format: torch.memory_format

    @property
    def main(self) -> bool:
        return self.rank == 0

    def agree(self, flag: bool) -> bool:
        """True when any process says so (a collective: all processes must call it)."""
        if self.world == 1:
            return flag
        t = torch.tensor(float(flag), device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())


def setup_runtime(device: str, bf16: bool, channels_last: bool) -> Runtime:
    """Join the process group when started by torchrun; pick the device and precision."""
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    dev = select_device(device, int(os.environ.get("LOCAL_RANK", 0)))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    # channels_last speeds up convolutions on GPUs; on CPUs it slows training down (measured
    # 1.4x at 64 px), so it applies to CUDA only
    cuda = dev.type == "cuda"
    fmt = torch.channels_last if channels_last and cuda else torch.contiguous_format
    return Runtime(rank, world, dev, cuda and bf16, fmt)


class StopSignal:
    """Within the block, SIGTERM and SIGUSR1 set :attr:`requested` instead of killing."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self):
        self.requested = False
        self._old = {}

    def _handler(self, signum, frame):
        log.warning("received %s: stopping after this step", signal.Signals(signum).name)
        self.requested = True

    def __enter__(self):
        for s in self.SIGNALS:
            self._old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
