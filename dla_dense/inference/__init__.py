"""Inference: segmentation and detection prediction, fast inference (folding, channels-last, bf16, compile)."""

from .detection import detect, transform_preds
from .fast import bf16_autocast, keep_stem_float32, prepare_for_inference
from .segmentation import predict_seg

__all__ = [
    "bf16_autocast",
    "detect",
    "keep_stem_float32",
    "predict_seg",
    "prepare_for_inference",
    "transform_preds",
]
