"""Evaluation metrics: segmentation confusion matrix and COCO box AP."""

from .coco import COCO_METRICS, coco_evaluate, coco_results
from .segmentation import ConfusionMatrix, SegEvaluator, format_table

__all__ = ["COCO_METRICS", "ConfusionMatrix", "SegEvaluator", "coco_evaluate", "coco_results", "format_table"]
