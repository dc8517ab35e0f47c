"""Evaluation metrics."""

from .segmentation import ConfusionMatrix, SegEvaluator, format_table

__all__ = ["ConfusionMatrix", "SegEvaluator", "format_table"]
