"""The config schemas of the ``pose`` task: what its configs may set and the allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..base import AT_LEAST_0, AT_LEAST_1, FRACTION, POSITIVE, Bound
from .det import DetDataConfig, DetEvalConfig, DetModelConfig


@dataclass
class PoseModelConfig(DetModelConfig):
    """CenterNet multi_pose: the detector's keys, ``num_joints`` (J of the data's schema) and the keypoint loss
    weights of CenterNet's multi_pose trainer (``hp_offset`` shares ``off_weight``)."""

    TASK: ClassVar[str] = "pose"
    RANGES: ClassVar[dict[str, Bound]] = {"num_joints": AT_LEAST_1, "hp_weight": AT_LEAST_0, "hm_hp_weight": AT_LEAST_0}
    task: str = "pose"
    num_classes: int = 1
    num_joints: int = 17
    hp_weight: float = 1.0
    hm_hp_weight: float = 1.0


@dataclass
class PoseDataConfig(DetDataConfig):
    """COCO person-keypoints layout by default; ``flip_pairs`` overrides the left/right pairs found from the
    joint names; ``max_objs`` is CenterNet's 32. ``rotate_prob`` / ``rotate`` are CenterNet's ``aug_rot`` /
    ``rotate``: with that probability a training image is rotated by ``clip(N(0, rotate), -2 rotate, 2 rotate)``
    degrees and then trains the joint heatmaps only (off by default, as in CenterNet)."""

    TASK: ClassVar[str] = "pose"
    RANGES: ClassVar[dict[str, Bound]] = {"rotate_prob": FRACTION, "rotate": Bound(0.0, 90.0)}
    root: str = "data/coco"
    coco_ann_file: str = "annotations/person_keypoints_{split}.json"
    max_objs: int = 32
    flip_pairs: tuple[tuple[int, int], ...] | None = None
    rotate_prob: float = 0.0
    rotate: float = 0.0


@dataclass
class PoseEvalConfig(DetEvalConfig):
    """The detector's test keys plus OKS ``sigmas`` (one per joint; COCO's for its person schema) and
    ``sigma_scale``, a tolerance factor that is printed with the keypoint AP (1 = standard OKS)."""

    TASK: ClassVar[str] = "pose"
    RANGES: ClassVar[dict[str, Bound]] = {"sigmas": POSITIVE, "sigma_scale": POSITIVE}
    sigmas: tuple[float, ...] | None = None
    sigma_scale: float = 1.0
