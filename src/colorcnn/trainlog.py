"""The metrics table a training run writes as it goes (``metrics.tsv``): the mean loss of
each logging window, the validation loss, lr and throughput; and the non-finite-loss check.

Validation time is excluded from the throughput (:meth:`MetricsLog.paused`), so
``images_per_s`` is training's alone.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import torch

from .runtime import Runtime
from .tables import METRICS_COLUMNS, append_row, truncate_steps


class NonFiniteLoss(FloatingPointError):
    """The loss became NaN or infinite."""


class MetricsLog:
    """Mean loss over each logging window, written as a row of the metrics TSV.

    The table lives beside the run's checkpoint, so a resumed run keeps its history (rows
    after the checkpoint's step are dropped on resume)."""

    def __init__(self, path: Path, rt: Runtime, batch_size: int, backbone: str, start: int):
        self.path, self.rt, self.batch_size, self.backbone = path, rt, batch_size, backbone
        if rt.main:
            truncate_steps(path, start)
        self._reset()

    def _reset(self):
        self.loss_sum = torch.zeros((), device=self.rt.device)
        self.bad = torch.zeros((), dtype=torch.bool, device=self.rt.device)
        self.n, self.t0 = 0, time.perf_counter()

    @contextlib.contextmanager
    def paused(self):
        """Time spent inside the block (validation) does not count as training time."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.t0 += time.perf_counter() - t0

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
            row = {
                "step": step,
                "epoch": epoch,
                "loss": loss,
                "val_loss": val,
                "lr": f"{lr:.6g}",
                "images_per_s": speed,
                "backbone_weights": self.backbone,
            }
            append_row(self.path, METRICS_COLUMNS, row)
        self._reset()
