"""Reading shards for training: whole batches gathered from memory-mapped shards.

Each shard's index table says which manifest row every array row holds; rows below
``n_train_rows`` are the training set, the rest the held-out validation set. An epoch is a
permutation of the training rows seeded by ``(seed, epoch)``; step ``s`` takes global batch
``s mod steps_per_epoch`` of epoch ``s // steps_per_epoch``, and each of ``world`` processes
its contiguous slice of it. Training can therefore resume at any step, bit for bit.

A batch is read with one sorted gather per shard it touches (``y[rows]`` on the memory map),
not image by image, and handed over as whole ``uint8`` tensors: no per-sample collate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from .shards import read_index


def open_shard(y_path, uv_path):
    """Memory-map a shard's arrays (no copy) and check that they belong together."""
    y = np.load(y_path, mmap_mode="r")
    uv = np.load(uv_path, mmap_mode="r")
    if y.ndim != 3 or y.dtype != np.uint8 or uv.shape != (len(y), 2, *y.shape[1:]):
        raise ValueError(f"shard {y_path}: Y {y.dtype} {y.shape} and UV {uv.shape} do not match")
    return y, uv


@dataclass
class ShardRows:
    """Where each image lives: ``shard[i]``, ``offset[i]`` for training and validation rows."""

    train: np.ndarray  # (N, 2) int64: shard, offset
    val: np.ndarray  # (M, 2)
    image_shape: tuple[int, int]

    @classmethod
    def from_index(cls, y_paths, index_paths, n_train_rows: int) -> ShardRows:
        train, val, shape = [], [], None
        for k, (y_path, index) in enumerate(zip(y_paths, index_paths, strict=True)):
            y = np.load(y_path, mmap_mode="r")
            _, rows = read_index(index)
            if len(rows) != len(y):
                raise ValueError(f"{index} lists {len(rows)} rows but {y_path} holds {len(y)}")
            if len(y):
                if shape is not None and y.shape[1:] != shape:
                    raise ValueError(f"{y_path}: image size {y.shape[1:]} differs from {shape}")
                shape = y.shape[1:]
            for j, r in enumerate(rows):
                (train if int(r["row"]) < n_train_rows else val).append((k, j))
        if shape is None:
            raise ValueError("the shards hold no images: every sampled file was rejected")
        as_array = lambda v: np.asarray(v, dtype=np.int64).reshape(-1, 2)  # noqa: E731
        return cls(as_array(train), as_array(val), tuple(shape))


class Gatherer:
    """Reads any set of rows as one batch: ``(Y (B, H, W), UV (B, 2, H, W))`` uint8 tensors.
    Memory maps are opened lazily in each process (DataLoader workers map the shards
    themselves) and never pickled."""

    def __init__(self, y_paths, uv_paths):
        self.y_paths, self.uv_paths = list(map(str, y_paths)), list(map(str, uv_paths))
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _shard(self, k: int):
        if k not in self._maps:
            self._maps[k] = open_shard(self.y_paths[k], self.uv_paths[k])
        return self._maps[k]

    def gather(self, where: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``where`` (``(B, 2)``: shard, offset), in that order."""
        shard0 = self._shard(int(where[0, 0]))[0]
        h, w = shard0.shape[1:]
        y = np.empty((len(where), h, w), np.uint8)
        uv = np.empty((len(where), 2, h, w), np.uint8)
        order = np.lexsort((where[:, 1], where[:, 0]))  # by shard, then offset
        sw = where[order]
        bounds = np.flatnonzero(np.diff(sw[:, 0])) + 1
        for part, pos in zip(np.split(sw, bounds), np.split(order, bounds), strict=True):
            ys, uvs = self._shard(int(part[0, 0]))
            y[pos] = ys[part[:, 1]]  # one sorted read per shard
            uv[pos] = uvs[part[:, 1]]
        return torch.from_numpy(y), torch.from_numpy(uv)

    def __getstate__(self):  # do not pickle open maps into workers
        return {**self.__dict__, "_maps": {}}


class TrainBatches(Dataset):
    """Map-style dataset whose item ``i`` is the whole batch of step ``start_step + i``
    (this rank's slice): one DataLoader, with persistent workers, serves the whole run."""

    def __init__(
        self,
        gatherer: Gatherer,
        rows: np.ndarray,
        batch_size: int,
        seed: int,
        start_step: int,
        total_steps: int,
        rank: int = 0,
        world: int = 1,
    ):
        if batch_size % world:
            raise ValueError(f"batch_size {batch_size} must be divisible by the {world} processes")
        self.gatherer, self.rows = gatherer, rows
        self.batch_size, self.seed = batch_size, seed
        self.start, self.total, self.rank, self.world = start_step, total_steps, rank, world
        self.steps_per_epoch = len(rows) // batch_size
        self._perm: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(0, self.total - self.start)

    def permutation(self, epoch: int) -> np.ndarray:
        if self._perm is None or self._perm[0] != epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = (epoch, torch.randperm(len(self.rows), generator=g).numpy())
        return self._perm[1]

    def indices(self, step: int) -> np.ndarray:
        """Training-row numbers of this rank's part of the global batch of ``step``."""
        epoch, b = divmod(step, self.steps_per_epoch)
        batch = self.permutation(epoch)[b * self.batch_size : (b + 1) * self.batch_size]
        per = self.batch_size // self.world
        return batch[self.rank * per : (self.rank + 1) * per]

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.gatherer.gather(self.rows[self.indices(self.start + i)])


def batch_loader(dataset: TrainBatches, workers: int, pin_memory: bool):
    """A DataLoader over whole batches (no collate), workers kept for the whole run."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )


def validation_batches(gatherer: Gatherer, rows: np.ndarray, batch_size: int):
    """The held-out rows in fixed order, ``batch_size`` at a time."""
    for a in range(0, len(rows), batch_size):
        yield gatherer.gather(rows[a : a + batch_size])
