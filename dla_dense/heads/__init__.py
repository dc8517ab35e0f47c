"""CenterNet-family heads, one per file, composed by :class:`CenterNetHeads` (see :mod:`.base` for the contract)."""

from .amodal import AmodalHead
from .base import Fields, Head, Peaks, ToImage, Warp
from .box import BoxHead
from .composed import CenterNetHeads
from .embedding import EmbeddingHead
from .jde_box import JdeBoxHead
from .keypoints import KeypointHead
from .track_box import TRACK_HM_BIAS, TrackBoxHead
from .tracking import TrackingHead

__all__ = [
    "TRACK_HM_BIAS",
    "AmodalHead",
    "BoxHead",
    "TrackBoxHead",
    "TrackingHead",
    "CenterNetHeads",
    "EmbeddingHead",
    "Fields",
    "Head",
    "JdeBoxHead",
    "KeypointHead",
    "Peaks",
    "ToImage",
    "Warp",
]
