"""The config schemas of the ``ddd`` task (CenterNet monocular 3D detection on KITTI): what its configs may set and
the allowed values. Defaults are CenterNet's ``ddd`` (input 384 x 1280, head_conv 256, loss weights, its
scale/shift augmentation with probability 0.5, BGR input with ImageNet statistics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..base import AT_LEAST_0, FRACTION, Bound
from .centernet import CenterNetModelConfig, Heads3dConfig, ObjectDataConfig, ObjectEvalConfig


@dataclass
class DddModelConfig(Heads3dConfig, CenterNetModelConfig):
    """CenterNet ``ddd``: heads ``hm``, ``wh``, ``reg``, ``rot``, ``dim``, ``dep`` (and CenterTrack's
    ``amodel_offset`` with ``amodal_offset``); ``reduction`` of the regression losses: ``slots`` (CenterNet's, over
    every slot) or ``objects`` (CenterTrack's, over the objects). ``recipe="smoke"``: SMOKE's network and heads
    instead (GroupNorm everywhere, ``hm`` at the projected 3D centres, one 8-channel ``regression`` head trained
    with the disentangled corner loss weighted ``reg_weight``)."""

    TASK: ClassVar[str] = "ddd"
    RANGES: ClassVar[dict[str, Bound]] = {"reg_weight": AT_LEAST_0}
    task: str = "ddd"
    num_classes: int = 3
    reduction: Literal["slots", "objects"] = "slots"
    recipe: Literal["centernet", "smoke"] = "centernet"
    reg_weight: float = 1.0


@dataclass
class DddDataConfig(ObjectDataConfig):
    """KITTI object data (``root`` with ``training/{image_2,label_2,calib}``, splits in ``root/image_sets``).
    ``augmentation="centernet"``: CenterNet's ddd input, scaled (``scale``) and shifted (``shift``) with probability
    ``aug``, no flip; ``"centertrack"``: CenterTrack's random crop (``crop_scale_range``), flip with ``hflip`` and
    colour (``color_aug``), with depth targets scaled by the crop; ``"smoke"``: SMOKE's, mirrored with probability 0.5
    when ``hflip``, then shifted (steps of 0.1 up to ``shift``) and scaled (steps of 0.1 up to ``scale``) with
    probability ``aug``."""

    TASK: ClassVar[str] = "ddd"
    RANGES: ClassVar[dict[str, Bound]] = {"aug": FRACTION, "scale": Bound(0, 1, open_low=True), "shift": FRACTION}
    dataset: Literal["kitti"] = "kitti"
    root: str = "data/kitti"
    image_sets: str = "ImageSets_3dop"
    crop_size: tuple[int, int] = (384, 1280)
    hflip: bool = False
    bgr: bool = True
    max_objs: int = 50
    augmentation: Literal["centernet", "centertrack", "smoke"] = "centernet"
    aug: float = 0.5
    scale: float = 0.4
    shift: float = 0.1
    crop_scale_range: tuple[float, float] | None = (0.6, 1.4)


@dataclass
class DddEvalConfig(ObjectEvalConfig):
    """Test input fitted by width to ``input_size``; detections above ``score_thresh`` (CenterNet's test: 0.2) of
    the ``max_dets`` best; KITTI metrics at the ``official`` overlaps or CenterNet's ``loose`` ones. ``baseline``:
    also score the same detections at the training set's mean depth (what the depth head must beat)."""

    TASK: ClassVar[str] = "ddd"
    RANGES: ClassVar[dict[str, Bound]] = {"score_thresh": FRACTION}
    input_size: tuple[int, int] = (384, 1280)
    score_thresh: float = 0.2
    overlaps: Literal["official", "loose"] = "official"
    baseline: bool = False
