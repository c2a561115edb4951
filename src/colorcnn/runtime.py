"""Where and how a training process runs: processes, devices, DDP, signals.

- :func:`select_device`: the ``torch.device`` a ``device`` setting names (``auto``, ``cpu``,
  ``cuda``) for this process; ``cuda`` where CUDA is unusable is an error that says why
  (:func:`cuda_problem`), never the CPU;
- :func:`plan_processes`: how many processes on which device, from ``train.gpus`` and the GPUs
  the scheduler actually gave the job (a mismatch is an error, never 4 processes on 1 GPU);
- :func:`launch`: one process per GPU, each running a :class:`~colorcnn.train.Job` read back
  from JSON, with this process forwarding SIGTERM/SIGUSR1 to all of them;
- :class:`Runtime`: this process's rank, device and numerics (bf16 autocast, memory format);
- :class:`StopSignal`: SIGTERM/SIGUSR1 (preemption, a time limit) asks training to stop after
  the current step, with a checkpoint; :class:`Preempted` is the exit that follows.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)


#: The exit status of a run stopped by a signal (128 + SIGTERM, as a process killed by it).
PREEMPTED_EXIT = 128 + signal.SIGTERM


class Preempted(SystemExit):
    """Training stopped on a signal after writing a checkpoint; rerun to resume."""

    def __init__(self, step: int | None = None, checkpoint: Path | None = None):
        super().__init__(PREEMPTED_EXIT)
        self.step, self.checkpoint = step, checkpoint


def cuda_problem() -> str | None:
    """Why this process cannot use CUDA (what ``torch.cuda`` says, the build, the GPUs the job
    was given), or None when it can."""
    setting = (
        f"torch {torch.__version__} (CUDA build {torch.version.cuda}), CUDA_VISIBLE_DEVICES="
        f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}, CONDA_OVERRIDE_CUDA="
        f"{os.environ.get('CONDA_OVERRIDE_CUDA', 'unset')}"
    )
    if torch.version.cuda is None:
        cpu_only = "this PyTorch is a CPU-only build (a job given GPUs uses envs/torch-cuda.yaml)"
        return f"{cpu_only}; {setting}"
    try:
        torch.cuda.init()  # raises with the driver's own words: none, too old, no device
    except Exception as e:  # noqa: BLE001 - any reason is reported, none is hidden
        return f"torch.cuda.init() failed: {' '.join(str(e).split())}; {setting}"
    if torch.cuda.device_count() == 0:
        return f"no CUDA device is visible to this job; {setting}"
    return None


def usable_gpus() -> int:
    """The CUDA devices this process can use (0 when CUDA is unusable)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def select_device(pref: str = "auto", local_rank: int = 0) -> torch.device:
    """``cuda`` (this process's GPU) when asked, or under ``auto`` when usable; ``cpu`` when
    asked. ``cuda`` where CUDA is unusable raises, naming the cause: never the CPU instead."""
    if pref == "cuda" or (pref == "auto" and torch.cuda.is_available()):
        problem = cuda_problem()
        if problem:
            raise RuntimeError(f"device 'cuda' was asked for but CUDA is unusable: {problem}")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def plan_processes(gpus: int, visible: int) -> tuple[int, str]:
    """``(processes, device)`` for ``train.gpus`` and the ``visible`` usable CUDA devices
    (:func:`usable_gpus`): 0 → one CPU process; 1 → one process on the GPU; more → one
    process per GPU. A job asked for GPUs that cannot use one fails here, at its start."""
    if gpus == 0:
        return 1, "cpu"
    if visible == 0:
        raise RuntimeError(
            f"train.gpus is {gpus} but CUDA is unusable in this job, so it would train on the "
            f"CPU while holding a GPU allocation: {cuda_problem() or 'no usable GPU'}. Give the "
            "job a GPU whose driver supports the env's CUDA build, or set train.gpus: 0 to "
            "train on the CPU."
        )
    if gpus == 1:
        return 1, "cuda"
    if visible != gpus:
        shown = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        raise RuntimeError(
            f"train.gpus is {gpus} but this job sees {visible} GPU(s) (CUDA_VISIBLE_DEVICES="
            f"{shown}). Give the job {gpus} GPUs (the slurm profile requests train.gpus GPUs "
            f"through the rule's gpu resource), or set train.gpus to {visible}."
        )
    return gpus, "cuda"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the worker gets SIGKILL when the launcher dies (even by SIGKILL)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def launch(job_path: str | Path, nproc: int, threads: int | None = None) -> None:
    """Run ``python -m colorcnn.train JOB`` in ``nproc`` processes (DDP, rendezvous over
    ``env://`` on this host) and wait for all of them.

    Not torchrun: torchrun exits 1 on SIGTERM and dies at once on SIGUSR1 while its workers
    train on in their own sessions. Here SIGTERM and SIGUSR1 (a scheduler's preemption or
    time-limit warning, sent to the job's main process) are forwarded to every worker; each
    stops after its step, rank 0 writes the checkpoint, and this raises :class:`Preempted`
    (exit 143). A worker that fails stops the others at once (their collectives would wait
    for it forever) and this raises, naming the rank; each rank's error is in the job's log.
    ``threads`` (the job's CPUs) are shared: each worker gets ``threads // nproc``.
    """
    cmd = [sys.executable, "-m", "colorcnn.train", str(job_path)]
    src = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    env.update(WORLD_SIZE=str(nproc), LOCAL_WORLD_SIZE=str(nproc))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    if threads:
        env["OMP_NUM_THREADS"] = str(max(1, threads // nproc))
    log.info("launching %d training processes: %s", nproc, " ".join(cmd))
    procs: list[subprocess.Popen] = []

    def forward(signum, frame):
        log.warning("received %s: forwarding it to the workers", signal.Signals(signum).name)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in StopSignal.SIGNALS}
    try:
        for rank in range(nproc):
            rank_env = dict(env, RANK=str(rank), LOCAL_RANK=str(rank))
            procs.append(subprocess.Popen(cmd, env=rank_env, preexec_fn=_die_with_parent))
        codes = _wait_all(procs)
    finally:
        for p in procs:  # nothing left behind, whatever happened here
            if p.poll() is None:
                p.kill()
                p.wait()
        for s, h in old.items():
            signal.signal(s, h)
    failed = {r: c for r, c in enumerate(codes) if c not in (0, PREEMPTED_EXIT)}
    if failed:
        where = _job_log(job_path)
        raise RuntimeError(
            "training process(es) failed: "
            + ", ".join(f"rank {r} exited with {c}" for r, c in failed.items())
            + f"; each rank's error is in {where}"
        )
    if PREEMPTED_EXIT in codes:
        log.warning("the workers stopped on a signal after a checkpoint; rerun to resume")
        raise Preempted()


def _job_log(job_path: str | Path) -> str:
    """The log file a job file names (where its workers write), for messages."""
    import json

    try:
        return json.loads(Path(job_path).read_text()).get("log") or "the workers' stderr"
    except (OSError, ValueError):
        return "the workers' stderr"


def _wait_all(procs: list[subprocess.Popen], poll: float = 0.2) -> list[int]:
    """Every process's exit status; the first failure (not a signal-requested stop) kills
    the rest."""
    while True:
        codes = [p.poll() for p in procs]
        if any(c not in (None, 0, PREEMPTED_EXIT) for c in codes):
            for p in procs:
                if p.poll() is None:
                    p.kill()
            return [p.wait() if c is None else c for p, c in zip(procs, codes, strict=True)]
        if all(c is not None for c in codes):
            return codes
        time.sleep(poll)


@dataclass(frozen=True)
class Runtime:
    rank: int
    world: int
    device: torch.device
    autocast: bool  # bf16 autocast
    memory_format: torch.memory_format

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def precision(self) -> str:
        return "bf16" if self.autocast else "float32"

    def agree(self, flag: bool) -> bool:
        """True when any process says so (a collective: all processes must call it)."""
        if self.world == 1:
            return flag
        t = torch.tensor(float(flag), device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def leave(self) -> None:
        """Leave the process group (on every exit: done, preempted, failed)."""
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on ``device`` when ``enabled``; otherwise a no-op, on any device."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def setup_runtime(device: str, bf16: bool, channels_last: bool) -> Runtime:
    """Join the process group when started by :func:`launch`; pick the device and numerics.

    ``bf16`` and ``channels_last`` mean what they say on any device: CPUs run bf16 autocast
    and channels_last too (slower there than float32, which is why the CPU demo turns them
    off), so the CPU tests run exactly the code a GPU run takes.
    """
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
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return Runtime(rank, world, dev, bf16, fmt)


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
