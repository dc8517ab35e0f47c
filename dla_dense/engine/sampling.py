"""Sample order and augmentation seeds that are pure functions of (seed, draw number).

Draw number k is the k-th sample of the whole run over all processes; it fixes which image is used (a
fresh permutation per epoch) and the seed of its augmentation. A resumed or re-sharded run therefore
sees exactly the samples an uninterrupted one would.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


class DrawSampler(Sampler[int]):
    """Yields the draw numbers of one process for iterations ``start_iter .. max_iters - 1``.

    Iteration t of process r with per-process batch b draws k = (t * world + r) * b + j, j < b.
    """

    def __init__(self, *, batch_size: int, start_iter: int, max_iters: int, rank: int = 0, world_size: int = 1):
        self.batch_size, self.start_iter, self.max_iters = batch_size, start_iter, max_iters
        self.rank, self.world_size = rank, world_size

    def __iter__(self) -> Iterator[int]:
        for t in range(self.start_iter, self.max_iters):
            first = (t * self.world_size + self.rank) * self.batch_size
            yield from range(first, first + self.batch_size)

    def __len__(self) -> int:
        return max(0, self.max_iters - self.start_iter) * self.batch_size


class SeededDraws(Dataset):
    """Maps draw number k to ``dataset[perm_epoch[k % n]]``, reseeding its augmentation first."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, k: int):
        n = len(self.dataset)
        epoch = k // n
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(n, generator=generator)
        sample_seed = (self.seed * 1_000_003 + k) % 2**32
        random.seed(sample_seed)
        np.random.seed(sample_seed)
        transform = getattr(self.dataset, "transform", None)
        if hasattr(transform, "set_random_seed"):
            transform.set_random_seed(sample_seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(sample_seed)
            return self.dataset[int(self._perm[k % n])]


class ShardSampler(Sampler[int]):
    """Every ``world_size``-th index starting at ``rank``: evaluation without duplicated samples."""

    def __init__(self, length: int, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, length, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def worker_init(worker_id: int) -> None:
    """DataLoader worker set-up: one compute thread each (torch, OpenCV), leaving the cores to the model."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
