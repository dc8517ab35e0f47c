"""BYTE (Zhang et al., arXiv 2110.06864; ByteTrack's ``yolox/tracker/byte_tracker.py``): Kalman + IoU
association of high-score detections, then of low-score detections with the tracks left over."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np

from .assignment import box_iou, linear_assignment
from .base import Fields, Tracker, as_numpy, empty_tracks
from .kalman import KalmanFilter


class State(IntEnum):
    """A track's state (ByteTrack's ``TrackState``)."""

    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


def _xyah(box: np.ndarray) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] + w / 2, box[1] + h / 2, w / h, h], np.float64)


class Track:
    """One track: Kalman state, score, class, id, first and last frame."""

    def __init__(self, box: np.ndarray, score: float, label: int, offset: np.ndarray | None = None) -> None:
        self.box = np.asarray(box, np.float64)
        self.score = score
        self.label = label
        self.offset = offset
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.state = State.NEW
        self.activated = False
        self.track_id = 0
        self.frame_id = self.start_frame = 0

    @property
    def tlbr(self) -> np.ndarray:
        """The current box, x1y1x2y2 (the Kalman state's once it has one)."""
        if self.mean is None:
            return self.box.copy()
        cx, cy, a, h = self.mean[:4]
        w = a * h
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])

    def activate(self, kf: KalmanFilter, frame_id: int, track_id: int) -> None:
        """Start the track (activated at once only on a video's first frame)."""
        self.track_id = track_id
        self.mean, self.covariance = kf.initiate(_xyah(self.box))
        self.state = State.TRACKED
        self.activated = frame_id == 1
        self.frame_id = self.start_frame = frame_id

    def update(self, kf: KalmanFilter, det: Track, frame_id: int) -> None:
        """Correct with a matched detection (also re-finds a lost track, same id)."""
        self.mean, self.covariance = kf.update(self.mean, self.covariance, _xyah(det.box))
        self.state = State.TRACKED
        self.activated = True
        self.frame_id = frame_id
        self.score = det.score
        self.box = det.box


