"""Multi-object trackers that follow a detector's boxes through a video, faithful to their references:
CenterTrack's greedy offset association, BYTE (ByteTrack), FairMOT's JDE tracker on appearance embeddings (and
ByteTrack's variant of it with BYTE's low-score stage) and the IoU-only baseline. Every tracker takes one
frame's named detection fields and returns its tracks with ids (:mod:`.base`)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ..errors import DLADenseError
from .base import TRACKERS, Fields, Tracker
from .byte import ByteTracker
from .centertrack import CenterTrackTracker
from .iou import IouTracker
from .jde import ByteReidTracker, JdeTracker


def build_tracker(name: str, settings: Any, fields: Collection[str]) -> Tracker:
    """The tracker ``name`` configured from ``settings`` (a config's ``evaluation`` section) for a model whose heads
    decode ``fields``; one line when it needs what they do not give (appearance ``embeddings``, ``tracking``
    offsets)."""
    tracker = TRACKERS[name].from_config(settings)
    if tracker.needs_embeddings and "embeddings" not in fields:
        raise DLADenseError(
            f"evaluation.tracker='{name}' associates by appearance embeddings, which this model has none of; "
            "set model.reid_dim (e.g. 128) and train it, or use evaluation.tracker='byte'"
        )
    if tracker.needs_offsets and "tracking" not in fields:
        raise DLADenseError(
            f"evaluation.tracker='{name}' follows CenterTrack's tracking offsets, which this model has none of; "
            "use evaluation.tracker='byte' (or 'jde' with an embedding head)"
        )
    return tracker


__all__ = [
    "TRACKERS",
    "build_tracker",
    "ByteReidTracker",
    "ByteTracker",
    "CenterTrackTracker",
    "Fields",
    "IouTracker",
    "JdeTracker",
    "Tracker",
]
