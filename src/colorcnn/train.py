"""Training the colorization head on Y/UV shards: SGD, checkpoints, resume, metrics, DDP.

One linear loop (nanoGPT-style). Read top to bottom:

1. set up the process group when launched by ``torchrun`` (``WORLD_SIZE > 1``);
2. build the model (frozen VGG-16 prefix + trainable head) under the seed;
3. resume from ``<checkpoint_dir>/last.pt`` when it exists (same settings only: the directory
   is keyed by a hash of everything that changes the trajectory);
4. per step: a global batch, split over ranks → bf16 autocast on CUDA → loss on UV/255 →
   SGD step → lr schedule; every ``log_every`` steps a metrics row; every ``checkpoint_every``
   steps an atomic checkpoint;
5. a non-finite loss stops training with :class:`NonFiniteLoss`, before anything is saved,
   so the last checkpoint on disk is the last good state.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .data import GlobalBatchSampler, ShardDataset
from .io import atomic_path, code_version
from .model import ColorizationNet, HeadConfig, build_model

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "colorcnn-checkpoint-v1"
METRICS_COLUMNS = ("step", "epoch", "loss", "lr", "images_per_s", "backbone_weights")


class NonFiniteLoss(FloatingPointError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. Paper values: lr 8e-2, weight decay 8e-7, ×0.5 every 300 epochs.

    ``batch_size`` is the global batch (split evenly over DDP processes). ``lr_step_unit``
    says whether ``lr_step`` counts epochs (the paper's wording) or optimiser steps (Caffe's
    ``stepsize``). Fields after ``seed`` do not change the trajectory and may differ on resume.
    """

    batch_size: int = 32
    lr: float = 8e-2
    momentum: float = 0.9
    weight_decay: float = 8e-7
    lr_step: int = 300
    lr_step_unit: str = "epoch"
    lr_gamma: float = 0.5
    loss: str = "bce"
    seed: int = 2016
    # --- not part of the trajectory (a finished run can be extended by more epochs) ---
    epochs: int = 1
    max_steps: int | None = None
    checkpoint_every: int = 500
    log_every: int = 10
    loader_workers: int = 0
    device: str = "auto"
    bf16: bool = True
    channels_last: bool = True
    progress: bool = True

    def __post_init__(self):
        checks = {
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "momentum": 0 <= self.momentum < 1,
            "weight_decay": self.weight_decay >= 0,
            "lr_step": self.lr_step >= 1,
            "lr_gamma": 0 < self.lr_gamma <= 1,
            "checkpoint_every": self.checkpoint_every >= 1,
            "log_every": self.log_every >= 1,
            "loader_workers": self.loader_workers >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"train.{name} has an invalid value {getattr(self, name)!r}")
        if self.lr_step_unit not in ("epoch", "step"):
            raise ValueError(
                f"train.lr_step_unit must be 'epoch' or 'step', got {self.lr_step_unit!r}"
            )
        if self.loss not in ("bce", "mse"):
            raise ValueError(f"train.loss must be 'bce' or 'mse', got {self.loss!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"train.device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")

    def trajectory(self) -> dict:
        d = asdict(self)
        keep = list(d)[: list(d).index("seed") + 1]
        return {k: d[k] for k in keep}


@dataclass(frozen=True)
class BackboneConfig:
    weights: str = "imagenet"
    download: bool = True
    allow_random_fallback: bool = False


@dataclass
class RunPaths:
    """Outputs of a training run; ``summary`` (JSON) is optional."""

    model: Path
    checkpoint_dir: Path
    metrics: Path
    summary: Path | None = None


def loss_fn(kind: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``bce``: two-sided cross-entropy between sigmoid(logits) and UV/255, mean over pixels
    and both channels (the paper's loss, made well-posed); ``mse``: on the same scale."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(torch.sigmoid(logits), target)


def run_id(
    head: HeadConfig, backbone: BackboneConfig, cfg: TrainConfig, n_images: int, image_shape
) -> str:
    """Hash of everything that determines the training trajectory (names checkpoint dirs)."""
    key = {
        "head": asdict(head),
        "backbone": backbone.weights,
        "train": cfg.trajectory(),
        "n_images": n_images,
        "image_shape": list(image_shape or ()),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def _dist_env() -> tuple[int, int, int]:
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def select_device(pref: str, local_rank: int = 0) -> torch.device:
    if pref == "cuda" or (pref == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def save_checkpoint(
    path: Path, model: ColorizationNet, opt, sched, step: int, epoch: int, config: dict
) -> None:
    """Atomically write everything needed to resume and to reproduce (weights_only-loadable)."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "head_config": asdict(model.head_config),
        "backbone_weights": model.backbone_desc,
        "optimizer": opt.state_dict() if opt is not None else {},
        "scheduler": sched.state_dict() if sched is not None else {},
        "step": step,
        "epoch": epoch,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
        "config": config,
        "code_version": code_version(),
        "torch_version": str(torch.__version__),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint safely (``weights_only=True``) and check its format."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a colorcnn checkpoint ({CHECKPOINT_FORMAT})")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> ColorizationNet:
    """Rebuild the network of a checkpoint (backbone weights come from the checkpoint)."""
    from .model import load_vgg16_features

    features, _ = load_vgg16_features("random")
    model = ColorizationNet(features, HeadConfig(**ckpt["head_config"]), ckpt["backbone_weights"])
    model.load_state_dict(ckpt["model"])
    return model.eval()


def _truncate_metrics(path: Path, step: int) -> None:
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [r for r in lines[1:] if int(r.split("\t", 1)[0]) <= step]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(kept))


def _append_metrics(path: Path, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        if new:
            w.writerow(METRICS_COLUMNS)
        w.writerows(rows)


def train(
    shards,
    paths: RunPaths,
    head: HeadConfig,
    cfg: TrainConfig,
    backbone: BackboneConfig = BackboneConfig(),
    config_record: dict | None = None,
) -> dict:
    """Train (or resume training) and write the final model; returns a small summary."""
    rank, world, local_rank = _dist_env()
    device = select_device(cfg.device, local_rank)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    main = rank == 0

    dataset = ShardDataset(shards)
    steps_per_epoch = len(dataset) // cfg.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"{len(dataset)} training images are fewer than train.batch_size {cfg.batch_size}"
        )
    total = cfg.epochs * steps_per_epoch
    total = min(total, cfg.max_steps) if cfg.max_steps else total

    torch.manual_seed(cfg.seed)
    model = build_model(
        head,
        backbone.weights,
        download=backbone.download,
        allow_random_fallback=backbone.allow_random_fallback,
    )
    rid = run_id(head, backbone, cfg, len(dataset), dataset.image_shape)
    ckpt_path = Path(paths.checkpoint_dir) / rid / "last.pt"
    record = {
        "run_id": rid,
        "head": asdict(head),
        "train": asdict(cfg),
        "backbone": asdict(backbone),
        "n_images": len(dataset),
        "image_size": int(dataset.image_shape[0]),
        "world_size": world,
        **(config_record or {}),
    }

    # On the device before the optimiser exists, so that resumed optimiser state lands there too.
    mem = torch.channels_last if (cfg.channels_last and device.type == "cuda") else None
    model = model.to(device, memory_format=mem) if mem else model.to(device)
    if world > 1 and device.type == "cuda":
        # batch statistics over the global batch, as one process would compute them
        model.head = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model.head)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    per_unit = steps_per_epoch if cfg.lr_step_unit == "epoch" else 1
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cfg.lr_gamma ** ((s // per_unit) // cfg.lr_step)
    )
    step = 0
    if ckpt_path.exists():
        ck = load_checkpoint(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["rng"]["torch"].cpu())
        step = ck["step"]
        log.info("resuming run %s from step %d (%s)", rid, step, ckpt_path)
    else:
        log.info(
            "starting run %s: %d images, %d steps/epoch, %d steps",
            rid,
            len(dataset),
            steps_per_epoch,
            total,
        )
    log.info("backbone weights: %s; device %s; world size %d", model.backbone_desc, device, world)

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None
        )
    net.train()
    autocast = device.type == "cuda" and cfg.bf16
    # Metrics live beside the checkpoint (so a resumed run keeps its history) and are copied
    # to paths.metrics at the end.
    metrics_path = ckpt_path.with_name("metrics.tsv")
    if main and step == 0:
        metrics_path.unlink(missing_ok=True)
    elif main:
        _truncate_metrics(metrics_path, step)  # drop rows logged after the checkpoint

    bar = None
    if main and cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=step, unit="step", mininterval=5, file=sys.stderr)
    window_loss = torch.zeros((), device=device)
    bad = torch.zeros((), dtype=torch.bool, device=device)
    window_n, t0, rows = 0, time.perf_counter(), []

    def flush_and_check(at_step: int, epoch: int):
        nonlocal window_loss, window_n, t0, rows
        if world > 1:
            torch.distributed.all_reduce(window_loss)
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
            window_loss /= world
        if bool(bad):
            raise NonFiniteLoss(
                f"non-finite loss at or before step {at_step} (epoch {epoch}); training stopped. "
                f"The last good checkpoint is {ckpt_path if ckpt_path.exists() else 'none yet'}. "
                "Lower train.lr, or check the shards for corrupt data."
            )
        if window_n and main:
            dt = time.perf_counter() - t0
            rows.append(
                (
                    at_step,
                    epoch,
                    f"{window_loss.item() / window_n:.6f}",
                    f"{sched.get_last_lr()[0]:.6g}",
                    f"{window_n * cfg.batch_size / dt:.2f}",
                    model.backbone_desc,
                )
            )
            _append_metrics(metrics_path, rows)
            rows = []
        window_loss = torch.zeros((), device=device)
        window_n, t0 = 0, time.perf_counter()

    while step < total:
        epoch, start = divmod(step, steps_per_epoch)
        sampler = GlobalBatchSampler(
            len(dataset), cfg.batch_size, cfg.seed, epoch, start, rank, world
        )
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=cfg.loader_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=False,
        )
        for y, uv in loader:
            y = y.to(device, non_blocking=True).unsqueeze(1).float()  # (b, 1, H, W), 0-255
            target = uv.to(device, non_blocking=True).float().div_(255.0)  # (b, 2, H, W)
            if mem:
                y = y.contiguous(memory_format=mem)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = net(y)
            loss = loss_fn(cfg.loss, logits.float(), target)
            bad |= ~torch.isfinite(loss.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            window_loss += loss.detach()
            window_n += 1
            if bar is not None:
                bar.update(1)
            if step % cfg.log_every == 0 or step == total:
                flush_and_check(step, epoch)
            if step % cfg.checkpoint_every == 0 and step < total:
                flush_and_check(step, epoch)
                if main:
                    save_checkpoint(ckpt_path, model, opt, sched, step, epoch, record)
                if world > 1:
                    torch.distributed.barrier()
            if step >= total:
                break
    flush_and_check(step, (step - 1) // steps_per_epoch)
    if bar is not None:
        bar.close()
    if main:
        final_epoch = math.ceil(step / steps_per_epoch)
        save_checkpoint(ckpt_path, model, opt, sched, step, final_epoch, record)
        save_checkpoint(Path(paths.model), model, opt, sched, step, final_epoch, record)
        with atomic_path(paths.metrics) as tmp:
            tmp.write_bytes(metrics_path.read_bytes())
        if paths.summary:
            summary = {
                "run_id": rid,
                "steps": step,
                "epochs": final_epoch,
                "n_images": len(dataset),
                "image_size": record["image_size"],
                "batch_size": cfg.batch_size,
                "backbone_weights": model.backbone_desc,
                "world_size": world,
                "device": device.type,
                "code_version": code_version(),
            }
            with atomic_path(paths.summary) as tmp:
                tmp.write_text(json.dumps(summary, indent=1))
        log.info("wrote %s after %d steps", paths.model, step)
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return {"steps": step, "run_id": rid, "backbone_weights": model.backbone_desc}


def write_spec(
    path: str | Path,
    shards,
    paths: RunPaths,
    head: HeadConfig,
    cfg: TrainConfig,
    backbone: BackboneConfig,
    config_record: dict | None = None,
) -> None:
    """Everything :func:`train` needs, as JSON, for ``python -m colorcnn.train SPEC``."""
    spec = {
        "shards": [str(s) for s in shards],
        "paths": {
            "model": str(paths.model),
            "checkpoint_dir": str(paths.checkpoint_dir),
            "metrics": str(paths.metrics),
        },
        "head": asdict(head),
        "train": asdict(cfg),
        "backbone": asdict(backbone),
        "config_record": config_record or {},
    }
    Path(path).write_text(json.dumps(spec, indent=1))


def train_from_spec(path: str | Path) -> dict:
    spec = json.loads(Path(path).read_text())
    p = spec["paths"]
    return train(
        spec["shards"],
        RunPaths(
            Path(p["model"]),
            Path(p["checkpoint_dir"]),
            Path(p["metrics"]),
            Path(p["summary"]) if p.get("summary") else None,
        ),
        HeadConfig(**spec["head"]),
        TrainConfig(**spec["train"]),
        BackboneConfig(**spec["backbone"]),
        spec["config_record"],
    )


def launch(spec_path: str | Path, nproc: int) -> None:
    """Run :func:`train_from_spec` in ``nproc`` processes with torchrun (DDP)."""
    import subprocess

    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "colorcnn.train",
        str(spec_path),
    ]
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    log.info("launching: %s", " ".join(cmd))
    subprocess.run(cmd, check=True, env=env)


if __name__ == "__main__":
    from .io import setup_logging

    setup_logging(os.environ.get("COLORCNN_LOG"))
    train_from_spec(sys.argv[1])
