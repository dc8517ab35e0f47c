"""Datasets, image reading and transforms."""

from ..images import load_image, sample_image_path
from .cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, ID_TO_TRAIN_ID, CityscapesSegDataset
from .coco import CocoDetDataset
from .folder import SegFolderDataset, default_palette
from .synthetic.cityscapes import SYNTHETIC_CLASSES, make_synthetic_cityscapes, synthetic_cityscapes_exists
from .transforms import build_seg_eval_transform, build_seg_train_transform

__all__ = [
    "CITYSCAPES_CLASSES",
    "CITYSCAPES_PALETTE",
    "ID_TO_TRAIN_ID",
    "SYNTHETIC_CLASSES",
    "CityscapesSegDataset",
    "CocoDetDataset",
    "SegFolderDataset",
    "build_seg_eval_transform",
    "build_seg_train_transform",
    "default_palette",
    "load_image",
    "make_synthetic_cityscapes",
    "sample_image_path",
    "synthetic_cityscapes_exists",
]
