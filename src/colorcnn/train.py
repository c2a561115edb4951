"""Training the colorization head on Y/UV shards (nanoGPT-style: read top to bottom).

A :class:`Job` (the train rule's contract) holds everything one training process needs; the
rule script builds it, and under DDP each process (``runtime.launch``) reads it back from JSON.
:func:`train`:

1. set up the runtime (rank, device, bf16, channels_last) and the data (training and
   validation rows of the shards);
2. build the model: the resolved backbone file (frozen) and a fresh head under the seed;
3. key the run by everything that determines its trajectory (``provenance.run_id``: head,
   training settings, the data's content fingerprint, the backbone's SHA-256, the numerics)
   and resume from its ``last.pt`` when it exists; otherwise start afresh and log what changed;
4. per step: a whole batch, bf16 autocast with ``train.bf16`` (compiled with
   ``train.compile``), loss on UV/255, SGD, step-decay lr; every ``log_every`` steps a
   metrics row (every ``val_every`` with the validation loss); every ``checkpoint_every``
   steps, and on SIGTERM/SIGUSR1, an atomic checkpoint;
5. write the model, the metrics and a summary with the provenance.

A non-finite loss stops training (:class:`NonFiniteLoss`) before anything is saved, so the
last checkpoint on disk is the last good state.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .backbone import load_backbone
from .checkpoint import resume, save_checkpoint
from .config import HeadConfig, TrainConfig
from .files import atomic_path
from .loader import Gatherer, ShardRows, TrainBatches, batch_loader, validation_batches
from .model import ColorizationNet, loss_fn
from .provenance import code_version, explain_new_run, record_latest_run, run_id, run_key
from .runtime import Preempted, Runtime, StopSignal, autocast, setup_runtime
from .shards import fingerprint
from .trainlog import MetricsLog

log = logging.getLogger(__name__)


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


@torch.no_grad()
def validation_loss(model, gatherer, rows, rt: Runtime, kind: str, batch: int) -> float | None:
    """Mean loss over the held-out rows (eval mode: batch norm uses its running statistics)."""
    if not len(rows):
        return None
    model.eval()
    total, n = 0.0, 0
    for y, uv in validation_batches(gatherer, rows, batch):
        y, target = _to_device(y, uv, rt)
        with autocast(rt.device, rt.autocast):
            logits = model(y)
        total += loss_fn(kind, logits.float(), target).item() * len(y)
        n += len(y)
    model.train()
    return total / n


def _to_device(y, uv, rt: Runtime):
    y = y.to(rt.device, non_blocking=True).unsqueeze(1).float()  # (b, 1, H, W), 0-255
    y = y.contiguous(memory_format=rt.memory_format)
    target = uv.to(rt.device, non_blocking=True).float().div_(255.0)  # (b, 2, H, W)
    return y, target


@dataclass
class Session:
    """What a training process holds while it runs."""

    job: Job
    rt: Runtime
    rows: ShardRows
    model: ColorizationNet
    opt: torch.optim.Optimizer
    rid: str
    record: dict
    step: int

    @property
    def cfg(self) -> TrainConfig:
        return self.job.train

    @property
    def steps_per_epoch(self) -> int:
        return len(self.rows.train) // self.cfg.batch_size

    @property
    def total(self) -> int:
        return self.cfg.epochs * self.steps_per_epoch

    @property
    def ckpt(self) -> Path:
        return Path(self.job.checkpoint_dir) / self.rid / "last.pt"

    def save(self, path) -> None:
        save_checkpoint(
            path,
            self.model,
            optimizer=self.opt.state_dict(),
            step=self.step,
            epoch=math.ceil(self.step / self.steps_per_epoch),
            rng={"torch": torch.get_rng_state()},
            config=self.record,
        )


def start(job: Job) -> Session:
    """Runtime, data, model, optimiser; resume the run when its checkpoint exists."""
    cfg = job.train
    rt = setup_runtime(cfg.device, cfg.bf16, cfg.channels_last)
    rows = ShardRows.from_index(job.y, job.index, job.n_train_rows)
    if len(rows.train) < cfg.batch_size:
        raise ValueError(
            f"{len(rows.train)} training images are fewer than train.batch_size "
            f"{cfg.batch_size} (see the rejected table for the rest)"
        )
    torch.manual_seed(cfg.seed)
    features, backbone_sha = load_backbone(job.backbone)
    model = ColorizationNet(features, job.head, job.backbone_description)
    model = model.to(rt.device, memory_format=rt.memory_format)
    if rt.world > 1 and rt.device.type == "cuda":  # statistics over the global batch
        model.head = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model.head)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    numerics = {"precision": rt.precision, "world_size": rt.world, "compile": cfg.compile}
    key = run_key(job.head, cfg, fingerprint(job.index), backbone_sha, numerics)
    rid = run_id(key)
    record = {
        **job.record,
        "run_id": rid,
        "provenance": key,
        "world_size": rt.world,
        "n_train_images": len(rows.train),
        "n_val_images": len(rows.val),
        "image_size": rows.image_shape[0],
    }
    s = Session(job, rt, rows, model, opt, rid, record, step=0)
    s.step = resume(s.ckpt, model, opt, rt.device)
    latest = Path(job.checkpoint_dir) / "latest.json"
    if s.step == 0:
        explain_new_run(latest, rid, key)
        n, per, total = len(rows.train), s.steps_per_epoch, s.total
        log.info("starting run %s: %d images, %d steps/epoch, %d steps", rid, n, per, total)
    if rt.main:
        s.ckpt.parent.mkdir(parents=True, exist_ok=True)
        record_latest_run(latest, rid, key)
    log.info("backbone %s; device %s; world size %d", model.backbone_desc, rt.device, rt.world)
    return s


def fit(s: Session) -> None:
    """The training loop, from the session's step to the last one."""
    cfg, rt = s.cfg, s.rt
    gatherer = Gatherer(s.job.y, s.job.uv)
    batches = TrainBatches(
        gatherer, s.rows.train, cfg.batch_size, cfg.seed, s.step, s.total, rt.rank, rt.world
    )
    loader = batch_loader(batches, cfg.loader_workers, rt.device.type == "cuda")
    metrics_path = s.ckpt.with_name("metrics.tsv")
    metrics = MetricsLog(metrics_path, rt, cfg.batch_size, s.model.backbone_desc, s.step)
    net = s.model
    if rt.world > 1:
        ids = [rt.device.index] if rt.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(s.model, device_ids=ids)
    if cfg.compile:  # the first step compiles (minutes on a CPU); the others reuse it
        net = torch.compile(net, dynamic=False)
    net.train()
    with StopSignal() as stop:
        for y, uv in loader:
            lr = cfg.lr_at(s.step, s.steps_per_epoch)
            for g in s.opt.param_groups:
                g["lr"] = lr
            y, target = _to_device(y, uv, rt)
            with autocast(rt.device, rt.autocast):
                logits = net(y)
            loss = loss_fn(cfg.loss, logits.float(), target)
            s.opt.zero_grad(set_to_none=True)
            loss.backward()
            s.opt.step()
            s.step += 1
            metrics.add(loss)
            at_log = s.step % cfg.log_every == 0 or s.step == s.total
            at_val = cfg.val_every > 0 and (s.step % cfg.val_every == 0 or s.step == s.total)
            stopping = rt.agree(stop.requested) if at_log or rt.world == 1 else False
            at_ckpt = stopping or (s.step % cfg.checkpoint_every == 0 and s.step < s.total)
            if at_log or at_val or at_ckpt:
                val = _validate(s, gatherer, metrics) if at_val else None
                epoch = (s.step - 1) // s.steps_per_epoch
                metrics.flush(s.step, epoch, lr, val, s.ckpt if s.ckpt.exists() else None)
            if at_ckpt:
                _checkpoint(s)
            if stopping:
                log.warning("stopped at step %d; %s written; rerun to resume", s.step, s.ckpt)
                raise Preempted(s.step, s.ckpt)


