"""The config schemas of the ``det`` task: what its configs may set and the allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..base import FRACTION, Bound, TestTimeConfig
from .centernet import CenterNetModelConfig, EmbeddingConfig, ObjectDataConfig, ObjectEvalConfig


@dataclass
class DetModelConfig(EmbeddingConfig, CenterNetModelConfig):
    """CenterNet ctdet: the box heads and, with ``reid_dim``, the embedding head."""

    TASK: ClassVar[str] = "det"
    task: str = "det"
    num_classes: int = 80


@dataclass
class DetDataConfig(ObjectDataConfig):
    """COCO-format data (``root`` + ``coco_ann_file``/``coco_img_dir``) with CenterNet's augmentation:
    ``crop_scale_range`` scales the random crop side, ``color_aug`` is its colour/lighting augmentation."""

    TASK: ClassVar[str] = "det"
    RENAMED: ClassVar[dict[str, str]] = {"scale_range": "crop_scale_range", "color_jitter": "color_aug"}
    dataset: Literal["coco"] = "coco"
    root: str = "data/coco"
    coco_ann_file: str = "annotations/instances_{split}.json"
    coco_img_dir: str = "images/{split}"
    radius_mode: Literal["centernet", "corrected"] = "centernet"


@dataclass
class DetEvalConfig(TestTimeConfig, ObjectEvalConfig):
    """Test input (``input_size`` or CenterNet's keep-resolution padding), scales merged by NMS, flip test."""

    TASK: ClassVar[str] = "det"
    RANGES: ClassVar[dict[str, Bound]] = {"nms_iou": FRACTION}
    nms_iou: float = 0.5
