"""The KITTI object benchmark's metrics, computed as its official devkit (``cpp/evaluate_object.cpp``) computes them:
2D AP and AOS on the image, bird's-eye-view AP and 3D AP, for Easy, Moderate and Hard, per class.

Per class, difficulty and measure: ground truth of the class within the difficulty's limits (box height > 40 / 25 /
25 px, occlusion ≤ 0 / 1 / 2, truncation ≤ 0.15 / 0.3 / 0.5) counts; the neighbour class (Van for Car,
Person_sitting for Pedestrian) and the class outside the limits are ignored (a detection on them is neither true
nor false); detections lower than the minimum height are ignored; detections mostly inside a ``DontCare`` region
are not false positives. Matching is greedy over the ground truth in file order with strict ``overlap >`` the
class's minimum (official: 0.7 / 0.5 / 0.5 for Car / Pedestrian / Cyclist). Up to 41 score thresholds are taken
from the true positives' scores at evenly spaced recall; the precision at each, made non-increasing from the right,
gives AP over 40 recall points (``R40``, the benchmark's since 2019: points 1..40) and 11 (``R11``: points 0, 4,
.., 40). A class none of whose detections has a box (or a 3D box) is not evaluated in that measure, as in the
devkit; AOS is left out when some detection has alpha = -10.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..data.kitti_format import INVALID_ALPHA, INVALID_LOCATION, KittiObjects, format_kitti_objects
from ..dist import DistInfo, gather_objects
from ..ops.boxes3d import FIRST, bev_overlaps, box3d_overlaps, image_overlaps
from .base import Evaluator

CLASSES = ("Car", "Pedestrian", "Cyclist")
DIFFICULTIES = ("easy", "moderate", "hard")
#: The measures: image boxes (2D, with AOS), bird's-eye view, 3D.
MEASURES = ("2d", "bev", "3d")
MIN_HEIGHT = (40, 25, 25)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)
#: Minimum overlap per measure and class (Car, Pedestrian, Cyclist): the benchmark's.
OFFICIAL_OVERLAPS = {"2d": (0.7, 0.5, 0.5), "bev": (0.7, 0.5, 0.5), "3d": (0.7, 0.5, 0.5)}
#: The loose overlaps CenterNet and many monocular papers report beside the official ones (0.5 for cars in 3D).
LOOSE_OVERLAPS = {"2d": (0.7, 0.5, 0.5), "bev": (0.5, 0.25, 0.25), "3d": (0.5, 0.25, 0.25)}
NEIGHBOURS = {"car": "van", "pedestrian": "person_sitting"}
N_SAMPLE_PTS = 41
NO_DETECTION = -10000000.0


@dataclass
class _Image:
    """One image prepared for one class and difficulty: which ground truth and detections count (0), are ignored
    (1) or are another class (-1), and the overlaps of every measure."""

    ignored_gt: np.ndarray
    ignored_det: np.ndarray
    scores: np.ndarray
    delta_alpha: np.ndarray  # [G, D] alpha_gt - alpha_det
    overlaps: np.ndarray  # [G, D]
    dontcare: np.ndarray  # [C, D] intersection over the detection's own area


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    similarity: float = 0.0


def _statistics(
    image: _Image, min_overlap: float, compute_fp: bool, thresh: float = 0.0, compute_aos: bool = False
) -> tuple[_Counts, list[float]]:
    """The devkit's ``computeStatistics`` of one image: counts and the scores of the true positives."""
    counts, scores = _Counts(), []
    n_det = len(image.scores)
    assigned = np.zeros(n_det, bool)
    below = image.scores < thresh if compute_fp else np.zeros(n_det, bool)
    usable = image.ignored_det != -1
    deltas = []
    for i, flag in enumerate(image.ignored_gt):
        if flag == -1:
            continue
        candidate = usable & ~assigned & ~below & (image.overlaps[i] > min_overlap)
        j = -1
        if not compute_fp:
            if candidate.any():
                j = int(np.flatnonzero(candidate)[np.argmax(image.scores[candidate])])
        else:
            valid = candidate & (image.ignored_det == 0)
            if valid.any():
                j = int(np.flatnonzero(valid)[np.argmax(image.overlaps[i][valid])])
            elif (candidate & (image.ignored_det == 1)).any():
                j = int(np.flatnonzero(candidate & (image.ignored_det == 1))[0])
        if j < 0:
            if flag == 0:
                counts.fn += 1
        elif flag == 1 or image.ignored_det[j] == 1:
            assigned[j] = True
        else:
            counts.tp += 1
            scores.append(float(image.scores[j]))
            if compute_aos:
                deltas.append(image.delta_alpha[i, j])
            assigned[j] = True
    if compute_fp:
        valid = (image.ignored_det == 0) & ~below
        counts.fp = int((valid & ~assigned).sum())
        stuff = 0
        for row in image.dontcare:
            inside = valid & ~assigned & (row > min_overlap)
            assigned |= inside
            stuff += int(inside.sum())
        counts.fp -= stuff
        if compute_aos:
            similarity = float(np.sum((1.0 + np.cos(np.array(deltas, np.float64))) / 2.0)) if deltas else 0.0
            counts.similarity = similarity if counts.tp > 0 or counts.fp > 0 else -1.0
    return counts, scores


