"""Kalman-filtered tracks and the bookkeeping that BYTE and the JDE tracker share (ByteTrack's and FairMOT's
``STrack``, ``joint_stracks``, ``sub_stracks``, ``remove_duplicate_stracks`` and their end-of-frame updates)."""

from __future__ import annotations

from abc import abstractmethod
from enum import IntEnum

import numpy as np

from .assignment import box_iou, linear_assignment
from .base import Fields, Tracker, as_numpy, empty_tracks, in_precision
from .kalman import KalmanFilter


class State(IntEnum):
    """A track's state (the references' ``TrackState``)."""

    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


def _xyah(box: np.ndarray) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] + w / 2, box[1] + h / 2, w / h, h], np.float64)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


class Track:
    """One detection, then one track: Kalman state, score, class, id, first and last frame and, with an
    embedding ``feature [D]``, its current and smoothed appearance (``smooth = alpha * smooth + (1 - alpha) *
    feature``, renormalised, as FairMOT's ``update_features``)."""

    alpha = 0.9

    def __init__(
        self,
        box: np.ndarray,
        score: np.floating,
        label: int,
        offset: np.ndarray | None = None,
        feature: np.ndarray | None = None,
        detection: int = -1,
    ) -> None:
        self.box = np.asarray(box, np.float64)
        self.detection = detection
        self.score = score
        self.label = label
        self.offset = offset
        self.feature = self.smooth = None
        if feature is not None:
            self.add_feature(np.asarray(feature))
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.state = State.NEW
        self.activated = False
        self.track_id = 0
        self.frame_id = self.start_frame = 0

    def add_feature(self, feature: np.ndarray) -> None:
        """Take ``feature [D]`` as the current appearance and blend it into the smoothed one."""
        self.feature = _unit(feature)
        self.smooth = (
            self.feature if self.smooth is None else _unit(self.alpha * self.smooth + (1 - self.alpha) * self.feature)
        )

    @property
    def tlbr(self) -> np.ndarray:
        """The current box, x1y1x2y2 (the Kalman state's once it has one)."""
        if self.mean is None:
            return self.box.copy()
        cx, cy, a, h = self.mean[:4]
        w = a * h
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])

    @property
    def xyah(self) -> np.ndarray:
        """The current box as ``(cx, cy, w / h, h)``."""
        return _xyah(self.tlbr)

    def activate(self, kf: KalmanFilter, frame_id: int, track_id: int) -> None:
        """Start the track (activated at once only on a video's first frame)."""
        self.track_id = track_id
        self.mean, self.covariance = kf.initiate(_xyah(self.box))
        self.state = State.TRACKED
        self.activated = frame_id == 1
        self.frame_id = self.start_frame = frame_id

    def update(self, kf: KalmanFilter, det: Track, frame_id: int, *, score: bool = True) -> None:
        """Correct with a matched detection (also re-finds a lost track, same id); ``score``: take its score."""
        self.mean, self.covariance = kf.update(self.mean, self.covariance, _xyah(det.box))
        self.state = State.TRACKED
        self.activated = True
        self.frame_id = frame_id
        if score:
            self.score = det.score
        self.box = det.box
        self.detection = det.detection
        if det.feature is not None:
            self.add_feature(det.feature)


def join(a: list[Track], b: list[Track]) -> list[Track]:
    """``a`` then the tracks of ``b`` whose ids are not in ``a``."""
    ids = {t.track_id for t in a}
    return a + [t for t in b if t.track_id not in ids]


def remove_duplicates(tracked: list[Track], lost: list[Track]) -> tuple[list[Track], list[Track]]:
    """Of each tracked / lost pair of one class with IoU > 0.85, drop the one followed for fewer frames (ties: the
    tracked); tracks of different classes are never duplicates (the references track each class apart)."""
    if not tracked or not lost:
        return tracked, lost
    iou = box_iou(np.array([t.tlbr for t in tracked]), np.array([t.tlbr for t in lost]))
    dist = class_gate(1 - iou, tracked, lost, 1.0)
    drop_a, drop_b = set(), set()
    for p, q in zip(*np.nonzero(dist < 0.15), strict=True):
        age_p = tracked[p].frame_id - tracked[p].start_frame
        age_q = lost[q].frame_id - lost[q].start_frame
        if age_p > age_q:
            drop_b.add(q)
        else:
            drop_a.add(p)
    return [t for i, t in enumerate(tracked) if i not in drop_a], [t for i, t in enumerate(lost) if i not in drop_b]


def iou_cost(tracks: list[Track], dets: list[Track], *, fuse_score: bool = False) -> np.ndarray:
    """``1 - IoU`` (``1 - IoU * score`` with ``fuse_score``) ``[len(tracks), len(dets)]``, +1-pixel convention;
    2 where the classes differ (never matched)."""
    if not tracks or not dets:
        return np.zeros((len(tracks), len(dets)))
    iou = box_iou(np.array([t.tlbr for t in tracks]), np.array([d.box for d in dets]))
    if fuse_score:
        iou = iou * np.array([d.score for d in dets])[None, :]
    return class_gate(1 - iou, tracks, dets, 2.0)


def class_gate(cost: np.ndarray, tracks: list[Track], dets: list[Track], value: float) -> np.ndarray:
    """``cost`` with ``value`` where a track and a detection are of different classes."""
    labels_a = np.array([t.label for t in tracks])
    labels_b = np.array([d.label for d in dets])
    return np.where(labels_a[:, None] == labels_b[None, :], cost, value)


