"""The IoU-only baseline: each frame's detections matched to the previous frame's by box overlap alone."""

from __future__ import annotations

from typing import Any

import numpy as np

from .assignment import box_iou, linear_assignment
from .base import TRACKERS, Fields, Tracker, as_numpy, empty_tracks, in_precision


@TRACKERS.register("iou")
class IouTracker(Tracker):
    """Detections with ``score > thresh`` matched to the previous frame's tracks of the same class by ``1 -
    IoU`` (``lapjv``, limit ``1 - min_iou``); unmatched detections start tracks, unmatched tracks end. No motion
    model, no memory: the baseline that association by motion or offsets has to beat."""

    def __init__(self, *, thresh: float = 0.4, min_iou: float = 0.3) -> None:
        self.thresh = thresh
        self.min_iou = min_iou
        self.reset()

    @classmethod
    def from_config(cls, e: Any) -> IouTracker:
        """``track_thresh`` as its detection threshold."""
        return cls(thresh=e.track_thresh)

    def reset(self) -> None:
        self.previous = empty_tracks()
        self.id_count = 0

    def update(self, detections: Fields) -> Fields:
        d = as_numpy(detections)
        keep = d["scores"] > in_precision(self.thresh, d["scores"])
        boxes, scores, labels = d["boxes"][keep], d["scores"][keep], d["labels"][keep]
        prev = self.previous
        cost = 1 - box_iou(prev["boxes"], boxes, plus_one=False)
        cost[prev["labels"][:, None] != labels[None, :]] = 2.0
        matches, _, unmatched = linear_assignment(cost, 1 - self.min_iou)
        ids = np.zeros(len(boxes), np.int64)
        ids[matches[:, 1]] = prev["track_ids"][matches[:, 0]]
        for j in unmatched:
            self.id_count += 1
            ids[j] = self.id_count
        self.previous = {"boxes": boxes, "scores": scores, "labels": labels, "track_ids": ids}
        return {**self.previous, "detections": np.flatnonzero(keep).astype(np.int64)}