def _thresholds(scores: list[float], n_gt: int) -> list[float]:
    """The devkit's ``getThresholds``: the scores (descending) nearest to 41 evenly spaced recalls."""
    v = sorted(scores, reverse=True)
    chosen, current = [], 0.0
    for i, score in enumerate(v):
        left = (i + 1) / n_gt
        right = (i + 2) / n_gt if i < len(v) - 1 else left
        if (right - current) < (current - left) and i < len(v) - 1:
            continue
        chosen.append(score)
        current += 1.0 / (N_SAMPLE_PTS - 1.0)
    return chosen


def _envelope(values: list[float], count: int) -> list[float]:
    """``values[i] = max(values[i:])`` for the first ``count`` entries, with C++'s ``max_element`` (NaN stays)."""
    out = list(values)
    for i in range(count):
        best = out[i]
        for value in out[i + 1 :]:
            if best < value:
                best = value
        out[i] = best
    return out


def _class_curves(images: Sequence[_Image], n_gt: int, min_overlap: float, compute_aos: bool) -> dict[str, list]:
    """The devkit's ``eval_class``: precision (and AOS) at the 41 sampled recalls."""
    found = []
    for image in images:
        found += _statistics(image, min_overlap, compute_fp=False)[1]
    thresholds = _thresholds(found, n_gt) if n_gt else []
    totals = [_Counts() for _ in thresholds]
    for image in images:
        seen: dict[bytes, _Counts] = {}  # thresholds that keep the same detections give the same counts
        usable = image.ignored_det != -1
        for t, thresh in enumerate(thresholds):
            key = (usable & (image.scores >= thresh)).tobytes()
            if key not in seen:
                seen[key] = _statistics(image, min_overlap, True, thresh, compute_aos)[0]
            counts = seen[key]
            totals[t].tp += counts.tp
            totals[t].fp += counts.fp
            totals[t].fn += counts.fn
            if counts.similarity != -1:
                totals[t].similarity += counts.similarity
    precision, aos = [0.0] * N_SAMPLE_PTS, [0.0] * N_SAMPLE_PTS
    for t, c in enumerate(totals[:N_SAMPLE_PTS]):
        precision[t] = c.tp / (c.tp + c.fp) if c.tp + c.fp else math.nan
        aos[t] = c.similarity / (c.tp + c.fp) if c.tp + c.fp else math.nan
    count = min(len(thresholds), N_SAMPLE_PTS)
    curves = {"precision": _envelope(precision, count)}
    if compute_aos:
        curves["aos"] = _envelope(aos, count)
    return curves


