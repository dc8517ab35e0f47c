"""KITTI tracking metrics through TrackEval's KITTI protocol, on cases counted by hand: an identity switch, tracks
on DontCare regions, vans, truncated cars and small boxes that do not count, a class the protocol does not score;
result lines carry the 3D boxes."""

from __future__ import annotations

import numpy as np
import pytest

from dla_dense.data.kitti_format import KittiObjects
from dla_dense.data.kitti_tracking import KittiTrackTruth
from dla_dense.errors import DLADenseError
from dla_dense.evaluation.kitti_tracking import KittiTrackEvaluator, tracking_lines

CLASSES = ("Pedestrian", "Car", "Cyclist")


def _truth(frames: int = 4) -> dict[str, KittiTrackTruth]:
    """Per frame: cars 0 and 1 and pedestrian 2 moving right 5 px a frame, a van (id 3), a car truncated at level
    1 (id 4) and a DontCare region; every box 60 px tall."""
    rows, names, ids, numbers = [], [], [], []
    objects = [(0, "Car", 100, 0), (1, "Car", 300, 0), (2, "Pedestrian", 500, 0), (3, "Van", 900, 0)]
    objects += [(4, "Car", 1100, 1), (-1, "DontCare", 700, -1)]
    for f in range(frames):
        for track, name, x, truncated in objects:
            move = 5 * f if track >= 0 else 0
            rows.append([truncated, 0, 0.1, x + move, 100, x + move + 60, 160, 1.5, 1.6, 3.9, 1, 1.6, 20, 0.2])
            names.append(name)
            ids.append(track)
            numbers.append(f)
    objects = KittiObjects.from_rows(names, np.array(rows, float))
    return {"0000": KittiTrackTruth(np.array(numbers), np.array(ids), objects, frames)}


def _tracks(f: int, boxes: list[list[float]], labels: list[int], ids: list[int]) -> dict[str, np.ndarray]:
    return {
        "boxes": np.array(boxes, float).reshape(-1, 4),
        "scores": np.full(len(ids), 0.9),
        "labels": np.array(labels),
        "track_ids": np.array(ids),
    }


def test_an_identity_switch_and_what_the_protocol_does_not_count():
    evaluator = KittiTrackEvaluator(_truth(), CLASSES)
    for f in range(4):
        m = 5 * f
        boxes = [[100 + m, 100, 160 + m, 160], [300 + m, 100, 360 + m, 160], [500 + m, 100, 560 + m, 160]]
        boxes += [[900 + m, 100, 960 + m, 160]]  # on the van: not a false positive
        boxes += [[1100 + m, 100, 1160 + m, 160]]  # on the truncated car: neither a hit nor a false positive
        boxes += [[700, 100, 760, 160]]  # on the DontCare region
        boxes += [[1300, 100, 1330, 120]]  # 20 px tall, matching nothing: dropped
        boxes += [[1500, 100, 1560, 160]]  # a cyclist: not scored
        second_car = 2 if f < 2 else 5  # an identity switch at frame 2
        ids = [1, second_car, 3, 4, 6, 7, 8, 9]
        evaluator.process({"video": "0000", "frame_id": f + 1}, _tracks(f, boxes, [1, 1, 0, 1, 1, 1, 1, 2], ids))
    metrics = evaluator.compute()
    # Car: 8 counted objects, all found, one switch: MOTA = (8 - 0 - 1) / 8; IDF1 = 2 * 6 / (8 + 8) (IDTP 6)
    assert metrics["MOTA/Car"] == pytest.approx(7 / 8)
    assert metrics["IDF1/Car"] == pytest.approx(0.75)
    assert (metrics["IDSW/Car"], metrics["FP/Car"], metrics["FN/Car"]) == (1, 0, 0)
    assert metrics["MOTA/Pedestrian"] == 1 and metrics["HOTA/Pedestrian"] == pytest.approx(1)
    assert metrics["MOTA"] == pytest.approx((7 / 8 + 1) / 2) and metrics["IDSW"] == 1
    assert "Cyclist" not in evaluator.table() and "Car" in evaluator.table()


def test_misses_and_false_positives_count():
    evaluator = KittiTrackEvaluator(_truth(2), ("Car",))
    for f in range(2):
        boxes = [[100 + 5 * f, 100, 160 + 5 * f, 160], [1300, 200, 1360, 260]]  # car 1 missed, one box on nothing
        evaluator.process({"video": "0000", "frame_id": f + 1}, _tracks(f, boxes, [0, 0], [1, 2]))
    metrics = evaluator.compute()
    assert (metrics["FN"], metrics["FP"]) == (2, 2)
    assert metrics["MOTA"] == pytest.approx((4 - 2 - 2) / 4)


def test_result_lines_carry_3d_boxes_or_say_none():
    tracks = _tracks(0, [[1, 2, 3, 4]], [1], [7])
    plain = tracking_lines(3, tracks, CLASSES)[0].split()
    assert plain[:5] == ["3", "7", "Car", "-1", "-1"] and plain[5] == "-10.0000" and plain[10:13] == ["-1.0000"] * 3
    tracks.update(alpha=np.array([0.5]), dims=np.array([[1.5, 1.6, 3.9]]), locations=np.array([[1.0, 1.6, 20.0]]))
    tracks["rotation_y"] = np.array([0.55])
    placed = tracking_lines(3, tracks, CLASSES)[0].split()
    assert [float(v) for v in placed[5:17]] == pytest.approx([0.5, 1, 2, 3, 4, 1.5, 1.6, 3.9, 1.0, 1.6, 20.0, 0.55])
    assert float(placed[17]) == pytest.approx(0.9)


def test_a_task_without_a_scored_class_is_one_line():
    with pytest.raises(
        DLADenseError, match="KITTI tracking scores Car and Pedestrian; the trained classes are Cyclist"
    ):
        KittiTrackEvaluator(_truth(), ("Cyclist",))
