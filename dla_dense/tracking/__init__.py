"""Multi-object trackers that follow a detector's boxes through a video, faithful to their references:
CenterTrack's greedy offset association, BYTE (ByteTrack) and the IoU-only baseline. Every tracker takes one
frame's named detection fields and returns its tracks with ids (:mod:`.base`)."""

from __future__ import annotations

from typing import Any

from ..errors import DLADenseError
from .base import Fields, Tracker
from .byte import ByteTracker
from .centertrack import CenterTrackTracker
from .iou import IouTracker

#: Tracker name (a config's ``tracker.name``) -> class.
TRACKERS: dict[str, type[Tracker]] = {"centertrack": CenterTrackTracker, "byte": ByteTracker, "iou": IouTracker}


def build_tracker(name: str, **options: Any) -> Tracker:
    """The tracker ``name`` of :data:`TRACKERS` with its keyword ``options``."""
    if name not in TRACKERS:
        raise DLADenseError(f"unknown tracker '{name}'; use one of {', '.join(TRACKERS)}")
    try:
        return TRACKERS[name](**options)
    except TypeError as e:
        raise DLADenseError(f"tracker '{name}': {e}; see the tracker's options in docs/tasks/tracking.md") from None


__all__ = ["TRACKERS", "ByteTracker", "CenterTrackTracker", "Fields", "IouTracker", "Tracker", "build_tracker"]
