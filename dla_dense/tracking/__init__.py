"""Multi-object trackers that follow a detector's boxes through a video, faithful to their references:
CenterTrack's greedy offset association, BYTE (ByteTrack), FairMOT's JDE tracker on appearance embeddings (and
ByteTrack's variant of it with BYTE's low-score stage) and the IoU-only baseline. Every tracker takes one
frame's named detection fields and returns its tracks with ids (:mod:`.base`)."""

from __future__ import annotations

from typing import Any

from ..errors import DLADenseError
from .base import Fields, Tracker
from .byte import ByteTracker
from .centertrack import CenterTrackTracker
from .iou import IouTracker
from .jde import ByteReidTracker, JdeTracker

#: Tracker name (a config's ``tracker.name``) -> class.
TRACKERS: dict[str, type[Tracker]] = {
    "centertrack": CenterTrackTracker,
    "byte": ByteTracker,
    "jde": JdeTracker,
    "byte_reid": ByteReidTracker,
    "iou": IouTracker,
}


def build_tracker(name: str, **options: Any) -> Tracker:
    """The tracker ``name`` of :data:`TRACKERS` with its keyword ``options``."""
    if name not in TRACKERS:
        raise DLADenseError(f"unknown tracker '{name}'; use one of {', '.join(TRACKERS)}")
    try:
        return TRACKERS[name](**options)
    except TypeError as e:
        raise DLADenseError(f"tracker '{name}': {e}; see the tracker's options in docs/tasks/tracking.md") from None


__all__ = [
    "TRACKERS",
    "ByteReidTracker",
    "ByteTracker",
    "CenterTrackTracker",
    "Fields",
    "IouTracker",
    "JdeTracker",
    "Tracker",
    "build_tracker",
]
