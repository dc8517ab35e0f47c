"""The config schemas of the ``cls`` task: what its configs may set and the allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..base import AT_LEAST_0, Bound, DataConfig


@dataclass
class ClsDataConfig(DataConfig):
    """``root/<split>/<class>/*`` with timm's transforms: ``area_range`` is the random-resized-crop area fraction,
    ``color_jitter`` the colour jitter strength."""

    TASK: ClassVar[str] = "cls"
    RENAMED: ClassVar[dict[str, str]] = {"scale_range": "area_range"}
    RANGES: ClassVar[dict[str, Bound]] = {"area_range": Bound(0, 1, open_low=True), "color_jitter": AT_LEAST_0}
    dataset: Literal["imagefolder"] = "imagefolder"
    root: str = "data/imagefolder"
    crop_size: tuple[int, int] = (224, 224)
    area_range: tuple[float, float] = (0.08, 1.0)
    color_jitter: float = 0.4