class KalmanTracker(Tracker):
    """A tracker of Kalman-filtered :class:`Track` s with ByteTrack's / FairMOT's life cycle: tracks start
    unconfirmed (confirmed at once only on frame 1), get lost when unmatched, are removed after
    ``max_time_lost`` frames lost, and tracked / lost duplicates are resolved every frame. Subclasses write the
    association stages (:meth:`associate`).

    As in the references, a track removed for age is taken out of the lost list one frame later, so it can
    still be re-found (same id) in the frame after its removal.
    """

    def __init__(self, *, track_buffer: int = 30, frame_rate: float = 30.0) -> None:
        self.max_time_lost = int(frame_rate / 30.0 * track_buffer)
        self.kf = KalmanFilter()
        self.reset()

    def reset(self) -> None:
        self.tracked: list[Track] = []
        self.lost: list[Track] = []
        self.removed_ids: set[int] = set()
        self.frame_id = 0
        self.id_count = 0

    def detections(self, fields: Fields, mask: np.ndarray) -> list[Track]:
        """The detections of ``fields`` (numpy) where ``mask``, as :class:`Track` s (with ``embeddings`` and
        CenterTrack ``tracking`` offsets where the fields have them)."""
        offsets, features = fields.get("tracking"), fields.get("embeddings")
        return [
            Track(
                fields["boxes"][i],
                fields["scores"][i],
                int(fields["labels"][i]),
                None if offsets is None else offsets[i],
                None if features is None else features[i],
                int(i),
            )
            for i in np.flatnonzero(mask)
        ]

    def predict(self, tracks: list[Track]) -> None:
        """Kalman-predict ``tracks`` one frame (not-tracked tracks with their height velocity zeroed)."""
        if not tracks:
            return
        mean = np.array([t.mean for t in tracks])
        for row, t in zip(mean, tracks, strict=True):
            if t.state != State.TRACKED:
                row[7] = 0
        mean, cov = self.kf.multi_predict(mean, np.array([t.covariance for t in tracks]))
        for t, m, c in zip(tracks, mean, cov, strict=True):
            t.mean, t.covariance = m, c

    def match(
        self, tracks: list[Track], dets: list[Track], cost: np.ndarray, limit: float
    ) -> tuple[list[Track], list[Track], list[int]]:
        """Assign ``dets`` to ``tracks`` on ``cost`` (pairs above ``limit`` refused); each matched track takes its
        detection. Returns ``(matched tracks, unmatched tracks, unmatched detection indices)`` in assignment order."""
        matches, u_track, u_det = linear_assignment(cost, limit)
        for i, j in matches:
            tracks[i].update(self.kf, dets[j], self.frame_id)
        return [tracks[i] for i, _ in matches], [tracks[i] for i in u_track], list(u_det)

    def confirm_or_start(
        self, unconfirmed: list[Track], dets: list[Track], det_thresh: float, *, fuse_score: bool = False
    ) -> tuple[list[Track], list[Track]]:
        """The references' last two stages: ``unconfirmed`` tracks vs the detections left (``1 - IoU``, limit 0.7;
        matched ones are confirmed, the others removed), then a new track for every detection still left with
        ``score >= det_thresh``. Returns ``(activated, removed)``."""
        activated, removed, u_det = self.match(
            unconfirmed, dets, iou_cost(unconfirmed, dets, fuse_score=fuse_score), 0.7
        )
        for track in removed:
            track.state = State.REMOVED
        for j in u_det:
            if dets[j].score >= in_precision(det_thresh, dets[j].score):
                self.id_count += 1
                dets[j].activate(self.kf, self.frame_id, self.id_count)
                activated.append(dets[j])
        return activated, removed

    @abstractmethod
    def associate(self, fields: Fields, unconfirmed: list[Track], pool: list[Track]) -> tuple[list, list, list, list]:
        """Match this frame's detections (``fields``, numpy) to the ``unconfirmed`` tracks and the ``pool`` of
        confirmed and lost tracks (already predicted); returns the ``(activated, refound, lost, removed)`` tracks of
        this frame, new tracks among the activated."""

    def update(self, detections: Fields) -> Fields:
        self.frame_id += 1
        fields = as_numpy(detections)
        unconfirmed = [t for t in self.tracked if not t.activated]
        pool = join([t for t in self.tracked if t.activated], self.lost)
        self.predict(pool)
        activated, refound, lost, removed = self.associate(fields, unconfirmed, pool)
        for track in self.lost:
            if self.frame_id - track.frame_id > self.max_time_lost:
                track.state = State.REMOVED
                removed.append(track)
        tracked = join(join([t for t in self.tracked if t.state == State.TRACKED], activated), refound)
        ids = {t.track_id for t in tracked}
        self.lost = [t for t in self.lost if t.track_id not in ids] + lost
        self.lost = [t for t in self.lost if t.track_id not in self.removed_ids]
        self.removed_ids.update(t.track_id for t in removed)
        self.tracked, self.lost = remove_duplicates(tracked, self.lost)
        return self.output([t for t in self.tracked if t.activated])

    def output(self, tracks: list[Track]) -> Fields:
        """The named fields of ``tracks`` (``detections``: the index of the detection each took this frame)."""
        if not tracks:
            return empty_tracks()
        return {
            "detections": np.array([t.detection if t.frame_id == self.frame_id else -1 for t in tracks], np.int64),
            "boxes": np.array([t.tlbr for t in tracks], np.float32),
            "scores": np.array([t.score for t in tracks], np.float32),
            "labels": np.array([t.label for t in tracks], np.int64),
            "track_ids": np.array([t.track_id for t in tracks], np.int64),
        }
