"""Checkpoints: the one format that training writes and colorizing reads.

A checkpoint is a dict that ``torch.load(..., weights_only=True)`` reads: the network's state
(backbone prefix included, so a model file is self-contained), its head configuration and
backbone description, optimiser, scheduler, step, RNG state, the resolved configuration and
the provenance (data fingerprint, backbone SHA-256, code version). Writes are atomic and
synced; the previous checkpoint is kept as ``prev.pt`` so that a damaged ``last.pt`` costs
one interval, not the run.

A run's checkpoints live in ``<checkpoint_dir>/<run id>/`` (the id:
:func:`colorcnn.provenance.run_id`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path

import torch

from .config import HeadConfig
from .files import atomic_path
from .model import ColorizationNet
from .provenance import code_version

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "colorcnn-checkpoint-v2"


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used; the message names the file and the fix."""


def save_checkpoint(path: str | Path, model: ColorizationNet, **state) -> None:
    """Atomically write the model and ``state`` (optimizer, scheduler, step, rng, config,
    provenance, ...); an existing file at ``path`` becomes ``prev.pt`` beside it."""
    path = Path(path)
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "head_config": asdict(model.head_config),
        "backbone_weights": model.backbone_desc,
        "code_version": code_version(),
        "torch_version": str(torch.__version__),
        **state,
    }
    # through a file object: saved to a path, torch records the temporary file's name in the
    # archive, and identical checkpoints would differ byte for byte
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(ckpt, f)
        if path.exists() and path.name == "last.pt":
            os.replace(path, path.with_name("prev.pt"))


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint safely (``weights_only=True``); a damaged or foreign file raises
    :class:`CheckpointError` saying what to do."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # truncated zip, empty file, pickle errors
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {e}); it is damaged, "
            f"e.g. by a full disk or a copy that stopped early. {_fix(path)}"
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a colorcnn checkpoint ({CHECKPOINT_FORMAT}). {_fix(path)}"
        )
    return ckpt


def _fix(path: Path) -> str:
    if path.name == "last.pt":
        prev = path.with_name("prev.pt")
        then = f"from {prev}" if prev.exists() else "from scratch"
        return f"Delete it and rerun: training resumes {then}."
    return "Delete it and rerun the rule that writes it (or retrain)."


def resume(ckpt: Path, model, opt, device) -> int:
    """Restore the last (or, if it is gone, the previous) checkpoint; the step to go on from."""
    for path in (ckpt, ckpt.with_name("prev.pt")):
        if path.exists():
            ck = load_checkpoint(path, map_location=device)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            torch.set_rng_state(ck["rng"]["torch"].cpu())
            log.info("resuming from step %d (%s)", ck["step"], path)
            return ck["step"]
    return 0


def model_from_checkpoint(ckpt: dict) -> ColorizationNet:
    """Rebuild the network of a checkpoint (the backbone's weights come from it too)."""
    from .backbone import vgg16_prefix_layers

    head = HeadConfig(**ckpt["head_config"])
    model = ColorizationNet(vgg16_prefix_layers(), head, ckpt["backbone_weights"])
    model.load_state_dict(ckpt["model"])
    return model.eval()
