"""Evaluators with one shape (reset / process / gather / compute / table) and the loop that drives them:
segmentation mIoU, COCO boxes and keypoints, top-k accuracy."""

from .base import Comparison, Evaluator, run_evaluation
from .classification import TopKEvaluator
from .coco import COCO_METRICS, CocoEvaluator, CocoKeypointEvaluator, coco_evaluate, coco_results
from .segmentation import ConfusionMatrix, SegEvaluator, format_table

__all__ = [
    "COCO_METRICS",
    "CocoEvaluator",
    "CocoKeypointEvaluator",
    "ConfusionMatrix",
    "Evaluator",
    "SegEvaluator",
    "TopKEvaluator",
    "coco_evaluate",
    "coco_results",
    "format_table",
    "run_evaluation",
    "Comparison",
]
