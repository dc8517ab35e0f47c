"""FairMOT's JDE tracker (``src/lib/tracker/multitracker.py``): association by appearance embeddings gated by the
Kalman filter, then by IoU; with ``byte``, ByteTrack's motion + re-ID variant (``tutorials/fairmot/tracker.py``),
which adds BYTE's stage for low-score detections."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DLADenseError
from .assignment import linear_assignment
from .base import TRACKERS, Fields, in_precision
from .kalman import CHI2INV95
from .tracks import KalmanTracker, State, Track, class_gate, iou_cost

#: Weight of the appearance distance in the first stage's cost; the rest is the squared Mahalanobis distance.
APPEARANCE_WEIGHT = 0.98


@TRACKERS.register("jde")
class JdeTracker(KalmanTracker):
    """The JDE tracker on detections with ``embeddings [N, D]`` (image pixels), per video (ids from 1), with
    class-aware matching (a track keeps its class; one class is FairMOT exactly, several are FairMOT run per class).
    Thresholds are compared in the scores' precision (:func:`~dla_dense.tracking.base.in_precision`).

    Detections with ``score > conf_thresh`` take part. (1) Confirmed and lost tracks, Kalman-predicted, vs the
    detections: cost = 0.98 * cosine distance of the track's smoothed embedding and the detection's + 0.02 *
    squared Mahalanobis distance of the box, infinite beyond the chi-square 95 % gate (9.4877); ``lapjv`` with cost
    limit ``match_thresh`` (0.4). (2) Still-unmatched tracked (not lost) tracks vs the detections left: ``1 - IoU``,
    limit 0.5; tracks left become lost. (3) Unconfirmed tracks vs the detections left: limit 0.7; unmatched
    unconfirmed tracks are removed. (4) Detections left with ``score >= conf_thresh`` start tracks, confirmed
    only on the first frame or by a second match. (5) Tracks lost for more than ``int(frame_rate / 30 *
    track_buffer)`` frames are removed; tracked/lost duplicates (IoU > 0.85) keep the older. A lost track found
    again keeps its id and, as FairMOT, its old score.

    ``byte``: before (3), tracks still unmatched after (2) are matched to the low-score detections ``low_thresh <
    score < conf_thresh`` (limit 0.4), new tracks need ``score >= conf_thresh + 0.1`` and a re-found track takes
    the detection's score (ByteTrack's tutorial tracker).
    """

    needs_embeddings = True

    def __init__(
        self,
        *,
        conf_thresh: float = 0.4,
        match_thresh: float = 0.4,
        track_buffer: int = 30,
        frame_rate: float = 30.0,
        byte: bool = False,
        low_thresh: float = 0.2,
    ) -> None:
        self.conf_thresh = conf_thresh
        self.match_thresh = match_thresh
        self.byte = byte
        self.low_thresh = low_thresh
        self.det_thresh = conf_thresh + 0.1 if byte else conf_thresh
        super().__init__(track_buffer=track_buffer, frame_rate=frame_rate)

    @classmethod
    def from_config(cls, e: Any) -> JdeTracker:
        """``track_thresh`` (FairMOT's ``conf_thres``), ``reid_match_thresh``, ``track_buffer``."""
        return cls(conf_thresh=e.track_thresh, match_thresh=e.reid_match_thresh, track_buffer=e.track_buffer)

    def appearance_cost(self, tracks: list[Track], dets: list[Track]) -> np.ndarray:
        """FairMOT's ``embedding_distance`` fused with the Kalman gate (``fuse_motion``) ``[len(tracks),
        len(dets)]``; infinite across classes."""
        if not tracks or not dets:
            return np.zeros((len(tracks), len(dets)))
        a = np.array([t.smooth for t in tracks], np.float64)
        b = np.array([d.feature for d in dets], np.float64)
        cosine = 1 - (a @ b.T) / np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
        cost = np.maximum(0.0, cosine)
        measurements = np.array([d.xyah for d in dets])
        for row, track in enumerate(tracks):
            maha = self.kf.gating_distance(track.mean, track.covariance, measurements)
            cost[row, maha > CHI2INV95[4]] = np.inf
            cost[row] = APPEARANCE_WEIGHT * cost[row] + (1 - APPEARANCE_WEIGHT) * maha
        return class_gate(cost, tracks, dets, np.inf)

    def associate(self, fields: Fields, unconfirmed: list[Track], pool: list[Track]) -> tuple[list, list, list, list]:
        if "embeddings" not in fields:
            raise DLADenseError(
                "the JDE tracker needs detections with embeddings; give the model an embedding head "
                "(model.reid_dim > 0) or use evaluation.tracker='byte'"
            )
        scores = fields["scores"]
        conf_thresh = in_precision(self.conf_thresh, scores)
        dets = self.detections(fields, scores > conf_thresh)
        activated, refound, lost = [], [], []

        matches, u_track, u_det = linear_assignment(self.appearance_cost(pool, dets), self.match_thresh)
        for i, j in matches:
            if pool[i].state == State.TRACKED:
                pool[i].update(self.kf, dets[j], self.frame_id)
                activated.append(pool[i])
            else:
                pool[i].update(self.kf, dets[j], self.frame_id, score=self.byte)
                refound.append(pool[i])

        dets = [dets[j] for j in u_det]
        remaining = [pool[i] for i in u_track if pool[i].state == State.TRACKED]
        matched, remaining, u_det = self.match(remaining, dets, iou_cost(remaining, dets), 0.5)
        activated += matched
        if self.byte:
            low = self.detections(fields, (scores > in_precision(self.low_thresh, scores)) & (scores < conf_thresh))
            matched, remaining, _ = self.match(remaining, low, iou_cost(remaining, low), 0.4)
            activated += matched
        for track in remaining:
            track.state = State.LOST
            lost.append(track)

        confirmed, removed = self.confirm_or_start(unconfirmed, [dets[j] for j in u_det], self.det_thresh)
        return activated + confirmed, refound, lost, removed


@TRACKERS.register("byte_reid")
class ByteReidTracker(JdeTracker):
    """BYTE with embeddings in its first stage: :class:`JdeTracker` with ``byte=True`` (ByteTrack's
    ``tutorials/fairmot/tracker.py``)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(byte=True, **options)

    @classmethod
    def from_config(cls, e: Any) -> ByteReidTracker:
        """``track_thresh``, ``reid_match_thresh``, ``track_buffer``."""
        return cls(conf_thresh=e.track_thresh, match_thresh=e.reid_match_thresh, track_buffer=e.track_buffer)

    @classmethod
    def score_floor(cls, e: Any) -> float:
        """The low-score stage sees detections above 0.2."""
        return 0.2
