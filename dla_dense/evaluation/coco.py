"""COCO box and keypoint AP through pycocotools: detections to COCO results, COCOeval with a per-class table, and
the evaluators of detectors and keypoint models."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ..data.coco import CocoDetDataset, load_coco_json
from ..dist import DistInfo, gather_objects
from .base import Evaluator

#: Names of the COCOeval summary numbers, in ``COCOeval.stats`` order (fractions in [0, 1], NaN = undefined).
COCO_METRICS: tuple[str, ...] = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
#: Names of COCOeval's keypoint summary numbers (``iouType="keypoints"``), in ``COCOeval.stats`` order.
COCO_KEYPOINT_METRICS: tuple[str, ...] = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def _as_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
    return np.asarray(x)


def coco_results(detections: Mapping[int, Any], dataset: CocoDetDataset) -> list[dict[str, Any]]:
    """COCO results dicts ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` from detections.

    ``detections`` maps an image id to either ``{"boxes": [K, 4], "scores": [K], "labels": [K]}`` or an array
    ``[K, 6]`` (x1, y1, x2, y2, score, label), boxes in input-image pixels and labels in ``[0, C)``
    (numpy or torch). Labels become the dataset's original category ids.
    """
    results = []
    for image_id, det in detections.items():
        if isinstance(det, Mapping):
            boxes, scores, labels = (_as_numpy(det[key]) for key in ("boxes", "scores", "labels"))
        else:
            arr = _as_numpy(det).reshape(-1, 6)
            boxes, scores, labels = arr[:, :4], arr[:, 4], arr[:, 5]
        boxes = boxes.reshape(-1, 4).astype(np.float64)
        scores = scores.reshape(-1).astype(np.float64)
        labels = labels.reshape(-1).astype(np.int64)
        if not len(boxes) == len(scores) == len(labels):
            raise ValueError(
                f"coco_results: image {image_id} has {len(boxes)} boxes, {len(scores)} scores, {len(labels)} labels"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= len(dataset.cat_ids)):
            raise ValueError(f"coco_results: image {image_id} has labels outside [0, {len(dataset.cat_ids)})")
        for (x1, y1, x2, y2), score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist(), strict=True):
            results.append(
                {
                    "image_id": int(image_id),
                    "category_id": dataset.cat_ids[label],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": score,
                }
            )
    return results


def _empty_results(gt: COCO) -> COCO:
    res = COCO()
    res.dataset = {
        "images": list(gt.dataset["images"]),
        "categories": list(gt.dataset["categories"]),
        "annotations": [],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        res.createIndex()
    return res


def _format_table(names: Sequence[str], values: Sequence[float]) -> str:
    width = max([len("class"), *(len(n) for n in names)])
    lines = [f"{'class':<{width}}  AP", f"{'-' * width}  ------"]
    lines += [
        f"{name:<{width}}  {'-' if ap < 0 else f'{100 * ap:6.2f}'}" for name, ap in zip(names, values, strict=True)
    ]
    return "\n".join(lines)


def coco_evaluate(
    dataset_or_ann_file: CocoDetDataset | str | os.PathLike,
    results: list[dict],
    *,
    iou_type: str = "bbox",
    sigmas: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Box AP (``iou_type="bbox"``) or keypoint AP (``"keypoints"``, OKS with per-joint ``sigmas``; COCO's person
    sigmas when None) of COCO ``results`` against the ground truth, with COCOeval.

    Returns the COCOeval numbers under :data:`COCO_METRICS` (bbox, 12) or :data:`COCO_KEYPOINT_METRICS`
    (keypoints, 10), fractions, NaN where undefined (COCOeval's -1: no ground truth of that kind); ``per_class``
    ``{name: AP@[.5:.95]}`` (-1 for a class without ground truth) and ``table``, the COCOeval summary followed by
    the per-class AP table. An empty ``results`` list scores 0.
    """
    if isinstance(dataset_or_ann_file, CocoDetDataset):
        gt = dataset_or_ann_file.coco
        cat_ids = list(dataset_or_ann_file.cat_ids)
        names = list(dataset_or_ann_file.classes)
        source = dataset_or_ann_file.ann_file
    else:
        source = Path(dataset_or_ann_file)
        gt = load_coco_json(source)
        cats = sorted(gt.dataset["categories"], key=lambda cat: cat["id"])
        cat_ids = [cat["id"] for cat in cats]
        names = [str(cat["name"]) for cat in cats]
    unknown = {r["image_id"] for r in results} - set(gt.imgs)
    if unknown:
        raise ValueError(f"coco_evaluate: results for image ids not in '{source}': {sorted(unknown)[:5]}")
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes([dict(r) for r in results]) if results else _empty_results(gt)
    evaluator = COCOeval(gt, dt, iouType=iou_type)
    evaluator.params.catIds = cat_ids
    if iou_type == "keypoints" and sigmas is not None:
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    names_of_stats = COCO_KEYPOINT_METRICS if iou_type == "keypoints" else COCO_METRICS
    metrics: dict[str, Any] = {
        name: float(v) if v >= 0 else math.nan for name, v in zip(names_of_stats, evaluator.stats, strict=True)
    }
    precision = evaluator.eval["precision"]  # [T, R, K, A, M]
    per_class = []
    evaluated = list(evaluator.params.catIds)
    for cat_id in cat_ids:
        p = precision[:, :, evaluated.index(cat_id), 0, -1]
        p = p[p > -1]
        per_class.append(float(p.mean()) if p.size else -1.0)
    metrics["per_class"] = dict(zip(names, per_class, strict=True))
    metrics["table"] = summary.getvalue().rstrip() + "\n\n" + _format_table(names, per_class)
    return metrics


class CocoEvaluator(Evaluator):
    """COCO box AP (COCOeval ``bbox``, per-class table) on a COCO-format ``dataset``: processes ``(item with
    "image_id", detections as named fields {"boxes", "scores", "labels"})``, one image per call; the detections
    of every process are gathered once."""

    def __init__(self, dataset: CocoDetDataset) -> None:
        self.dataset = dataset
        self.detections: dict[int, Mapping[str, Any]] = {}
        self.tables: list[str] = []
        self._results: list[dict[str, Any]] | None = None

    def reset(self) -> None:
        self.detections = {}
        self._results = None

    def process(self, batch: Mapping[str, Any], predictions: Mapping[str, Any]) -> None:
        self.detections[int(batch["image_id"])] = predictions

    def gather(self, dist: DistInfo) -> None:
        self.detections = {k: v for part in gather_objects(self.detections) for k, v in part.items()}

    def results(self) -> list[dict[str, Any]]:
        """COCO results json entries of every detection (``loadRes`` reads them)."""
        if self._results is None:
            self._results = coco_results(self.detections, self.dataset)
        return self._results

    def compute(self) -> dict[str, float]:
        summary = coco_evaluate(self.dataset, self.results())
        self.tables = [summary["table"]]
        return {k: v for k, v in summary.items() if isinstance(v, float)}

    def table(self) -> str:
        return "\n\n".join(self.tables)

    def write(self, out: Path) -> str:
        """The detections as a COCO results json file ``out``."""
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.results()))
        return f"detections written to {out}"


class CocoKeypointEvaluator(CocoEvaluator):
    """Keypoint AP (COCOeval ``keypoints``, OKS with one sigma per joint) beside box AP. Detections also carry
    ``keypoints`` ``[K, J, 2]``. With ``sigma_scale`` != 1 the keypoint AP is computed at the declared tolerance
    (``kp_*``) and at standard OKS (``kp_std_*``); box AP keeps its names."""

    def __init__(self, dataset: CocoDetDataset, sigmas: Sequence[float], sigma_scale: float = 1.0) -> None:
        super().__init__(dataset)
        self.sigmas = tuple(sigmas)
        self.sigma_scale = sigma_scale

    def results(self) -> list[dict[str, Any]]:
        """The box entries plus ``keypoints`` ``[x, y, 1] * J``."""
        if self._results is None:
            results = coco_results(self.detections, self.dataset)
            joints = [
                row for found in self.detections.values() for row in np.asarray(found["keypoints"], np.float64).tolist()
            ]
            for entry, points in zip(results, joints, strict=True):
                entry["keypoints"] = [v for x, y in points for v in (x, y, 1.0)]
            self._results = results
        return self._results

    def compute(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        tables = []
        runs = [("kp", self.sigma_scale)] + ([("kp_std", 1.0)] if self.sigma_scale != 1.0 else [])
        for prefix, factor in runs:
            sigmas = [s * factor for s in self.sigmas]
            summary = coco_evaluate(self.dataset, self.results(), iou_type="keypoints", sigmas=sigmas)
            kind = " (standard)" if factor == 1.0 else " (declared tolerance)"
            tables.append(f"keypoint OKS AP, sigmas x{factor:g}{kind}\n" + summary["table"])
            metrics.update({f"{prefix}_{k}": v for k, v in summary.items() if isinstance(v, float)})
        metrics.update(super().compute())
        self.tables = tables + self.tables
        return metrics
