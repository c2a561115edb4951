"""Where and how a training job runs: the job, processes, devices, DDP, signals, metrics.

- :class:`Job`: inputs, outputs and settings of one run, serialisable to JSON;
- :func:`plan_processes`: how many processes on which device, from ``train.gpus`` and the GPUs
  the scheduler actually gave the job (a mismatch is an error, never 4 processes on 1 GPU);
- :func:`launch`: start ``torchrun`` with one process per GPU, each running a :class:`Job`
  read back from JSON;
- :class:`Runtime`: this process's rank, device and mixed-precision settings;
- :class:`StopSignal`: SIGTERM/SIGUSR1 (preemption, a time limit) asks training to stop after
  the current step, with a checkpoint;
- :class:`MetricsLog`: the loss window, its non-finite check and the metrics TSV.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .checkpoint import select_device
from .config import HeadConfig, TrainConfig
from .io import atomic_path

log = logging.getLogger(__name__)

METRICS_COLUMNS = ("step", "epoch", "loss", "val_loss", "lr", "images_per_s", "backbone_weights")


@dataclass
class Job:
    """One training run: inputs, outputs and settings; JSON round trip by
    ``json.dumps(asdict(job))`` and ``Job(**json.loads(text))``."""

    y: list[str]
    uv: list[str]
    index: list[str]
    backbone: str  # resolved weights file (the backbone rule's output)
    backbone_description: str
    model: str
    metrics: str
    summary: str
    checkpoint_dir: str
    head: HeadConfig
    train: TrainConfig
    n_train_rows: int  # manifest rows below this are training, the rest validation
    record: dict = field(default_factory=dict)  # settings recorded for provenance
    log: str | None = None

    def __post_init__(self):
        if isinstance(self.head, dict):
            self.head = HeadConfig(**self.head)
        if isinstance(self.train, dict):
            self.train = TrainConfig(**self.train)

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Job:
        return cls(**json.loads(Path(path).read_text()))


class NonFiniteLoss(FloatingPointError):
    """The loss became NaN or infinite."""


class Preempted(SystemExit):
    """Training stopped on a signal after writing a checkpoint; rerun to resume."""

    def __init__(self, step: int, checkpoint: Path):
        super().__init__(128 + signal.SIGTERM)
        self.step, self.checkpoint = step, checkpoint


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


class MetricsLog:
    """Mean loss over each logging window, written as a row of the metrics TSV.

    The table lives beside the run's checkpoint, so a resumed run keeps its history (rows
    after the checkpoint's step are dropped on resume)."""

    def __init__(self, path: Path, rt: Runtime, batch_size: int, backbone: str, start: int):
        self.path, self.rt, self.batch_size, self.backbone = path, rt, batch_size, backbone
        if rt.main:
            _truncate(path, start)
        self._reset()

    def _reset(self):
        self.loss_sum = torch.zeros((), device=self.rt.device)
        self.bad = torch.zeros((), dtype=torch.bool, device=self.rt.device)
        self.n, self.t0 = 0, time.perf_counter()

    def add(self, loss: torch.Tensor) -> None:
        self.loss_sum += loss.detach()
        self.bad |= ~torch.isfinite(loss.detach())
        self.n += 1

    def flush(self, step: int, epoch: int, lr: float, val_loss: float | None, last_good) -> None:
        """Check the window for a non-finite loss (all processes), then append a row."""
        if self.rt.world > 1:
            torch.distributed.all_reduce(self.loss_sum)
            torch.distributed.all_reduce(self.bad, op=torch.distributed.ReduceOp.MAX)
            self.loss_sum /= self.rt.world
        if bool(self.bad):
            raise NonFiniteLoss(
                f"non-finite loss at or before step {step} (epoch {epoch}); training stopped. "
                f"The last good checkpoint is {last_good or 'none yet'}. Lower train.lr, or "
                "check the shards for corrupt data."
            )
        if self.rt.main and (self.n or val_loss is not None):
            dt = time.perf_counter() - self.t0
            loss = f"{self.loss_sum.item() / self.n:.6f}" if self.n else ""
            val = "" if val_loss is None else f"{val_loss:.6f}"
            speed = f"{self.n * self.batch_size / dt:.2f}" if self.n else ""
            row = (step, epoch, loss, val, f"{lr:.6g}", speed, self.backbone)
            _append(self.path, row)
        self._reset()


def _truncate(path: Path, step: int) -> None:
    if step == 0:
        path.unlink(missing_ok=True)
    elif path.exists():
        lines = path.read_text().splitlines(keepends=True)
        kept = lines[:1] + [r for r in lines[1:] if int(r.split("\t", 1)[0]) <= step]
        with atomic_path(path) as tmp:
            tmp.write_text("".join(kept))


def _append(path: Path, row: tuple) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        if new:
            w.writerow(METRICS_COLUMNS)
        w.writerow(row)
