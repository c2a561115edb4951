"""Reading shards for training: random access across memory-mapped shards, seeded batches."""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset


class ShardDataset(Dataset):
    """All images of a list of shards, as one indexable dataset of ``(Y, UV)`` ``uint8`` pairs.

    Only the ``.npy`` headers are read up front; arrays are memory-mapped lazily in each
    process (so DataLoader workers open their own maps), and an item is copied out of the map
    only when it is used. Empty shards are allowed.
    """

    def __init__(self, y_paths):
        self.y_paths = [Path(p) for p in y_paths]
        if not self.y_paths:
            raise ValueError("no shards given")
        sizes, shape = [], None
        for p in self.y_paths:
            y = np.load(p, mmap_mode="r")
            if y.ndim != 3 or y.dtype != np.uint8:
                raise ValueError(f"{p}: expected uint8 [N, H, W], got {y.dtype} {y.shape}")
            if shape is None and len(y):
                shape = y.shape[1:]
            if len(y) and y.shape[1:] != shape:
                raise ValueError(f"{p}: image size {y.shape[1:]} differs from {shape}")
            sizes.append(len(y))
        self.image_shape = shape
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return self.offsets[-1]

    def _shard(self, k: int):
        if k not in self._maps:
            y = np.load(self.y_paths[k], mmap_mode="r")
            uv = np.load(str(self.y_paths[k]).replace(".Y.npy", ".UV.npy"), mmap_mode="r")
            self._maps[k] = (y, uv)
        return self._maps[k]

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = bisect.bisect_right(self.offsets, i) - 1
        y, uv = self._shard(k)
        j = i - self.offsets[k]
        return torch.from_numpy(np.array(y[j])), torch.from_numpy(np.array(uv[j]))

    def __getstate__(self):  # do not pickle open maps into workers
        d = dict(self.__dict__)
        d["_maps"] = {}
        return d


class GlobalBatchSampler(torch.utils.data.Sampler):
    """This rank's share of each global batch of a seeded per-epoch permutation.

    The permutation depends only on ``(seed, epoch)``, so training resumes mid-epoch at
    ``start_batch`` exactly where it stopped. The last incomplete global batch is dropped; each
    of ``world`` ranks takes a contiguous ``batch_size / world`` slice, so the ranks together
    see exactly what one process with the whole global batch would.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int,
        epoch: int,
        start_batch: int = 0,
        rank: int = 0,
        world: int = 1,
    ):
        if batch_size % world:
            raise ValueError(f"batch_size {batch_size} must be divisible by the {world} processes")
        self.n, self.batch_size, self.seed, self.epoch = n, batch_size, seed, epoch
        self.start_batch, self.rank, self.world = start_batch, rank, world

    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() - self.start_batch)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g).tolist()
        per = self.batch_size // self.world
        for b in range(self.start_batch, self.batches_per_epoch()):
            batch = perm[b * self.batch_size : (b + 1) * self.batch_size]
            yield batch[self.rank * per : (self.rank + 1) * per]
