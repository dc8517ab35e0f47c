"""Deterministic synthetic datasets, written on first use: the demos' data and the tests'.

- :mod:`.cityscapes`: street scenes in the Cityscapes layout (segmentation);
- :mod:`.shapes`: shapes with boxes as a COCO json (detection);
- :mod:`.imagefolder`: one shape per image as an ImageFolder (classification).
"""

from .cityscapes import SYNTHETIC_CLASSES, make_synthetic_cityscapes, synthetic_cityscapes_exists
from .imagefolder import make_synthetic_imagefolder
from .shapes import make_synthetic_shapes, synthetic_shapes_split

__all__ = [
    "SYNTHETIC_CLASSES",
    "make_synthetic_cityscapes",
    "make_synthetic_imagefolder",
    "make_synthetic_shapes",
    "synthetic_cityscapes_exists",
    "synthetic_shapes_split",
]
