"""Per-stage wall-clock totals of inference (pre-process, inference, post-process, tracking), as the tools report them,
and the grouping of images into batches of one shape."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

import numpy as np
import torch

STAGES = ("preprocess", "inference", "postprocess", "tracking")


class StageTimer:
    """Sums the seconds spent in each stage; ``with timer.stage("inference"): ...`` (CUDA work is waited for
    at the stage's end, so that the time lands where it was spent)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.images = 0

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                torch.cuda.synchronize()
            self.seconds[name] += time.perf_counter() - start

    def summary(self) -> str:
        """``"<pre> ms pre-process, <inf> ms inference, <post> ms post-process[, <trk> ms tracking] per image
        (N images)"`` (tracking only where a tracker ran)."""
        n = max(1, self.images)
        pre, inf, post, track = (1000 * self.seconds[s] / n for s in STAGES)
        tracking = f", {track:.1f} ms tracking" if self.seconds["tracking"] else ""
        return (
            f"speed: {pre:.1f} ms pre-process, {inf:.1f} ms inference, {post:.1f} ms post-process{tracking} per "
            f"image ({self.images} images)"
        )


#: A timer that is never read (the default of the predict functions).
NULL_TIMER = StageTimer()


def same_shape(images: Sequence[np.ndarray | torch.Tensor]) -> list[list[int]]:
    """Indices of ``images`` grouped by shape, in order of first appearance (each group is one batch)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(tuple(image.shape), []).append(i)
    return list(groups.values())
