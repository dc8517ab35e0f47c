"""CenterNet-family heads, one per file, composed by :class:`CenterNetHeads` (see :mod:`.base` for the contract)."""

from .amodal import AmodalHead, amodal_targets
from .base import Fields, Head, Peaks, ToImage, Warp
from .box import BoxHead, centernet_targets
from .composed import CenterNetHeads
from .embedding import EmbeddingHead
from .jde_box import JdeBoxHead, fairmot_box_targets
from .keypoints import KeypointHead, multi_pose_targets
from .regression import RegressionHead
from .track_box import TRACK_HM_BIAS, TrackBoxHead, centertrack_box_targets
from .tracking import TrackingHead, tracking_targets

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
    "RegressionHead",
    "ToImage",
    "Warp",
    "amodal_targets",
    "centernet_targets",
    "centertrack_box_targets",
    "fairmot_box_targets",
    "multi_pose_targets",
    "tracking_targets",
]
