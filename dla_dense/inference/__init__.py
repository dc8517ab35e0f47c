"""Inference helpers."""

from .fast import (
    bf16_autocast,
    fast_inference,
    find_conv_bn_pairs,
    fuse_conv_bn,
    keep_stem_float32,
    prepare_for_inference,
)
from .segmentation import predict_seg

__all__ = [
    "keep_stem_float32",
    "bf16_autocast",
    "fast_inference",
    "find_conv_bn_pairs",
    "fuse_conv_bn",
    "predict_seg",
    "prepare_for_inference",
]
