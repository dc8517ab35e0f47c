"""Multi-object trackers that follow a detector's boxes through a video, faithful to their references:
CenterTrack's greedy offset association, BYTE (ByteTrack), FairMOT's JDE tracker on appearance embeddings (and
ByteTrack's variant of it with BYTE's low-score stage) and the IoU-only baseline. Every tracker takes one
frame's named detection fields and returns its tracks with ids (:mod:`.base`)."""

from __future__ import annotations

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


__all__ = [
    "TRACKERS",
    "ByteReidTracker",
    "ByteTracker",
    "CenterTrackTracker",
    "Fields",
    "IouTracker",
    "JdeTracker",
    "Tracker",
]
