"""Config sections shared by the CenterNet-family tasks (``det``, ``pose``, ``track``, ``fairmot``, ``ddd``,
``track3d``): the network and loss weights of the box heads, the 3D heads, object data with CenterNet's
augmentation, and the detection test keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..base import AT_LEAST_0, AT_LEAST_1, POSITIVE, STRIDE_32, Bound, DataConfig, EvalConfig, ModelConfig


@dataclass
class CenterNetModelConfig(ModelConfig):
    """CenterNet: decoder ``node`` type, head width and the loss weights of the box heads (``hm``, ``wh``,
    ``reg``) in CenterNet's trainer."""

    RANGES: ClassVar[dict[str, Bound]] = {
        name: AT_LEAST_0 for name in ("head_conv", "hm_weight", "wh_weight", "off_weight")
    }
    node: Literal["dcn", "conv"] = "dcn"
    head_conv: int = 256
    hm_weight: float = 1.0
    wh_weight: float = 0.1
    off_weight: float = 1.0


@dataclass
class Heads3dConfig(ModelConfig):
    """The monocular 3D heads' loss weights: ``rot`` (two bins), ``dim``, ``dep`` and, with ``amodal_offset``,
    CenterTrack's ``amodel_offset`` (the projected 3D centre)."""

    RANGES: ClassVar[dict[str, Bound]] = {
        name: AT_LEAST_0 for name in ("rot_weight", "dim_weight", "dep_weight", "amodel_offset_weight")
    }
    rot_weight: float = 1.0
    dim_weight: float = 1.0
    dep_weight: float = 1.0
    amodal_offset: bool = False
    amodel_offset_weight: float = 1.0


@dataclass
class EmbeddingConfig(ModelConfig):
    """FairMOT's embedding head: ``reid_dim > 0`` adds it (``id``, 128 in FairMOT), trained as identity
    classification over ``num_identities`` (None: the training data's count) with ``id_weighting``
    ``uncertainty`` (FairMOT's learned s_det / s_id) or ``fixed`` (``det + id_weight * id``)."""

    RANGES: ClassVar[dict[str, Bound]] = {"reid_dim": AT_LEAST_0, "num_identities": Bound(3), "id_weight": AT_LEAST_0}
    reid_dim: int = 0
    num_identities: int | None = None
    id_weighting: Literal["uncertainty", "fixed"] = "uncertainty"
    id_weight: float = 0.1


@dataclass
class ObjectDataConfig(DataConfig):
    """Object data with CenterNet's augmentation: up to ``max_objs`` objects an image, the random crop's side scaled
    within ``crop_scale_range`` (None: not scaled), ``color_aug`` its colour/lighting augmentation; ``bgr``: the
    network reads BGR."""

    RANGES: ClassVar[dict[str, Bound]] = {"crop_size": STRIDE_32, "max_objs": AT_LEAST_1, "crop_scale_range": POSITIVE}
    max_objs: int = 128
    bgr: bool = False
    crop_scale_range: tuple[float, float] | None = (0.5, 2.0)
    color_aug: bool = True


@dataclass
class ObjectEvalConfig(EvalConfig):
    """The test input (``input_size``; None: the image's own size padded to 32) and the ``max_dets`` best
    detections kept."""

    RANGES: ClassVar[dict[str, Bound]] = {"input_size": STRIDE_32, "max_dets": AT_LEAST_1}
    input_size: tuple[int, int] | None = None
    max_dets: int = 100
