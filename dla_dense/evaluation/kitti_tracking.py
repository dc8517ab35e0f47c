"""KITTI tracking metrics (HOTA, DetA, AssA, MOTA, IDF1, ID switches, FP, FN) by TrackEval's ``Kitti2DBox``: the
benchmark's 2D-box protocol, Car and Pedestrian at IoU 0.5, Van and Person (sitting) as distractors, ground truth
truncated (> 0) or occluded (> 2) not counted, unmatched tracks lower than 25 pixels or over half inside a DontCare
region dropped (CenterTrack's ``eval_kitti_track``). Tracks are written as ``label_02`` result lines, with their 3D
boxes when the tracker carries them.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.kitti_format import INVALID_ALPHA, INVALID_LOCATION, INVALID_SIZE
from ..data.kitti_tracking import KittiTrackTruth
from ..errors import DLADenseError
from .mot import MotEvaluator

#: The classes the protocol scores, as KITTI names them, and their distractor type.
SCORED = {"Car": "Van", "Pedestrian": "Person"}


def tracking_lines(frame: int, tracks: Mapping[str, Any], class_names: Sequence[str]) -> list[str]:
    """KITTI tracking result lines of one frame's tracks (``frame`` 0-based): frame, track id, type, -1, -1, alpha,
    2D box, h w l, x y z, rotation_y, score; the 3D values are KITTI's "not given" without ``locations``."""
    boxes = np.asarray(tracks["boxes"], np.float64).reshape(-1, 4)
    count = len(boxes)

    def values(name: str, width: int, missing: float) -> np.ndarray:
        if name not in tracks:
            return np.full((count, width), missing)
        return np.nan_to_num(np.asarray(tracks[name], np.float64).reshape(count, width), nan=missing)

    alpha = values("alpha", 1, INVALID_ALPHA)
    dims = values("dims", 3, INVALID_SIZE)
    locations = values("locations", 3, INVALID_LOCATION)
    rotation_y = values("rotation_y", 1, INVALID_ALPHA)
    rows = np.concatenate([alpha, boxes, dims, locations, rotation_y], 1)
    return [
        f"{frame} {int(track)} {class_names[int(label)]} -1 -1 " + " ".join(f"{v:.4f}" for v in row) + f" {s:.6f}\n"
        for track, label, row, s in zip(tracks["track_ids"], tracks["labels"], rows, tracks["scores"], strict=True)
    ]


class KittiTrackEvaluator(MotEvaluator):
    """Tracks of every frame of every sequence scored with TrackEval's KITTI protocol (the module docstring), per
    scored class among ``class_names`` (Car, Pedestrian); ``ground_truth``: sequence name ->
    :class:`~dla_dense.data.kitti_tracking.KittiTrackTruth`. :meth:`process` takes a frame item (``video``,
    ``frame_id``) and its tracks (``boxes``, ``scores``, ``labels``, ``track_ids``, and ``alpha``, ``dims``,
    ``locations``, ``rotation_y`` when 3D). Metrics as :class:`~dla_dense.evaluation.mot.MotEvaluator`'s."""

    def __init__(self, ground_truth: Mapping[str, KittiTrackTruth], class_names: Sequence[str]) -> None:
        self.ground_truth = dict(ground_truth)
        self.class_names = tuple(class_names)
        self.scored = tuple(name for name in self.class_names if name in SCORED)
        if not self.scored:
            raise DLADenseError(
                f"KITTI tracking scores Car and Pedestrian; the trained classes are {', '.join(self.class_names)}. "
                "Train one of them (data.classes)"
            )
        self.reset()

    def process(self, batch: Mapping[str, Any], predictions: Mapping[str, Any]) -> None:
        frame = int(batch["frame_id"]) - 1
        self.rows[batch["video"]].append((frame, tracking_lines(frame, predictions, self.class_names)))

    def write(self, out: Path) -> str:
        """One KITTI tracking result file per sequence (every class, frames 0-based) in the folder ``out``."""
        for seq in self.ground_truth:
            _write(out / f"{seq}.txt", self._lines(seq))
        return f"KITTI tracking result files of {len(self.ground_truth)} sequences written to {out}"

    def _lines(self, sequence: str) -> list[str]:
        """The result lines of ``sequence``, in frame order."""
        return [line for _, lines in sorted(self.rows[sequence], key=lambda part: part[0]) for line in lines]

    def trackeval_results(self) -> tuple[dict[str, dict[str, dict]], dict[str, dict[str, bool]]]:
        import trackeval

        per_class: dict[str, dict[str, dict]] = {}
        has_truth: dict[str, dict[str, bool]] = {}
        with tempfile.TemporaryDirectory(prefix="dla_dense_kitti_track_") as tmp:
            gt, trackers = Path(tmp) / "gt", Path(tmp) / "trackers"
            seqmap = []
            for seq, truth in self.ground_truth.items():
                _write(gt / "label_02" / f"{seq}.txt", [truth.text().replace(" Person_sitting ", " Person ")])
                _write(trackers / "dla_dense" / "data" / f"{seq}.txt", self._lines(seq))
                seqmap.append(f"{seq} empty 000000 {truth.length:06d}\n")
            _write(gt / "evaluate_tracking.seqmap.val", seqmap)
            eval_config = trackeval.Evaluator.get_default_eval_config()
            eval_config.update(PRINT_RESULTS=False, PRINT_CONFIG=False, TIME_PROGRESS=False, OUTPUT_SUMMARY=False)
            eval_config.update(OUTPUT_DETAILED=False, PLOT_CURVES=False, LOG_ON_ERROR=None, DISPLAY_LESS_PROGRESS=True)
            dataset_config = trackeval.datasets.Kitti2DBox.get_default_dataset_config()
            dataset_config.update(
                GT_FOLDER=str(gt),
                TRACKERS_FOLDER=str(trackers),
                TRACKERS_TO_EVAL=["dla_dense"],
                CLASSES_TO_EVAL=[name.lower() for name in self.scored],
                SPLIT_TO_EVAL="val",
                PRINT_CONFIG=False,
                OUTPUT_FOLDER=str(Path(tmp) / "out"),
            )
            metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False})]
            metrics.append(trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False}))
            with contextlib.redirect_stdout(io.StringIO()):
                results, _ = trackeval.Evaluator(eval_config).evaluate(
                    [trackeval.datasets.Kitti2DBox(dataset_config)], metrics
                )
        found = results["Kitti2DBox"]["dla_dense"]
        for name in self.scored:
            per_class[name] = {seq: value[name.lower()] for seq, value in found.items()}
            counted = has_truth[name] = {seq: _counted(truth, name) for seq, truth in self.ground_truth.items()}
            counted["COMBINED_SEQ"] = any(counted.values())
        return per_class, has_truth


def _counted(truth: KittiTrackTruth, name: str) -> bool:
    """Whether the sequence has ground truth of class ``name`` the protocol counts (truncation 0, occlusion <= 2)."""
    o = truth.objects
    kept = (o.truncated <= 0) & (o.occluded <= 2)
    return bool((np.array([t == name for t in o.types], bool) & kept).any())


def _write(path: Path, lines: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
