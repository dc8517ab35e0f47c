"""MOT metrics: the evaluator's numbers equal TrackEval's own run on the same files, and a hand-counted case."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dla_dense.data.mot_format import GroundTruth, write_mot
from dla_dense.dist import DistInfo
from dla_dense.evaluation.mot import MotEvaluator, summary, trackeval_metrics


def _gt() -> np.ndarray:
    """Two pedestrians over 6 frames, a distractor (class 8), a flag-0 row and a car (class 3)."""
    rows = []
    for f in range(1, 7):
        rows.append([f, 1, 10 + 5 * f, 10, 20, 40, 1, 1, 1.0])
        rows.append([f, 2, 100, 20, 20, 40, 1, 1, 0.8])
        rows.append([f, 3, 200, 50, 30, 30, 1, 8, 1.0])  # distractor: matched tracks are not FPs
        rows.append([f, 4, 300, 50, 30, 60, 0, 1, 1.0])  # flag 0: ignored
        rows.append([f, 5, 50, 150, 40, 20, 1, 3, 1.0])  # a car
    return np.array(rows, np.float64)


def _tracks(frame: int) -> dict:
    """Pedestrian 1 tracked with an id switch at frame 4; pedestrian 2 missed at frame 3 (fragment); a track on
    the distractor; a false positive at frame 6; the car tracked throughout."""
    boxes, ids, labels = [[10 + 5 * frame, 10, 30 + 5 * frame, 50]], [1 if frame < 4 else 7], [0]
    if frame != 3:
        boxes.append([100, 20, 120, 60])
        ids.append(2)
        labels.append(0)
    boxes.append([200, 50, 230, 80])
    ids.append(3)
    labels.append(0)
    if frame == 6:
        boxes.append([400, 400, 420, 440])
        ids.append(9)
        labels.append(0)
    boxes.append([50, 150, 90, 170])
    ids.append(11)
    labels.append(1)
    n = len(boxes)
    return {
        "boxes": np.array(boxes, np.float32),
        "scores": np.full(n, 0.9),
        "labels": np.array(labels),
        "track_ids": np.array(ids),
    }


@pytest.fixture(scope="module")
def evaluated():
    evaluator = MotEvaluator({"SEQ-01": GroundTruth(_gt(), 6)}, ("pedestrian", "car"), (1, 3))
    for frame in range(1, 7):
        evaluator.process({"video": "SEQ-01", "frame_id": frame}, _tracks(frame))
    evaluator.gather(DistInfo())
    return evaluator, evaluator.compute()


def test_pedestrian_numbers_equal_trackeval_on_the_same_files(evaluated, tmp_path):
    evaluator, metrics = evaluated
    write_mot(tmp_path / "gt" / "SEQ-01" / "gt" / "gt.txt", _gt()[np.isin(_gt()[:, 7], (1, 2, 7, 8, 12))])
    rows = evaluator.tracker_rows("SEQ-01", 0)
    write_mot(tmp_path / "trk" / "ref" / "data" / "SEQ-01.txt", rows)
    reference = summary(trackeval_metrics(tmp_path / "gt", tmp_path / "trk" / "ref", {"SEQ-01": 6})["COMBINED_SEQ"])
    assert {k: metrics[f"{k}/pedestrian"] for k in reference} == pytest.approx(reference, abs=1e-12)


def test_pedestrian_counts_by_hand(evaluated):
    _, metrics = evaluated
    # gt objects 2 x 6 = 12; missed one (FN 1); the distractor track is removed; one FP; one id switch.
    assert metrics["FN/pedestrian"] == 1 and metrics["FP/pedestrian"] == 1 and metrics["IDSW/pedestrian"] == 1
    assert metrics["MOTA/pedestrian"] == pytest.approx((11 - 1 - 1) / 12)
    # IDF1: id 1 covers 3 frames of object 1, id 7 the other 3; object 2 fully by id 2 minus one miss.
    idtp = 3 + 5
    assert metrics["IDF1/pedestrian"] == pytest.approx(idtp / (idtp + 0.5 * (12 - idtp) + 0.5 * (12 - idtp)))


def test_car_class_and_class_average(evaluated):
    _, metrics = evaluated
    assert metrics["MOTA/car"] == 1 and metrics["IDF1/car"] == 1 and metrics["HOTA/car"] > 0.9
    assert metrics["MOTA"] == pytest.approx((metrics["MOTA/car"] + metrics["MOTA/pedestrian"]) / 2)
    assert metrics["IDSW"] == 1  # counts add up over classes


def test_table_lists_classes_and_sequences(evaluated):
    evaluator, _ = evaluated
    table = evaluator.table()
    assert "SEQ-01" in table and "car" in table and "all classes" in table and "IDF1" in table


def _evaluate(ground_truth: dict, classes=("pedestrian",), class_ids=(1,), tracks=None) -> MotEvaluator:
    evaluator = MotEvaluator(ground_truth, classes, class_ids)
    for seq, truth in ground_truth.items():
        for frame in range(1, truth.length + 1):
            evaluator.process({"video": seq, "frame_id": frame}, (tracks or _tracks)(frame))
    evaluator.gather(DistInfo())
    evaluator.compute()
    return evaluator


def test_a_split_without_ground_truth_objects_is_undefined_not_zero():
    """Tracks but no object: HOTA, MOTA, IDF1 ... cannot be defined (TrackEval says 0); the FPs still count."""

    def pedestrians(frame: int) -> dict:
        tracks = _tracks(frame)
        return {k: v[tracks["labels"] == 0] for k, v in tracks.items()}

    evaluator = _evaluate({"SEQ-01": GroundTruth(np.zeros((0, 9)), 6)}, tracks=pedestrians)
    metrics = evaluator.metrics
    assert all(np.isnan(metrics[k]) for k in ("HOTA", "DetA", "AssA", "MOTA", "IDF1"))
    assert metrics["FP"] > 0 and metrics["FN"] == 0
    assert "undefined" in evaluator.table() and "nan" not in evaluator.table().lower()


def test_a_class_without_objects_is_undefined_and_left_out_of_the_average():
    gt = _gt()
    evaluator = _evaluate({"SEQ-01": GroundTruth(gt[gt[:, 7] != 3], 6)}, ("pedestrian", "car"), (1, 3))
    metrics = evaluator.metrics
    assert np.isnan(metrics["MOTA/car"]) and metrics["FP/car"] == 6
    assert metrics["MOTA"] == metrics["MOTA/pedestrian"] and metrics["FP"] == metrics["FP/pedestrian"] + 6


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([[1, -1, 0, 0, 5, 5, 1, 1, 1]], "without a track id (frame 1)"),
        ([[2, 4, 0, 0, 5, 5, 1, 1, 1], [2, 4, 9, 9, 5, 5, 1, 1, 1]], "track id 4 twice in frame 2"),
    ],
)
def test_ground_truth_trackeval_cannot_score_is_refused_before_any_work(rows, needle):
    from dla_dense.errors import DLADenseError

    with pytest.raises(DLADenseError, match=re.escape(needle)):
        MotEvaluator({"SEQ-01": GroundTruth(np.array(rows, np.float64), 3)}, ("pedestrian",), (1,))
