"""The config schemas of the ``det`` task: what its configs may set and the allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..base import AT_LEAST_0, AT_LEAST_1, FRACTION, POSITIVE, STRIDE_32, Bound, DataConfig, ModelConfig, TestTimeConfig


@dataclass
class DetModelConfig(ModelConfig):
    """CenterNet: decoder ``node`` type, head width and the loss weights of CenterNet's ctdet trainer.
    ``reid_dim > 0`` adds FairMOT's embedding head (``id``, 128 in FairMOT), trained as identity classification
    over ``num_identities`` (None: the training data's count) with ``id_weighting`` ``uncertainty`` (FairMOT's
    learned s_det / s_id) or ``fixed`` (``det + id_weight * id``)."""

    TASK: ClassVar[str] = "det"
    RANGES: ClassVar[dict[str, Bound]] = {
        "head_conv": AT_LEAST_0,
        "hm_weight": AT_LEAST_0,
        "wh_weight": AT_LEAST_0,
        "off_weight": AT_LEAST_0,
        "reid_dim": AT_LEAST_0,
        "num_identities": Bound(3),
        "id_weight": AT_LEAST_0,
    }
    task: str = "det"
    num_classes: int = 80
    node: Literal["dcn", "conv"] = "dcn"
    head_conv: int = 256
    hm_weight: float = 1.0
    wh_weight: float = 0.1
    off_weight: float = 1.0
    reid_dim: int = 0
    num_identities: int | None = None
    id_weighting: Literal["uncertainty", "fixed"] = "uncertainty"
    id_weight: float = 0.1


@dataclass
class DetDataConfig(DataConfig):
    """COCO-format data (``root`` + ``coco_ann_file``/``coco_img_dir``) with CenterNet's augmentation:
    ``crop_scale_range`` scales the random crop side, ``color_aug`` is its colour/lighting augmentation."""

    TASK: ClassVar[str] = "det"
    RENAMED: ClassVar[dict[str, str]] = {"scale_range": "crop_scale_range", "color_jitter": "color_aug"}
    RANGES: ClassVar[dict[str, Bound]] = {"crop_size": STRIDE_32, "max_objs": AT_LEAST_1, "crop_scale_range": POSITIVE}
    dataset: Literal["coco"] = "coco"
    root: str = "data/coco"
    coco_ann_file: str = "annotations/instances_{split}.json"
    coco_img_dir: str = "images/{split}"
    max_objs: int = 128
    radius_mode: Literal["centernet", "corrected"] = "centernet"
    bgr: bool = False
    crop_scale_range: tuple[float, float] | None = (0.5, 2.0)
    color_aug: bool = True


@dataclass
class DetEvalConfig(TestTimeConfig):
    """Test input (``input_size`` or CenterNet's keep-resolution padding), scales merged by NMS, flip test."""

    TASK: ClassVar[str] = "det"
    RANGES: ClassVar[dict[str, Bound]] = {
        "input_size": STRIDE_32,
        "max_dets": AT_LEAST_1,
        "nms_iou": FRACTION,
    }
    input_size: tuple[int, int] | None = None
    max_dets: int = 100
    nms_iou: float = 0.5