class ByteTracker(Tracker):
    """BYTE as ByteTrack codes it, per video (ids from 1), with class-aware matching (tracks and detections of
    different ``labels`` never match; one class is ByteTrack exactly).

    High detections have ``score > track_thresh``, low ones ``0.1 < score < track_thresh``. (1) Activated and
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
        self.max_time_lost = int(frame_rate / 30.0 * track_buffer)
        self.motion = motion
        self.needs_offsets = motion == "offset"
        self.kf = KalmanFilter()
        self.reset()

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

    def reset(self) -> None:
        self.tracked: list[Track] = []
        self.lost: list[Track] = []
        self.frame_id = 0
        self.id_count = 0

    def _cost(self, tracks: list[Track], dets: list[Track], *, fuse: bool, offsets: bool = False) -> np.ndarray:
        if not tracks or not dets:
            return np.zeros((len(tracks), len(dets)))
        a = np.array([t.box if offsets else t.tlbr for t in tracks])
        b = np.array([d.box + np.tile(d.offset, 2) if offsets else d.box for d in dets])
        iou = box_iou(a, b)
        if fuse:
            iou = iou * np.array([d.score for d in dets])[None, :]
        cost = 1 - iou
        labels_a = np.array([t.label for t in tracks])
        labels_b = np.array([d.label for d in dets])
        return np.where(labels_a[:, None] == labels_b[None, :], cost, 2.0)

    def update(self, detections: Fields) -> Fields:
        self.frame_id += 1
        d = as_numpy(detections)
        scores = d["scores"]
        offsets = d.get("tracking") if self.motion == "offset" else None

        def make(mask: np.ndarray) -> list[Track]:
            return [
                Track(d["boxes"][i], float(scores[i]), int(d["labels"][i]), None if offsets is None else offsets[i])
                for i in np.flatnonzero(mask)
            ]

        high = make(scores > self.track_thresh)
        low = make((scores > self.low_thresh) & (scores < self.track_thresh))
        unconfirmed = [t for t in self.tracked if not t.activated]
        confirmed = [t for t in self.tracked if t.activated]
        pool = _join(confirmed, self.lost)
        self._predict(pool)
        activated, refound, lost, removed = [], [], [], []

        cost = self._cost(pool, high, fuse=self.fuse_score, offsets=self.motion == "offset")
        matches, u_track, u_det = linear_assignment(cost, self.match_thresh)
        for i, j in matches:
            (activated if pool[i].state == State.TRACKED else refound).append(pool[i])
            pool[i].update(self.kf, high[j], self.frame_id)

        remaining = [pool[i] for i in u_track if pool[i].state == State.TRACKED]
        matches, u_remaining, _ = linear_assignment(self._cost(remaining, low, fuse=False), 0.5)
        for i, j in matches:
            remaining[i].update(self.kf, low[j], self.frame_id)
            activated.append(remaining[i])
        for i in u_remaining:
            remaining[i].state = State.LOST
            lost.append(remaining[i])

        high = [high[j] for j in u_det]
        matches, u_unconfirmed, u_det = linear_assignment(self._cost(unconfirmed, high, fuse=self.fuse_score), 0.7)
        for i, j in matches:
            unconfirmed[i].update(self.kf, high[j], self.frame_id)
            activated.append(unconfirmed[i])
        for i in u_unconfirmed:
            unconfirmed[i].state = State.REMOVED
            removed.append(unconfirmed[i])

        for j in u_det:
            if high[j].score >= self.det_thresh:
                self.id_count += 1
                high[j].activate(self.kf, self.frame_id, self.id_count)
                activated.append(high[j])
        for track in self.lost:
            if self.frame_id - track.frame_id > self.max_time_lost:
                track.state = State.REMOVED
                removed.append(track)

        tracked = _join(_join([t for t in self.tracked if t.state == State.TRACKED], activated), refound)
        gone = {t.track_id for t in tracked} | {t.track_id for t in removed}
        self.lost = [t for t in self.lost if t.track_id not in gone] + lost
        self.tracked, self.lost = _remove_duplicates(tracked, self.lost)
        out = [t for t in self.tracked if t.activated]
        if not out:
            return empty_tracks()
        return {
            "boxes": np.array([t.tlbr for t in out], np.float32),
            "scores": np.array([t.score for t in out], np.float32),
            "labels": np.array([t.label for t in out], np.int64),
            "track_ids": np.array([t.track_id for t in out], np.int64),
        }

    def _predict(self, tracks: list[Track]) -> None:
        if not tracks:
            return
        mean = np.array([t.mean for t in tracks])
        for row, t in zip(mean, tracks, strict=True):
            if t.state != State.TRACKED:
                row[7] = 0
        mean, cov = self.kf.multi_predict(mean, np.array([t.covariance for t in tracks]))
        for t, m, c in zip(tracks, mean, cov, strict=True):
            t.mean, t.covariance = m, c


def _join(a: list[Track], b: list[Track]) -> list[Track]:
    ids = {t.track_id for t in a}
    return a + [t for t in b if t.track_id not in ids]


def _remove_duplicates(tracked: list[Track], lost: list[Track]) -> tuple[list[Track], list[Track]]:
    if not tracked or not lost:
        return tracked, lost
    dist = 1 - box_iou(np.array([t.tlbr for t in tracked]), np.array([t.tlbr for t in lost]))
    drop_a, drop_b = set(), set()
    for p, q in zip(*np.nonzero(dist < 0.15), strict=True):
        age_p = tracked[p].frame_id - tracked[p].start_frame
        age_q = lost[q].frame_id - lost[q].start_frame
        if age_p > age_q:
            drop_b.add(q)
        else:
            drop_a.add(p)
    return [t for i, t in enumerate(tracked) if i not in drop_a], [t for i, t in enumerate(lost) if i not in drop_b]
