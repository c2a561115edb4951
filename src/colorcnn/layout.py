"""File names, derived from what the files hold: which names are images, the shards'
files, a run's folder, a colorization's name. Standard library only: the workflow imports
this while it builds the DAG."""

from __future__ import annotations

from pathlib import Path

#: File extensions considered images when listing folders (case-insensitive).
IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")

#: File name of one kind of a shard's files; ``shard`` is the zero-padded shard number.
SHARD_NAME = "shard-{shard}.{kind}"
#: The four files of a shard: key (``ShardFiles`` field, rule output name) → suffix.
SHARD_KINDS = {"Y": "Y.npy", "UV": "UV.npy", "index": "index.tsv", "rejected": "rejected.tsv"}

#: A training run's folder under the results folder (variant and seed of the study).
RUN_FOLDER = "{variant}/seed{seed}"


def is_image_name(name: str) -> bool:
    """An image file by its name (hidden files, e.g. a killed writer's ``.tmp-*``, are not)."""
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def shard_id(k: int) -> str:
    return f"{k:05d}"


def output_name(rel: str | Path) -> Path:
    """Where the colorization of ``rel`` goes: the same relative path with ``.png`` added,
    so ``x.jpg`` and ``x.png`` in one folder get two outputs."""
    rel = Path(rel)
    return rel.with_name(rel.name + ".png")
