"""What every tracker takes and gives: the named fields of one frame's detections (image pixels): ``boxes [N, 4]``
(x1y1x2y2), ``scores [N]``, ``labels [N]``; a detector with a tracking head adds ``centers [N, 2]`` and
``tracking [N, 2]``; tracks add ``track_ids [N]`` and ``detections [N]``, the index of the detection each track
took in this frame (-1: none), through which the detections' other fields travel with the tracks
(:func:`with_detection_fields`: a 3D detector's boxes in the camera frame, for example)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..fields import Fields
from ..registry import Registry


def as_numpy(fields: Fields) -> Fields:
    """``fields`` as numpy arrays: float32 geometry, int64 labels and ids, scores in their own floating type
    (float32 model scores stay float32; see :func:`in_precision`)."""
    out = {}
    for name, value in fields.items():
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if name in ("labels", "track_ids"):
            out[name] = array.astype(np.int64)
        elif name == "scores":
            out[name] = array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float32)
        else:
            out[name] = array.astype(np.float32)
    return out


def in_precision(threshold: float, scores: np.ndarray | np.floating) -> np.floating:
    """``threshold`` in the floating type of ``scores``, to compare them with: the references compare float32
    model scores with Python floats in float32 (NumPy's NEP 50), so ``float32(0.1) > 0.1`` is false there and
    ``float32(0.7) >= 0.7`` true, where float64 says the opposite."""
    return np.asarray(scores).dtype.type(threshold)


def empty_tracks() -> Fields:
    """No tracks."""
    return {
        "boxes": np.zeros((0, 4), np.float32),
        "scores": np.zeros(0, np.float32),
        "labels": np.zeros(0, np.int64),
        "track_ids": np.zeros(0, np.int64),
        "detections": np.zeros(0, np.int64),
    }


def with_detection_fields(detections: Fields, tracks: Fields) -> Fields:
    """``tracks`` with every field of ``detections`` they lack (``[N, ...]`` numpy), taken from the detection each
    track took this frame (``tracks["detections"]``; NaN, or -1 for integers, where it took none)."""
    rows = np.asarray(tracks["detections"], np.int64)
    out = dict(tracks)
    for name, value in as_numpy(detections).items():
        if name in out:
            continue
        taken = value[np.clip(rows, 0, None)] if len(value) else np.zeros((len(rows), *value.shape[1:]), value.dtype)
        missing = rows < 0
        if missing.any():
            taken = taken.copy()
            taken[missing] = -1 if np.issubdtype(taken.dtype, np.integer) else np.nan
        out[name] = taken
    return out


#: Tracker name (a config's ``evaluation.tracker``) -> class; each tracker module registers its own.
TRACKERS: Registry[type[Tracker]] = Registry("tracker")


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
        """The tracks of the next frame: ``boxes``, ``scores``, ``labels``, ``track_ids`` (1-based) and
        ``detections`` (the index of the detection each took) of the tracks to output, from this frame's
        ``detections`` (image pixels)."""

    def heatmap_boxes(self) -> np.ndarray:
        """Boxes ``[M, 4]`` of the tracks a CenterTrack model is shown as its previous-frame heatmap."""
        return np.zeros((0, 4), np.float32)