def _prepare(
    gt: KittiObjects, det: KittiObjects, cls: int, difficulty: int, overlaps: tuple[np.ndarray, np.ndarray]
) -> tuple[_Image, int]:
    """The devkit's ``cleanData`` for one image, class and difficulty, with the ``overlaps`` of one measure (of the
    ground truth ``[G, D]`` and of the DontCare regions ``[C, D]`` with the detections)."""
    name = CLASSES[cls].lower()
    gt_types = [t.lower() for t in gt.types]
    height = gt.boxes[:, 3] - gt.boxes[:, 1]
    ignore = (
        (gt.occluded > MAX_OCCLUSION[difficulty])
        | (gt.truncated > MAX_TRUNCATION[difficulty])
        | (height <= MIN_HEIGHT[difficulty])
    )
    own = np.array([t == name for t in gt_types], bool)
    neighbour = np.array([t == NEIGHBOURS.get(name) for t in gt_types], bool)
    ignored_gt = np.where(own & ~ignore, 0, np.where(neighbour | own, 1, -1))
    det_height = np.trunc(np.abs(det.boxes[:, 1] - det.boxes[:, 3]))
    det_own = np.array([t.lower() == name for t in det.types], bool)
    ignored_det = np.where(det_height < MIN_HEIGHT[difficulty], 1, np.where(det_own, 0, -1))
    image = _Image(
        ignored_gt=ignored_gt,
        ignored_det=ignored_det,
        scores=det.scores,
        delta_alpha=gt.alpha[:, None] - det.alpha[None, :],
        overlaps=overlaps[0],
        dontcare=overlaps[1],
    )
    return image, int((ignored_gt == 0).sum())


def _overlap_2d(det: KittiObjects, gt: KittiObjects, measure: str = "union") -> np.ndarray:
    return image_overlaps(det.boxes, gt.boxes, measure)


def _overlap_bev(det: KittiObjects, gt: KittiObjects, measure: str = "union") -> np.ndarray:
    return bev_overlaps(det.geometry(), gt.geometry(), measure)


def _overlap_3d(det: KittiObjects, gt: KittiObjects, measure: str = "union") -> np.ndarray:
    return box3d_overlaps(det.geometry(), gt.geometry(), measure)


OVERLAP_FUNCTIONS = {"2d": _overlap_2d, "bev": _overlap_bev, "3d": _overlap_3d}


def _evaluated(detections: Sequence[KittiObjects]) -> dict[str, set[int]]:
    """The classes each measure evaluates: those with a detection that gives it (the devkit's ``eval_*`` flags)."""
    flags: dict[str, set[int]] = {m: set() for m in MEASURES}
    for det in detections:
        for k, name in enumerate(det.types):
            if name.lower() not in [c.lower() for c in CLASSES]:
                continue
            cls = [c.lower() for c in CLASSES].index(name.lower())
            height, width, length = det.dims[k]
            x, y, z = det.locations[k]
            if det.boxes[k, 0] >= 0:
                flags["2d"].add(cls)
            if x != INVALID_LOCATION and z != INVALID_LOCATION and width > 0 and length > 0:
                flags["bev"].add(cls)
                if y != INVALID_LOCATION and height > 0:
                    flags["3d"].add(cls)
    return flags


