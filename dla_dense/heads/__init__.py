"""CenterNet-family heads, one per file, composed by :class:`CenterNetHeads` (see :mod:`.base` for the contract)."""

from .base import Fields, Head, Peaks, ToImage, Warp
from .box import BoxHead
from .composed import CenterNetHeads
from .keypoints import KeypointHead

__all__ = ["BoxHead", "CenterNetHeads", "Fields", "Head", "KeypointHead", "Peaks", "ToImage", "Warp"]
