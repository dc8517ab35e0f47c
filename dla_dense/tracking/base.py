"""What every tracker takes and gives: the named fields of one frame's detections (image pixels)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

#: One frame's detections or tracks by name: ``boxes [N, 4]`` (x1y1x2y2), ``scores [N]``, ``labels [N]``; a
#: detector with a tracking head adds ``centers [N, 2]`` and ``tracking [N, 2]``; tracks add ``track_ids [N]``.
Fields = dict[str, Any]


def as_numpy(fields: Fields) -> Fields:
    """``fields`` as numpy arrays (float32 geometry, float64 scores, int64 labels and ids)."""
    out = {}
    for name, value in fields.items():
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if name in ("labels", "track_ids"):
            out[name] = array.astype(np.int64)
        else:  # scores keep their precision: thresholds compare them exactly, as the references do
            out[name] = array.astype(np.float64 if name == "scores" else np.float32)
    return out


def empty_tracks() -> Fields:
    """No tracks."""
    return {
        "boxes": np.zeros((0, 4), np.float32),
        "scores": np.zeros(0, np.float32),
        "labels": np.zeros(0, np.int64),
        "track_ids": np.zeros(0, np.int64),
    }


class Tracker(ABC):
    """Associates the detections of consecutive frames of one video; ``reset()`` between videos."""

    #: Whether :meth:`update` reads the detections' ``centers`` and ``tracking`` (a CenterTrack model's).
    needs_offsets: bool = False
    #: Whether :meth:`update` reads the detections' ``embeddings`` (a model with an embedding head's).
    needs_embeddings: bool = False

    @classmethod
    @abstractmethod
    def from_config(cls, e: Any) -> Tracker:
        """The tracker with the thresholds of a tracking config's ``evaluation`` section ``e``."""

    @classmethod
    def score_floor(cls, e: Any) -> float:
        """Detections given to :meth:`update` score above this (default: ``e.track_thresh``)."""
        return e.track_thresh

    @abstractmethod
    def reset(self) -> None:
        """Forget every track (a new video); ids start again at 1."""

    @abstractmethod
    def update(self, detections: Fields) -> Fields:
        """The tracks of the next frame: ``boxes``, ``scores``, ``labels`` and ``track_ids`` (1-based) of the
        tracks to output, from this frame's ``detections`` (image pixels)."""

    def heatmap_boxes(self) -> np.ndarray:
        """Boxes ``[M, 4]`` of the tracks a CenterTrack model is shown as its previous-frame heatmap."""
        return np.zeros((0, 4), np.float32)
