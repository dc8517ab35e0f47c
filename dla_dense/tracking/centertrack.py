"""CenterTrack's tracker (``utils/tracker.py``): greedy matching of each detection's predicted previous centre
to the previous frame's tracks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .assignment import greedy_assignment
from .base import TRACKERS, Fields, Tracker, as_numpy, empty_tracks, in_precision


@TRACKERS.register("centertrack")
class CenterTrackTracker(Tracker):
    """CenterTrack's ``Tracker.step`` on detections with ``centers`` and ``tracking`` (image pixels); a 3D
    detector's detections are placed at their ``centers3d`` instead, the pixel their 3D box was unprojected from
    (``generic_post_process``), with the same tracking offset.

    Detections in score order each take the nearest free track: squared distance from ``center + tracking``
    to the track's centre, refused when it exceeds the area of the track's box or of the detection's box or the
    classes differ. Matched detections inherit the id (``active`` + 1); unmatched ones with ``score >
    new_thresh`` start tracks in detection order; unmatched tracks are kept, inactive, while ``age < max_age``
    (``-1``: dropped at once). ``public`` centres (:meth:`update`) restrict new tracks to detections within
    ``sqrt(area)`` of an unused public detection. Output: the active tracks; :meth:`heatmap_boxes` the active
    tracks with ``score >= pre_thresh``.
    """

    needs_offsets = True

    def __init__(self, *, new_thresh: float = 0.4, pre_thresh: float = 0.5, max_age: int = -1) -> None:
        self.new_thresh = new_thresh
        self.pre_thresh = pre_thresh
        self.max_age = max_age
        self.reset()

    @classmethod
    def from_config(cls, e: Any) -> CenterTrackTracker:
        """``track_thresh`` (its ``out_thresh`` and ``new_thresh``), ``pre_thresh``, ``max_age``."""
        return cls(new_thresh=e.track_thresh, pre_thresh=e.pre_thresh, max_age=e.max_age)

    def reset(self) -> None:
        self.id_count = 0
        self.tracks: list[dict] = []

    def step(self, detections: Fields, public: np.ndarray | None = None) -> list[dict]:
        """The reference's ``step``: the new track list (dicts with ``bbox``, ``score``, ``class``, ``ct``,
        ``tracking``, ``tracking_id``, ``age``, ``active``); ``public`` centres ``[P, 2]`` or None."""
        d = as_numpy(detections)
        results = [
            {"bbox": b, "score": s, "class": int(c), "ct": ct, "tracking": t, "detection": i}
            for i, (b, s, c, ct, t) in enumerate(
                zip(d["boxes"], d["scores"], d["labels"], d.get("centers3d", d["centers"]), d["tracking"], strict=True)
            )
        ]
        n, m = len(results), len(self.tracks)
        dets = np.array([r["ct"] + r["tracking"] for r in results], np.float32).reshape(n, 2)
        track_size = np.array([_area(t["bbox"]) for t in self.tracks], np.float32)
        track_cat = np.array([t["class"] for t in self.tracks], np.int32)
        item_size = np.array([_area(r["bbox"]) for r in results], np.float32)
        item_cat = np.array([r["class"] for r in results], np.int32)
        tracks = np.array([t["ct"] for t in self.tracks], np.float32).reshape(m, 2)
        dist = ((tracks.reshape(1, -1, 2) - dets.reshape(-1, 1, 2)) ** 2).sum(axis=2)
        invalid = (
            (dist > track_size.reshape(1, m))
            | (dist > item_size.reshape(n, 1))
            | (item_cat.reshape(n, 1) != track_cat.reshape(1, m))
        )
        matches = greedy_assignment(dist + invalid * 1e18)
        unmatched_dets = [i for i in range(n) if i not in matches[:, 0]]
        unmatched_tracks = [j for j in range(m) if j not in matches[:, 1]]
        kept = []
        for i, j in matches:
            track = results[i]
            track.update(tracking_id=self.tracks[j]["tracking_id"], age=1, active=self.tracks[j]["active"] + 1)
            kept.append(track)
        if public is not None and unmatched_dets:
            pub = np.asarray(public, np.float32).reshape(-1, 2)
            dist3 = ((dets.reshape(-1, 1, 2) - pub.reshape(1, -1, 2)) ** 2).sum(axis=2)
            dist3[[i for i in range(n) if i not in unmatched_dets]] = 1e18
            for j in range(len(pub)):
                i = int(dist3[:, j].argmin())
                if dist3[i, j] < item_size[i]:
                    dist3[i, :] = 1e18
                    self._start(results[i], kept)
        else:
            for i in unmatched_dets:
                self._start(results[i], kept)
        for j in unmatched_tracks:
            track = self.tracks[j]
            if track["age"] < self.max_age:
                track["age"] += 1
                track["active"] = 0
                kept.append(track)
        self.tracks = kept
        return kept

    def _start(self, track: dict, kept: list[dict]) -> None:
        if track["score"] > in_precision(self.new_thresh, track["score"]):
            self.id_count += 1
            track.update(tracking_id=self.id_count, age=1, active=1)
            kept.append(track)

    def update(self, detections: Fields, public: np.ndarray | None = None) -> Fields:
        active = [t for t in self.step(detections, public) if t["active"] > 0]
        if not active:
            return empty_tracks()
        return {
            "boxes": np.array([t["bbox"] for t in active], np.float32).reshape(-1, 4),
            "scores": np.array([t["score"] for t in active], np.float32),
            "labels": np.array([t["class"] for t in active], np.int64),
            "track_ids": np.array([t["tracking_id"] for t in active], np.int64),
            "detections": np.array([t["detection"] for t in active], np.int64),
        }

    def heatmap_boxes(self) -> np.ndarray:
        shown = [t for t in self.tracks if t["active"] != 0]
        boxes = [t["bbox"] for t in shown if t["score"] >= in_precision(self.pre_thresh, t["score"])]
        return np.array(boxes, np.float32).reshape(-1, 4)


def _area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))
