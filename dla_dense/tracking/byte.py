"""BYTE (Zhang et al., arXiv 2110.06864; ByteTrack's ``yolox/tracker/byte_tracker.py``): Kalman + IoU
association of high-score detections, then of low-score detections with the tracks left over."""

from __future__ import annotations

from typing import Any

import numpy as np

from .assignment import box_iou, linear_assignment
from .base import TRACKERS, Fields, in_precision
from .tracks import KalmanTracker, State, Track, class_gate, iou_cost


@TRACKERS.register("byte")
class ByteTracker(KalmanTracker):
    """BYTE as ByteTrack codes it, per video (ids from 1), with class-aware matching (tracks and detections of
    different ``labels`` never match; one class is ByteTrack exactly, several are ByteTrack run per class).

    High detections have ``score > track_thresh``, low ones ``0.1 < score < track_thresh``, every threshold
    compared in the scores' precision (:func:`~dla_dense.tracking.base.in_precision`). (1) Activated and
    lost tracks, Kalman-predicted, vs high detections: cost ``1 - IoU`` (``1 - IoU * score`` with
    ``fuse_score``), ``lapjv`` with cost limit ``match_thresh``. (2) Still-unmatched tracked tracks vs low
    detections: ``1 - IoU``, limit 0.5; tracks left become lost. (3) Unconfirmed tracks vs the high detections
    left: limit 0.7; unmatched unconfirmed tracks are removed. (4) High detections left with ``score >=
    track_thresh + 0.1`` start tracks, confirmed only on the first frame or by a second match. (5) Tracks lost
    for more than ``int(frame_rate / 30 * track_buffer)`` frames are removed; tracked/lost duplicates (IoU >
    0.85) keep the older. IoU uses the +1-pixel convention (``cython_bbox``).

    ``motion="offset"``: the first association compares each track's last box with the detection boxes moved
    back by their CenterTrack ``tracking`` offsets, instead of the Kalman prediction.
    """

    def __init__(
        self,
        *,
        track_thresh: float = 0.6,
        match_thresh: float = 0.8,
        track_buffer: int = 30,
        frame_rate: float = 30.0,
        fuse_score: bool = True,
        low_thresh: float = 0.1,
        motion: str = "kalman",
    ) -> None:
        if motion not in ("kalman", "offset"):
            raise ValueError(f"motion={motion!r}; use 'kalman' or 'offset'")
        self.track_thresh = track_thresh
        self.match_thresh = match_thresh
        self.fuse_score = fuse_score
        self.low_thresh = low_thresh
        self.det_thresh = track_thresh + 0.1
        self.motion = motion
        self.needs_offsets = motion == "offset"
        super().__init__(track_buffer=track_buffer, frame_rate=frame_rate)

    @classmethod
    def from_config(cls, e: Any) -> ByteTracker:
        """``track_thresh``, ``match_thresh``, ``track_buffer``, ``byte_motion``."""
        return cls(
            track_thresh=e.track_thresh, match_thresh=e.match_thresh, track_buffer=e.track_buffer, motion=e.byte_motion
        )

    @classmethod
    def score_floor(cls, e: Any) -> float:
        """BYTE sees the low-score detections too (above 0.1)."""
        return 0.1

    def _first_cost(self, pool: list[Track], high: list[Track]) -> np.ndarray:
        if self.motion == "kalman" or not pool or not high:
            return iou_cost(pool, high, fuse_score=self.fuse_score)
        moved = np.array([d.box + np.tile(d.offset, 2) for d in high])
        iou = box_iou(np.array([t.box for t in pool]), moved)
        if self.fuse_score:
            iou = iou * np.array([d.score for d in high])[None, :]
        return class_gate(1 - iou, pool, high, 2.0)

    def associate(self, fields: Fields, unconfirmed: list[Track], pool: list[Track]) -> tuple[list, list, list, list]:
        scores = fields["scores"]
        high_thresh, low_thresh = in_precision(self.track_thresh, scores), in_precision(self.low_thresh, scores)
        high = self.detections(fields, scores > high_thresh)
        low = self.detections(fields, (scores > low_thresh) & (scores < high_thresh))
        activated, refound, lost = [], [], []

        matches, u_track, u_det = linear_assignment(self._first_cost(pool, high), self.match_thresh)
        for i, j in matches:
            (activated if pool[i].state == State.TRACKED else refound).append(pool[i])
            pool[i].update(self.kf, high[j], self.frame_id)

        remaining = [pool[i] for i in u_track if pool[i].state == State.TRACKED]
        matched, lost, _ = self.match(remaining, low, iou_cost(remaining, low), 0.5)
        activated += matched
        for track in lost:
            track.state = State.LOST

        confirmed, removed = self.confirm_or_start(
            unconfirmed, [high[j] for j in u_det], self.det_thresh, fuse_score=self.fuse_score
        )
        return activated + confirmed, refound, lost, removed
