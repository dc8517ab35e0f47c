"""Inference helpers."""

from .segmentation import predict_seg

__all__ = ["predict_seg"]
