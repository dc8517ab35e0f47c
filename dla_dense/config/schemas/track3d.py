"""The config schemas of the ``track3d`` task (CenterTrack's 3D tracking on KITTI tracking): what its configs may set
and the allowed values. Defaults are CenterTrack's ``tracking,ddd``: its 2D tracking model with the depth,
rotation, size and amodal-offset heads (weights 1), regression losses averaged over the objects, 384 x 1280 input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from .centernet import Heads3dConfig
from .track import TrackDataConfig, TrackEvalConfig, TrackModelConfig


@dataclass
class Track3dModelConfig(Heads3dConfig, TrackModelConfig):
    """CenterTrack with the 3D heads: ``hm``, ``reg``, ``wh``, ``tracking``, ``rot`` (two bins), ``dim``, ``dep``
    and, with ``amodal_offset``, ``amodel_offset`` (the projected 3D centre)."""

    TASK: ClassVar[str] = "track3d"
    task: str = "track3d"
    num_classes: int = 3
    ltrb_amodal: bool = False
    amodal_offset: bool = True


@dataclass
class Track3dDataConfig(TrackDataConfig):
    """KITTI tracking (``root/training/{image_02,label_02,calib}``; ``train_half`` / ``val_half`` are CenterTrack's
    halves of every training sequence; ``mot_sequences`` a glob of sequence names), CenterTrack's frame pairs and
    augmentation with the depth target scaled by the crop; ``classes``: the trained KITTI types (default
    Pedestrian, Car, Cyclist)."""

    TASK: ClassVar[str] = "track3d"
    dataset: Literal["kitti_tracking"] = "kitti_tracking"
    root: str = "data/kitti_tracking"
    crop_size: tuple[int, int] = (384, 1280)
    max_objs: int = 50
    lost_disturb: float = 0.2


@dataclass
class Track3dEvalConfig(TrackEvalConfig):
    """Test input 384 x 1280, CenterTrack's tracker on the detections' unprojected centres (``track_thresh`` 0.4)
    or ``byte`` on their 2D boxes; scored with TrackEval's KITTI protocol (Car and Pedestrian)."""

    TASK: ClassVar[str] = "track3d"
    input_size: tuple[int, int] | None = (384, 1280)
