"""Multi-object tracking metrics (HOTA, DetA, AssA, MOTA, IDF1, ID switches, FP, FN) computed by TrackEval.

Tracks are written as MOT Challenge result files and scored by TrackEval's ``MotChallenge2DBox`` with its
official preprocessing (ground truth with flag 0 ignored, tracks matched to distractor classes removed), one
run per class (each class scored as TrackEval's ``pedestrian``); several classes are combined by TrackEval's
class averaging.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.mot_format import CLASS, FLAG, FRAME, MOT_DISTRACTORS, GroundTruth, mot_rows, write_mot
from ..dist import DistInfo, gather_objects
from .base import Evaluator
from .undefined import UNDEFINED, is_defined

#: Headline metrics, in table order.
MOT_METRICS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN")
_COUNTS = ("IDSW", "FP", "FN")
#: The metrics that need ground-truth objects (undefined, NaN, without any).
_RATIOS = tuple(m for m in MOT_METRICS if m not in _COUNTS)


def trackeval_metrics(gt_folder: Path, tracker_folder: Path, sequences: Mapping[str, int]) -> dict[str, dict]:
    """TrackEval's HOTA, CLEAR and Identity results of the tracker ``tracker_folder/data/<seq>.txt`` against
    ``gt_folder/<seq>/gt/gt.txt``: ``{sequence or 'COMBINED_SEQ': {'HOTA': {...}, 'CLEAR': {...}, 'Identity':
    {...}}}`` for class ``pedestrian``."""
    import trackeval

    eval_config = trackeval.Evaluator.get_default_eval_config()
    eval_config.update(
        PRINT_RESULTS=False, PRINT_CONFIG=False, TIME_PROGRESS=False, OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False
    )
    eval_config.update(PLOT_CURVES=False, LOG_ON_ERROR=None, DISPLAY_LESS_PROGRESS=True)
    dataset_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
    dataset_config.update(
        GT_FOLDER=str(gt_folder),
        TRACKERS_FOLDER=str(tracker_folder.parent),
        TRACKERS_TO_EVAL=[tracker_folder.name],
        SKIP_SPLIT_FOL=True,
        SEQ_INFO=dict(sequences),
        PRINT_CONFIG=False,
        OUTPUT_FOLDER=str(tracker_folder.parent / "out"),
    )
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False})]
    metrics.append(trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False}))
    with contextlib.redirect_stdout(io.StringIO()):
        results, _ = trackeval.Evaluator(eval_config).evaluate(
            [trackeval.datasets.MotChallenge2DBox(dataset_config)], metrics
        )
    found = results["MotChallenge2DBox"][tracker_folder.name]
    return {seq: value["pedestrian"] for seq, value in found.items()}


def summary(result: Mapping[str, Mapping[str, Any]], *, defined: bool = True) -> dict[str, float]:
    """The headline numbers of one TrackEval result (``{'HOTA': .., 'CLEAR': .., 'Identity': ..}``): HOTA, DetA
    and AssA averaged over the 19 localisation thresholds, MOTA, IDF1 and the counts; ``defined=False`` (no
    ground-truth object): NaN instead of the ratios, which TrackEval then gives as 0 or less."""
    hota, clear, identity = result["HOTA"], result["CLEAR"], result["Identity"]
    values = {
        "HOTA": float(np.mean(hota["HOTA"])),
        "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])),
        "MOTA": float(clear["MOTA"]),
        "IDF1": float(identity["IDF1"]),
        "IDSW": float(clear["IDSW"]),
        "FP": float(clear["CLR_FP"]),
        "FN": float(clear["CLR_FN"]),
    }
    return values if defined else {**values, **dict.fromkeys(_RATIOS, float("nan"))}


def combine_classes(
    per_class: Mapping[str, Mapping[str, dict]], has_truth: Mapping[str, Mapping[str, bool]]
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, float]]:
    """The headline numbers of each class and sequence (:func:`summary`) and the metrics over all: one class's
    own, or TrackEval's class average of the classes with ground-truth objects (counts summed over every class),
    with ``<metric>/<class>`` of each class."""
    import trackeval

    per_sequence = {
        name: {seq: summary(result, defined=has_truth[name][seq]) for seq, result in results.items()}
        for name, results in per_class.items()
    }
    if len(per_class) == 1:
        return per_sequence, dict(next(iter(per_sequence.values()))["COMBINED_SEQ"])
    classes = {name: results["COMBINED_SEQ"] for name, results in per_class.items()}
    scored = {name: c for name, c in classes.items() if has_truth[name]["COMBINED_SEQ"]} or classes
    combined = summary(
        {
            key: metric.combine_classes_class_averaged({n: c[key] for n, c in scored.items()})
            for key, metric in (
                ("HOTA", trackeval.metrics.HOTA()),
                ("CLEAR", trackeval.metrics.CLEAR({"PRINT_CONFIG": False})),
                ("Identity", trackeval.metrics.Identity({"PRINT_CONFIG": False})),
            )
        },
        defined=any(found["COMBINED_SEQ"] for found in has_truth.values()),
    )
    for count in _COUNTS:  # every class's false positives and switches count, with or without objects
        combined[count] = sum(per_sequence[name]["COMBINED_SEQ"][count] for name in classes)
    metrics = dict(combined)
    for name, results in per_sequence.items():
        metrics.update({f"{key}/{name}": value for key, value in results["COMBINED_SEQ"].items()})
    return per_sequence, metrics


class MotEvaluator(Evaluator):
    """Tracks of every frame of every sequence, scored per class by TrackEval (see the module docstring).

    ``ground_truth``: sequence name -> :class:`GroundTruth`; ``class_ids``: the MOT class id of each label
    (label ``k`` is MOT class ``class_ids[k]``); with ``distractors`` (MOT Challenge data) the rows of
    :data:`MOT_DISTRACTORS` go with MOT class 1 (pedestrian). :meth:`process` takes a frame item (``video``,
    ``frame_id``) and its tracks
    (``boxes``, ``scores``, ``labels``, ``track_ids``, image pixels). Metrics: :data:`MOT_METRICS` over all
    classes and sequences (HOTA etc. as fractions, counts as numbers), and ``<metric>/<class>`` per class when
    there are several. HOTA, DetA, AssA, MOTA and IDF1 of a class (or sequence) without ground-truth objects are
    undefined (NaN); the combined ones average the classes that have objects.
    """

    def __init__(
        self,
        ground_truth: Mapping[str, GroundTruth],
        class_names: Sequence[str],
        class_ids: Sequence[int],
        *,
        distractors: bool = True,
    ) -> None:
        for sequence, truth in ground_truth.items():
            truth.check(sequence)
        self.distractors = distractors
        self.ground_truth = dict(ground_truth)
        self.class_names = tuple(class_names)
        self.class_ids = tuple(class_ids)
        self.reset()

    def reset(self) -> None:
        self.rows: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {seq: [] for seq in self.ground_truth}
        self.per_sequence: dict[str, dict[str, dict[str, float]]] = {}

    def process(self, batch: Mapping[str, Any], predictions: Mapping[str, Any]) -> None:
        labels = np.asarray(predictions["labels"]).reshape(-1)
        rows = mot_rows(int(batch["frame_id"]), predictions)
        rows[:, CLASS] = np.asarray(self.class_ids)[labels] if len(labels) else rows[:, CLASS]
        self.rows[batch["video"]].append((rows, labels))

    def gather(self, dist: DistInfo) -> None:
        merged: dict[str, list] = {seq: [] for seq in self.ground_truth}
        for part in gather_objects(self.rows):
            for seq, rows in part.items():
                merged[seq].extend(rows)
        self.rows = merged

    def tracker_rows(self, sequence: str, label: int | None = None) -> np.ndarray:
        """The result rows ``[N, 10]`` of ``sequence`` (of one ``label``), in frame order."""
        parts = [rows[labels == label] if label is not None else rows for rows, labels in self.rows[sequence]]
        rows = np.concatenate(parts) if parts else np.zeros((0, 10))
        return rows[np.argsort(rows[:, FRAME], kind="stable")]

    def write(self, out: Path) -> str:
        """One MOT result file per sequence (every class; the MOT class id in column 8, as in ``gt.txt``) in the
        folder ``out``."""
        for seq in self.ground_truth:
            write_mot(out / f"{seq}.txt", self.tracker_rows(seq))
        return f"MOT result files of {len(self.ground_truth)} sequences written to {out}"

    def compute(self) -> dict[str, float]:
        self.per_sequence, self.metrics = combine_classes(*self.trackeval_results())
        return self.metrics

    def trackeval_results(self) -> tuple[dict[str, dict[str, dict]], dict[str, dict[str, bool]]]:
        """TrackEval's results per class name and sequence (and ``COMBINED_SEQ``), and whether each has
        ground-truth objects."""
        per_class: dict[str, dict[str, dict]] = {}
        has_truth: dict[str, dict[str, bool]] = {}
        lengths = {seq: gt.length for seq, gt in self.ground_truth.items()}
        with tempfile.TemporaryDirectory(prefix="dla_dense_mot_") as tmp:
            for label, (name, mot_class) in enumerate(zip(self.class_names, self.class_ids, strict=True)):
                root = Path(tmp) / f"class{label}"
                found = has_truth[name] = {}
                for seq, gt in self.ground_truth.items():
                    rows = gt.rows[gt.rows[:, CLASS] == mot_class].copy()
                    found[seq] = bool((rows[:, FLAG] != 0).any())
                    rows[:, CLASS] = 1
                    if mot_class == 1 and self.distractors:
                        rows = np.concatenate([rows, gt.rows[np.isin(gt.rows[:, CLASS], MOT_DISTRACTORS)]])
                    write_mot(root / "gt" / seq / "gt" / "gt.txt", rows[np.argsort(rows[:, FRAME], kind="stable")])
                    tracked = self.tracker_rows(seq, label)
                    tracked[:, CLASS] = -1  # one class per evaluation: TrackEval's MOT reader takes no class column
                    write_mot(root / "trackers" / "dla_dense" / "data" / f"{seq}.txt", tracked)
                per_class[name] = trackeval_metrics(root / "gt", root / "trackers" / "dla_dense", lengths)
                found["COMBINED_SEQ"] = any(found.values())
        return per_class, has_truth

    def table(self) -> str:
        """Per class and sequence, then the combined row: HOTA, DetA, AssA, MOTA, IDF1 (%) and the counts."""
        width = 10
        head = f"{'class':<14}{'sequence':<22}" + "".join(f"{m:>{width}}" for m in MOT_METRICS)
        lines = [head, "-" * len(head)]

        def cell(metric: str, value: float) -> str:
            if not is_defined(value):
                return f"{UNDEFINED:>{width}}"
            return f"{value:>{width}.0f}" if metric in _COUNTS else f"{100 * value:>{width}.1f}"

        def row(cls: str, seq: str, values: Mapping[str, float]) -> str:
            return f"{cls:<14}{seq:<22}" + "".join(cell(m, values[m]) for m in MOT_METRICS)

        for name, results in self.per_sequence.items():
            for seq, values in results.items():
                lines.append(row(name, "all" if seq == "COMBINED_SEQ" else seq, values))
        if len(self.per_sequence) > 1:
            lines.append(row("all classes", "all", self.metrics))
        return "\n".join(lines)