def kitti_curves(
    ground_truth: Sequence[KittiObjects],
    detections: Sequence[KittiObjects],
    overlaps: Mapping[str, Sequence[float]] = OFFICIAL_OVERLAPS,
) -> dict[str, dict[str, list[float]]]:
    """The devkit's precision (and, for ``2d``, orientation similarity) at its 41 sampled recalls, image by image
    (``ground_truth[i]`` and ``detections[i]`` are one image's): ``{"<class>/<measure>/<difficulty>":
    {"precision": [41], "aos": [41]}}`` for the classes each measure evaluates."""
    if len(ground_truth) != len(detections):
        raise ValueError(f"{len(ground_truth)} ground-truth images but {len(detections)} detection images")
    compute_aos = not any((det.alpha == INVALID_ALPHA).any() for det in detections)
    evaluated = _evaluated(detections)
    curves = {}
    for measure in MEASURES:
        if not evaluated[measure]:
            continue
        overlap = OVERLAP_FUNCTIONS[measure]
        pairs = []
        for gt, det in zip(ground_truth, detections, strict=True):
            dontcare = gt.select(np.array([t.lower() == "dontcare" for t in gt.types], bool))
            pairs.append((overlap(det, gt).T, overlap(det, dontcare, FIRST).T))
        for cls in sorted(evaluated[measure]):
            for difficulty, level in enumerate(DIFFICULTIES):
                prepared = [
                    _prepare(gt, det, cls, difficulty, pair)
                    for gt, det, pair in zip(ground_truth, detections, pairs, strict=True)
                ]
                n_gt = sum(n for _, n in prepared)
                key = f"{CLASSES[cls]}/{measure}/{level}"
                aos = compute_aos and measure == "2d"
                curves[key] = _class_curves([p for p, _ in prepared], n_gt, overlaps[measure][cls], aos)
    return curves


def average_precision(curve: Sequence[float], points: int = 40) -> float:
    """AP of a 41-point curve: the mean over recall points 1..40 (``points=40``, R40) or 0, 4, .., 40 (11, R11)."""
    values = np.asarray(curve, np.float64)
    return float(values[1:].mean() if points == 40 else values[::4].mean())


def kitti_metrics(
    ground_truth: Sequence[KittiObjects],
    detections: Sequence[KittiObjects],
    overlaps: Mapping[str, Sequence[float]] = OFFICIAL_OVERLAPS,
) -> dict[str, float]:
    """AP (fractions in [0, 1]) as ``<class>/<measure>/<difficulty>/R40`` and ``/R11``, and AOS as
    ``<class>/aos/<difficulty>/R40`` / ``R11``, of :func:`kitti_curves`."""
    metrics = {}
    for key, curves in kitti_curves(ground_truth, detections, overlaps).items():
        cls, measure, level = key.split("/")
        for points, suffix in ((40, "R40"), (11, "R11")):
            metrics[f"{key}/{suffix}"] = average_precision(curves["precision"], points)
            if "aos" in curves:
                metrics[f"{cls}/aos/{level}/{suffix}"] = average_precision(curves["aos"], points)
    return metrics


def detections_to_kitti(found: Mapping[str, Any], classes: Sequence[str]) -> KittiObjects:
    """KITTI result rows of one image's decoded 3D detections (``boxes [K, 4]``, ``scores``, ``labels`` into
    ``classes``, ``alpha``, ``dims`` (h, w, l), ``locations``, ``rotation_y``; tensors or arrays)."""
    labels = np.asarray(found["labels"], np.int64).reshape(-1)

    def column(name: str, width: int = 0) -> np.ndarray:
        value = np.asarray(found[name], np.float64)
        return value.reshape(len(labels), width) if width else value.reshape(len(labels))

    return KittiObjects(
        types=tuple(classes[k] for k in labels),
        truncated=np.zeros(len(labels)),
        occluded=np.zeros(len(labels), np.int64),
        alpha=column("alpha"),
        boxes=column("boxes", 4),
        dims=column("dims", 3),
        locations=column("locations", 3),
        rotation_y=column("rotation_y"),
        scores=column("scores"),
    )


def at_depth(objects: KittiObjects, depth: float) -> KittiObjects:
    """``objects`` moved along their camera rays until their 3D centres ``(x, y - h/2, z)`` lie at ``z = depth``
    (size, yaw, observation angle and 2D box kept): the same detections with the depth of a constant guess."""
    centres = objects.locations - np.stack([np.zeros(len(objects)), objects.dims[:, 0] / 2, np.zeros(len(objects))], 1)
    scale = depth / np.maximum(centres[:, 2], 1e-6)
    moved = centres * scale[:, None] + (objects.locations - centres)
    return replace(objects, locations=moved)


