"""Sample order and augmentation seeds that are pure functions of (seed, draw number).

Draw number k is the k-th sample of the whole run over all processes; it fixes which image is used (a
fresh permutation per epoch) and the seed of its augmentation. A resumed or re-sharded run therefore
sees exactly the samples an uninterrupted one would.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate
from tqdm import tqdm

from ..dist import DistInfo
from ..errors import DLADenseError


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
    """Maps draw number k to ``dataset[perm_epoch[k % n]]``, reseeding its augmentation first.

    An item is ``(sample, skipped)``. A sample that cannot be used (``dataset[i]`` raises
    :class:`DLADenseError`: an unreadable image, a label of another size) is replaced by the next index
    ``i + 1, i + 2, ...`` with the same augmentation seed, so a draw stays a function of the seed, the draw
    number and which files are bad; ``skipped`` lists ``(index, message)`` of the samples passed over.
    With ``on_bad_sample="fail"`` a bad sample raises instead. More bad samples in a row than
    ``max_bad_fraction`` of the dataset raise as well.
    """

    def __init__(
        self, dataset: Dataset, seed: int, *, on_bad_sample: str = "skip", max_bad_fraction: float = 0.1
    ) -> None:
        self.dataset, self.seed = dataset, seed
        self.on_bad_sample, self.max_bad_fraction = on_bad_sample, max_bad_fraction
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, k: int) -> tuple[Any, list[tuple[int, str]]]:
        n = len(self.dataset)
        epoch = k // n
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(n, generator=generator)
        sample_seed = (self.seed * 1_000_003 + k) % 2**32
        first = int(self._perm[k % n])
        skipped: list[tuple[int, str]] = []
        for step in range(max(1, min(n, int(self.max_bad_fraction * n) + 1))):
            index = (first + step) % n
            try:
                return self._load(index, sample_seed), skipped
            except DLADenseError as e:
                if self.on_bad_sample == "fail":
                    raise DLADenseError(
                        f"{e}; training stops at a bad sample with data.on_bad_sample='fail' "
                        "(fix or remove the file, or set data.on_bad_sample='skip')"
                    ) from None
                skipped.append((index, str(e)))
        raise DLADenseError(
            f"{len(skipped)} training samples in a row cannot be used, more than data.max_bad_fraction="
            f"{self.max_bad_fraction} of the {n}; the first: {skipped[0][1]}"
        )

    def _load(self, index: int, sample_seed: int) -> Any:
        random.seed(sample_seed)
        np.random.seed(sample_seed)
        transform = getattr(self.dataset, "transform", None)
        if hasattr(transform, "set_random_seed"):
            transform.set_random_seed(sample_seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(sample_seed)
            return self.dataset[index]


def collate_draws(items: list[tuple[Any, list[tuple[int, str]]]]) -> tuple[Any, list[tuple[int, str]]]:
    """Batch :class:`SeededDraws` items: ``(default_collate(samples), every skipped (index, message))``."""
    return default_collate([sample for sample, _ in items]), [entry for _, skipped in items for entry in skipped]


class BadSamples:
    """The main process's record of skipped training samples: one warning per file, and an error when more
    than ``max_bad_fraction`` of the ``size`` samples turned out bad."""

    def __init__(self, size: int, max_bad_fraction: float, logger: logging.Logger) -> None:
        self.size, self.max_bad_fraction, self.logger = size, max_bad_fraction, logger
        self.seen: set[int] = set()

    def update(self, skipped: list[tuple[int, str]]) -> None:
        """Log the samples in ``skipped`` not seen before; raise :class:`DLADenseError` when too many are bad."""
        for index, message in skipped:
            if index not in self.seen:
                self.seen.add(index)
                self.logger.warning(f"bad training sample skipped, the next one takes its place: {message}")
        if len(self.seen) > self.max_bad_fraction * self.size:
            raise DLADenseError(
                f"{len(self.seen)} of {self.size} training samples cannot be used, more than "
                f"data.max_bad_fraction={self.max_bad_fraction}; fix the files named in the warnings above"
            )


def iter_batches(loader: Iterable[Any]) -> Iterator[Any]:
    """Iterate ``loader``; a :class:`DLADenseError` raised in a worker process keeps only its own one-line
    message (the DataLoader would add the worker's traceback to it)."""
    iterator = iter(loader)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except DLADenseError as e:
            text = str(e)
            if "\nOriginal Traceback" not in text:
                raise
            raise DLADenseError(text.rstrip().splitlines()[-1].split(": ", 1)[-1]) from None
        yield batch


class ShardSampler(Sampler[int]):
    """This process's share of an evaluation set, without duplicates: every ``world_size``-th index starting at
    ``rank``; or, with ``videos`` (the video of each index, frames in order within a video), whole videos, so
    that each video's frames stay on one process, consecutive and in order (videos go to the process with the
    fewest frames so far, longest first)."""

    def __init__(self, length: int, rank: int = 0, world_size: int = 1, videos: Sequence[Any] | None = None) -> None:
        if videos is None:
            self.indices = list(range(rank, length, world_size))
            return
        if len(videos) != length:
            raise ValueError(f"ShardSampler: {len(videos)} video keys for {length} items")
        frames: dict[Any, list[int]] = {}
        for index, video in enumerate(videos):
            frames.setdefault(video, []).append(index)
        load = [0] * world_size
        mine: set[Any] = set()
        for video in sorted(frames, key=lambda v: -len(frames[v])):
            target = min(range(world_size), key=lambda r: (load[r], r))
            load[target] += len(frames[video])
            if target == rank:
                mine.add(video)
        self.indices = [i for video, indices in frames.items() if video in mine for i in indices]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def before_workers(num_workers: int) -> None:
    """Call before a DataLoader starts ``num_workers`` processes: OpenCV's thread pool does not survive fork (a
    worker forked while the pool has threads hangs in its first OpenCV call), so with workers the main process
    runs OpenCV single-threaded."""
    if num_workers > 0:
        import cv2

        cv2.setNumThreads(1)


def worker_init(worker_id: int) -> None:
    """DataLoader worker set-up: one compute thread each (torch, OpenCV), leaving the cores to the model."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def default_num_workers(world_size: int, device: torch.device) -> int:
    """Data-loading processes per training process, from the CPU cores each process has.

    On a GPU the model does not compete for cores: up to 8 workers. On CPU the workers take cores from the
    model: one worker per 4 cores, at least 1 and at most 4 (``data.num_workers=0`` loads in-process, which
    is faster on 2 cores when a sample is expensive to prepare, as for detection).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = max(1, cores // max(1, world_size))
    if device.type == "cuda":
        return min(8, per_process)
    return min(4, max(1, per_process // 4))


def data_workers(configured: int | None, dist: DistInfo) -> int:
    """``data.num_workers`` when set, else :func:`default_num_workers` for this process's device."""
    return configured if configured is not None else default_num_workers(dist.world_size, dist.device)


def keep_sample(sample: Any) -> Any:
    """Collate function that passes a sample through unchanged (numpy arrays stay numpy arrays)."""
    return sample


def eval_loader(
    dataset: Dataset,
    dist: DistInfo,
    *,
    num_workers: int,
    batch_size: int | None = 1,
    collate_fn: Any = None,
    videos: Sequence[Any] | None = None,
) -> DataLoader:
    """This process's shard of ``dataset`` in order (whole videos when ``videos`` gives each item's video, see
    :class:`ShardSampler`), read by ``num_workers`` processes (pinned memory on CUDA).

    ``batch_size=None`` yields single samples; iterate through :func:`iter_batches` so that a worker's
    :class:`DLADenseError` stays one line.
    """
    before_workers(num_workers)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ShardSampler(len(dataset), dist.rank, dist.world_size, videos),
        num_workers=num_workers,
        pin_memory=dist.device.type == "cuda",
        worker_init_fn=worker_init,
        **({} if collate_fn is None else {"collate_fn": collate_fn}),
    )


def eval_batches(
    dataset: Dataset,
    dist: DistInfo,
    *,
    num_workers: int | None,
    batch_size: int | None = 1,
    collate_fn: Any = None,
    unit: str = "batch",
    videos: Sequence[Any] | None = None,
) -> Iterator[Any]:
    """This process's shard of ``dataset`` through :func:`eval_loader` (``num_workers``: ``data.num_workers``, None
    for the default) and :func:`iter_batches`, under an "eval" progress bar on the main process."""
    loader = eval_loader(
        dataset,
        dist,
        num_workers=data_workers(num_workers, dist),
        batch_size=batch_size,
        collate_fn=collate_fn,
        videos=videos,
    )
    return iter(
        tqdm(
            iter_batches(loader),
            total=len(loader),
            desc="eval",
            unit=unit,
            leave=False,
            disable=not dist.is_main,
            mininterval=1.0,
        )
    )