def _validate(s: Session, gatherer: Gatherer, metrics: MetricsLog) -> float | None:
    with metrics.paused():  # the window's throughput is training's alone
        return validation_loss(s.model, gatherer, s.rows.val, s.rt, s.cfg.loss, s.cfg.batch_size)


def _checkpoint(s: Session) -> None:
    if s.rt.main:
        s.save(s.ckpt)
    if s.rt.world > 1:
        torch.distributed.barrier()


def finish(s: Session) -> dict:
    """The model, its metrics and a summary with the provenance (main process)."""
    summary = {
        "run_id": s.rid,
        "steps": s.step,
        "epochs": math.ceil(s.step / s.steps_per_epoch),
        "batch_size": s.cfg.batch_size,
        "backbone_weights": s.model.backbone_desc,
        "device": s.rt.device.type,
        "code_version": code_version(),
        **s.record,
    }
    if s.rt.main:
        s.save(s.ckpt)
        for src, dest in ((s.ckpt, s.job.model), (s.ckpt.with_name("metrics.tsv"), s.job.metrics)):
            with atomic_path(dest) as tmp:  # the final checkpoint is the model
                shutil.copyfile(src, tmp)
        with atomic_path(s.job.summary) as tmp:
            tmp.write_text(json.dumps(summary, indent=1))
        log.info("wrote %s after %d steps", s.job.model, s.step)
    if s.rt.world > 1:
        torch.distributed.barrier()
    return summary


def train(job: Job) -> dict:
    """Train (or resume training) and write the final model; returns the run's summary.
    Every exit (done, preempted, a failure) leaves the process group."""
    s = start(job)
    try:
        fit(s)
        return finish(s)
    finally:
        s.rt.leave()


def worker_main(job_file: str) -> None:
    """One process of :func:`~colorcnn.runtime.launch`: log to the job's log (rank 0 also to
    stderr at INFO), and log this rank's error there before it propagates."""
    from .logs import setup_logging

    job = Job.load(job_file)
    rank = int(os.environ.get("RANK", 0))
    setup_logging(
        job.log,
        console=logging.INFO if rank == 0 else logging.WARNING,
        mode="a",
        tag=f"rank {rank}",
    )
    try:
        train(job)
    except Exception:
        log.exception("rank %d failed", rank)
        raise


if __name__ == "__main__":  # python -m colorcnn.train JOB
    worker_main(sys.argv[1])
