"""The config schemas of the ``seg`` task: what its configs may set and the allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from ...registry import Registered
from ..base import AT_LEAST_0, AT_LEAST_1, POSITIVE, STRIDE_32, Bound, DataConfig, ModelConfig, TestTimeConfig


@dataclass
class SegModelConfig(ModelConfig):
    """``DLASeg``: ``down_ratio`` is the stride (2, 4 or 8) of the DLA-up output that ``fc`` classifies."""

    TASK: ClassVar[str] = "seg"
    task: str = "seg"
    down_ratio: Literal[2, 4, 8] = 2


@dataclass
class SegDataConfig(DataConfig):
    """Cityscapes (official layout) or folder pairs; ``scale_range`` is the random resize factor."""

    TASK: ClassVar[str] = "seg"
    RANGES: ClassVar[dict[str, Bound]] = {
        "crop_size": STRIDE_32,
        "scale_range": POSITIVE,
        "rotate": Bound(0, 180),
        "color_jitter": AT_LEAST_0,
        "ignore_index": AT_LEAST_0,
    }
    dataset: Annotated[str, Registered("segmentation source")] = "cityscapes"
    root: str = "data/cityscapes"
    palette: tuple[tuple[int, int, int], ...] | None = None
    img_dir: str = "images"
    ann_dir: str = "labels"
    img_suffix: str = ".png"
    ann_suffix: str = ".png"
    scale_range: tuple[float, float] | None = (0.5, 2.0)
    rotate: float = 10.0
    color_jitter: float = 0.3
    ignore_index: int = 255


@dataclass
class SegEvalConfig(TestTimeConfig):
    """Whole-image or sliding-window prediction, with scales and flip; ``tta_scales`` for ``--tta``."""

    TASK: ClassVar[str] = "seg"
    RANGES: ClassVar[dict[str, Bound]] = {"crop_size": STRIDE_32, "stride": AT_LEAST_1}
    mode: Literal["whole", "slide"] = "whole"
    crop_size: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
