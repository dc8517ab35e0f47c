"""Semantic-segmentation metrics from a dataset-level confusion matrix (mIoU, aAcc, mAcc, per-class)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..dist import sum_tensor
from ..errors import DLADenseError
from .base import Evaluator
from .undefined import json_safe


class ConfusionMatrix:
    """Accumulates a ``[C, C]`` int64 confusion matrix (rows: ground truth, columns: prediction).

    Pixels whose target equals ``ignore_index`` are skipped. The matrix lives on the device of the
    first :meth:`update`. IoU follows cityscapesscripts' ``getIouScoreForLabel``: ``tp / (tp + fp + fn)``
    where ignored ground-truth pixels are never false positives, NaN when ``tp + fp + fn == 0``.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if num_classes < 1:
            raise DLADenseError(f"num_classes must be at least 1, got {num_classes}")
        if 0 <= ignore_index < num_classes:
            raise DLADenseError(
                f"ignore_index {ignore_index} is a class index (num_classes={num_classes}); "
                "use a value outside [0, num_classes), e.g. 255"
            )
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.mat: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        self.mat = None

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch: ``pred`` and ``target`` are integer ``[N, H, W]`` or ``[H, W]`` of the same shape.

        ``pred`` holds class indices in ``[0, C)`` (e.g. ``logits.argmax(1)``); ``target`` holds class
        indices or ``ignore_index``. Any other value raises :class:`DLADenseError`.
        """
        if pred.shape != target.shape:
            raise DLADenseError(f"prediction shape {tuple(pred.shape)} differs from label shape {tuple(target.shape)}")
        if pred.is_floating_point() or target.is_floating_point():
            raise DLADenseError("pred and target must be integer class maps; use logits.argmax(1) for pred")
        c = self.num_classes
        target = target.to(pred.device).reshape(-1).long()
        pred = pred.reshape(-1).long()
        keep = target != self.ignore_index
        bad_target = keep & ((target < 0) | (target >= c))
        bad_pred = keep & ((pred < 0) | (pred >= c))
        if bool((bad_target | bad_pred).any()):
            if bool(bad_target.any()):
                which, value = "label", int(target[bad_target][0])
            else:
                which, value = "prediction", int(pred[bad_pred][0])
            raise DLADenseError(
                f"{which} value {value} is outside [0, {c}) and is not ignore_index {self.ignore_index}; "
                "check num_classes and the label mapping"
            )
        counts = torch.bincount(target[keep] * c + pred[keep], minlength=c * c).reshape(c, c)
        if self.mat is None:
            self.mat = counts
        else:
            self.mat += counts.to(self.mat.device)

    def all_reduce(self) -> None:
        """Sum the matrix over all ``torch.distributed`` ranks, once, before :meth:`compute`.

        A no-op when ``torch.distributed`` is not initialised. Every rank must call it.
        """
        self.mat = sum_tensor(self.matrix())

    def matrix(self) -> torch.Tensor:
        """The accumulated ``[C, C]`` int64 matrix (zeros before any update)."""
        if self.mat is None:
            return torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)
        return self.mat

    def compute(self) -> dict[str, Any]:
        """Metrics as fractions in ``[0, 1]``.

        Returns ``{"IoU": float64 [C], "Acc": float64 [C], "mIoU", "aAcc", "mAcc"}``: per-class IoU and
        accuracy (``tp / (tp + fn)``) are NaN for classes absent from both ground truth and prediction
        (accuracy: absent from ground truth); the means skip NaN.
        """
        mat = self.matrix().cpu().numpy().astype(np.float64)
        tp = np.diag(mat)
        gt = mat.sum(axis=1)
        predicted = mat.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(gt + predicted - tp > 0, tp / (gt + predicted - tp), np.nan)
            acc = np.where(gt > 0, tp / gt, np.nan)
        total = gt.sum()
        return {
            "IoU": iou,
            "Acc": acc,
            "mIoU": _nanmean(iou),
            "aAcc": float(tp.sum() / total) if total > 0 else math.nan,
            "mAcc": _nanmean(acc),
        }


class SegEvaluator(Evaluator):
    """mIoU, pixel accuracy (``aAcc``), mean accuracy and per-class IoU (``IoU.<class>``) of label maps: processes
    ``(batch with "label" [N, H, W], predictions [N, H, W] class indices)`` into a :class:`ConfusionMatrix`,
    summed over processes by :meth:`gather`. ``save(batch, predictions)`` (e.g. label-id PNGs and overlays of
    each image) is called for every batch; :meth:`write` writes the metrics as ``metrics.json``."""

    def __init__(
        self,
        class_names: Sequence[str],
        ignore_index: int = 255,
        *,
        save: Callable[[Mapping[str, Any], torch.Tensor], None] | None = None,
    ) -> None:
        self.class_names = tuple(class_names)
        self.matrix = ConfusionMatrix(len(self.class_names), ignore_index)
        self.results: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.save = save

    def reset(self) -> None:
        self.matrix.reset()

    def process(self, batch: Mapping[str, Any], predictions: torch.Tensor) -> None:
        self.matrix.update(predictions, batch["label"].to(predictions.device))
        if self.save is not None:
            self.save(batch, predictions.cpu())

    def gather(self, dist_info: Any) -> None:
        self.matrix.all_reduce()

    def compute(self) -> dict[str, float]:
        self.results = self.matrix.compute()
        metrics = {k: float(self.results[k]) for k in ("mIoU", "aAcc", "mAcc")}
        metrics.update({f"IoU.{n}": float(v) for n, v in zip(self.class_names, self.results["IoU"], strict=True)})
        self.metrics = metrics
        return metrics

    def table(self) -> str:
        return format_table(self.results, self.class_names)

    def write(self, out: Path) -> str:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(json_safe(self.metrics), indent=2))
        return f"metrics.json and {'the predictions ' if self.save is not None else ''}written to {out}"


#: The summary metrics of :meth:`ConfusionMatrix.compute`, in the order tables print them.
SUMMARY = ("aAcc", "mIoU", "mAcc")


def _nanmean(values: np.ndarray) -> float:
    valid = values[~np.isnan(values)]
    return float(valid.mean()) if valid.size else math.nan


def format_table(results: Mapping[str, Any], class_names: Sequence[str] | None = None) -> str:
    """A per-class table (class, IoU %, Acc %; ``-`` for NaN) and a summary line, from :meth:`compute`."""
    iou, acc = results["IoU"], results["Acc"]
    names = [str(i) for i in range(len(iou))] if class_names is None else list(class_names)
    if len(names) != len(iou):
        raise DLADenseError(f"{len(names)} class names given for {len(iou)} classes")

    def pct(v: float) -> str:
        return "-" if math.isnan(v) else f"{100 * v:.2f}"

    width = max(len("Class"), *(len(n) for n in names))
    rule = f"+-{'-' * width}-+--------+--------+"
    lines = [rule, f"| {'Class':<{width}} |    IoU |    Acc |", rule]
    lines += [f"| {n:<{width}} | {pct(i):>6} | {pct(a):>6} |" for n, i, a in zip(names, iou, acc, strict=True)]
    summary = "  ".join(f"{k}: {'undefined' if math.isnan(results[k]) else pct(results[k])}" for k in SUMMARY)
    if math.isnan(results["aAcc"]):
        summary += "  (no labelled pixel: every label is ignore_index)"
    return "\n".join([*lines, rule, summary])