class KittiEvaluator(Evaluator):
    """The KITTI object metrics (:func:`kitti_metrics`) of a :class:`~dla_dense.data.kitti.KittiDataset`: processes
    ``(item with "name", detections as named fields)`` one image per call; every image of the split is scored (an
    image without detections counts with none, as the devkit's empty result file). The headline ``metric`` is Car
    3D AP, moderate, R40; ``write`` gives one KITTI result file per image. With ``baseline_depth`` (metres) the same
    detections are also scored at that depth (:func:`at_depth`), under keys ``mean_depth/...``."""

    def __init__(
        self,
        dataset: Any,
        classes: Sequence[str],
        overlaps: Mapping[str, Sequence[float]] = OFFICIAL_OVERLAPS,
        *,
        baseline_depth: float | None = None,
    ):
        self.dataset = dataset
        self.classes = tuple(classes)
        self.overlaps = overlaps
        self.baseline_depth = baseline_depth
        self.found: dict[str, KittiObjects] = {}
        self.metrics: dict[str, float] = {}

    def reset(self) -> None:
        self.found = {}

    def process(self, batch: Mapping[str, Any], predictions: Mapping[str, Any]) -> None:
        self.found[str(batch["name"])] = detections_to_kitti(predictions, self.classes)

    def gather(self, dist: DistInfo) -> None:
        self.found = {k: v for part in gather_objects(self.found) for k, v in part.items()}

    def compute(self) -> dict[str, float]:
        names = list(self.dataset.names)
        truth = [self.dataset.ground_truth(i) for i in range(len(names))]
        found = [self.found.get(name, KittiObjects.empty()) for name in names]
        self.metrics = kitti_metrics(truth, found, self.overlaps)
        headline = self.metrics.get("Car/3d/moderate/R40", 0.0)
        if self.baseline_depth is not None:
            moved = [at_depth(objects, self.baseline_depth) for objects in found]
            baseline = kitti_metrics(truth, moved, self.overlaps)
            self.metrics.update({f"mean_depth/{key}": value for key, value in baseline.items()})
        return {"AP3D": headline, **self.metrics}

    def table(self) -> str:
        """AP per class, measure and difficulty (R40, and R11 in brackets), in percent."""
        lines = [f"{'class':<11}{'measure':<9}{'easy':>16}{'moderate':>16}{'hard':>16}"]
        for cls in CLASSES:
            for measure in ("2d", "aos", "bev", "3d"):
                if f"{cls}/{measure}/easy/R40" not in self.metrics:
                    continue
                key = f"{cls}/{measure}"
                cells = [
                    f"{100 * self.metrics[f'{key}/{level}/R40']:7.2f} ({100 * self.metrics[f'{key}/{level}/R11']:5.1f})"
                    for level in DIFFICULTIES
                ]
                lines.append(f"{cls:<11}{measure:<9}" + "".join(f"{c:>16}" for c in cells))
        if self.baseline_depth is not None:
            shown = [
                f"{cls} {measure} {100 * self.metrics[key]:.2f}"
                for cls in CLASSES
                for measure in ("bev", "3d")
                if (key := f"mean_depth/{cls}/{measure}/moderate/R40") in self.metrics
            ]
            lines.append(
                f"the same detections at the training set's mean depth ({self.baseline_depth:.2f} m), moderate R40: "
                + ", ".join(shown)
            )
        return "\n".join(lines)

    def write(self, out: Path) -> str:
        """One KITTI result file ``out/NNNNNN.txt`` per image of the split (empty where nothing was found)."""
        out.mkdir(parents=True, exist_ok=True)
        for name in self.dataset.names:
            (out / f"{name}.txt").write_text(format_kitti_objects(self.found.get(name, KittiObjects.empty())))
        return f"KITTI result files written to {out}"
