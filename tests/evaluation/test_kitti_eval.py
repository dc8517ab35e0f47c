"""KITTI object metrics: equal to the official devkit's curves on fixed cases (tests/golden/
make_kitti_devkit_golden.py compiled and ran it), hand-computed overlaps, and the label formats' errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from dla_dense.data.kitti_format import (
    KittiObjects,
    format_kitti_objects,
    parse_kitti_objects,
    read_kitti_calib,
    read_kitti_objects,
)
from dla_dense.errors import DLADenseError
from dla_dense.evaluation.kitti import at_depth, average_precision, kitti_curves, kitti_metrics
from dla_dense.ops.boxes3d import FIRST, bev_overlaps, box3d_corners, box3d_overlaps, image_overlaps

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "kitti_devkit_golden.json").read_text())


def _read(case: dict) -> tuple[list[KittiObjects], list[KittiObjects]]:
    labels = GOLDEN[case["labels"]]["labels"] if isinstance(case["labels"], str) else case["labels"]
    gts = [parse_kitti_objects(text, f"label {i}") for i, text in enumerate(labels)]
    dets = [parse_kitti_objects(text, f"result {i}", scores=True) for i, text in enumerate(case["results"])]
    return gts, dets


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_curves_equal_the_official_devkits(name):
    case = GOLDEN[name]
    curves = kitti_curves(*_read(case))
    ours = {}
    for key, value in curves.items():
        cls, measure, level = key.split("/")
        ours[key] = value["precision"]
        if "aos" in value:
            ours[f"{cls}/aos/{level}"] = value["aos"]
    assert set(ours) == set(case["curves"])  # the same classes and measures evaluated
    for key, expected in case["curves"].items():
        np.testing.assert_allclose(ours[key], expected, atol=1.5e-6, err_msg=key)  # the devkit prints 6 decimals


def test_the_cases_exercise_what_they_are_for():
    mixed = GOLDEN["mixed"]["curves"]
    assert 0.05 < average_precision(mixed["Car/3d/moderate"]) < 0.9 and "Cyclist/aos/hard" in mixed
    assert "Car/aos/easy" not in GOLDEN["no_aos"]["curves"]
    assert not any("/bev/" in k or "/3d/" in k for k in GOLDEN["boxes_only"]["curves"])
    perfect = kitti_metrics(*_read(GOLDEN["perfect"]))
    assert all(v == pytest.approx(1.0) for v in perfect.values()) and len(perfect) == 3 * 3 * 4 * 2


def test_ap_points():
    curve = [1.0] + [0.5] * 20 + [0.0] * 20
    assert average_precision(curve, 40) == pytest.approx(20 * 0.5 / 40)
    assert average_precision(curve, 11) == pytest.approx((1.0 + 5 * 0.5) / 11)  # recall 0 counts in R11


def _box(ry=0.0, x=0.0, y=0.0, z=0.0, h=1.0, w=1.0, length=1.0) -> dict[str, np.ndarray]:
    return {"dims": np.array([[h, w, length]]), "locations": np.array([[x, y, z]]), "rotation_y": np.array([ry])}


def test_overlaps_by_hand():
    assert bev_overlaps(_box(), _box())[0, 0] == pytest.approx(1.0)
    assert bev_overlaps(_box(), _box(math.pi / 4))[0, 0] == pytest.approx(1 / math.sqrt(2))
    car = {"h": 1.5, "w": 1.6, "length": 3.9, "z": 20.0}
    ahead = box3d_overlaps(_box(math.pi / 2, **car), _box(math.pi / 2, **{**car, "z": 20.69}))[0, 0]
    assert ahead == pytest.approx((3.9 - 0.69) / (3.9 + 0.69))  # along its length: crosses 0.7 near 0.69 m
    across = box3d_overlaps(_box(0.0, **car), _box(0.0, **{**car, "z": 20.28}))[0, 0]
    assert across == pytest.approx((1.6 - 0.28) / (1.6 + 0.28))
    assert box3d_overlaps(_box(), _box(y=-1.0))[0, 0] == 0.0  # they only share a face
    assert bev_overlaps(_box(0.3, length=2), _box(0.3 + math.pi, length=2))[0, 0] == pytest.approx(1.0)
    half = box3d_overlaps(_box(h=2.0), _box(y=-1.0), FIRST)[0, 0]  # a unit cube in the top half of a 1x2x1 box
    assert half == pytest.approx(0.5)
    assert image_overlaps([[0, 0, 10, 10]], [[5, 0, 15, 10], [10, 0, 20, 10]]).tolist() == [[1 / 3, 0.0]]
    assert image_overlaps([[0, 0, 10, 10]], [[5, 0, 25, 10]], FIRST)[0, 0] == pytest.approx(0.5)


def test_corners_are_centernets_order():
    corners = box3d_corners(np.array([[1.5, 1.6, 3.9]]), np.array([[2.0, 1.6, 20.0]]), np.array([0.0]))[0]
    np.testing.assert_allclose(corners[0], [2.0 + 1.95, 1.6, 20.8])
    np.testing.assert_allclose(corners[6], [2.0 - 1.95, 0.1, 19.2])
    np.testing.assert_allclose(corners.mean(0), [2.0, 0.85, 20.0])  # the 3D centre is h/2 above the location


def test_label_files_round_trip_and_bad_lines_name_the_file_and_line(tmp_path):
    text = "Car 0.00 0 -1.58 587.0 173.3 614.1 200.1 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59 0.93\n"
    objects = parse_kitti_objects(text, "x", scores=True)
    assert objects.types == ("Car",) and objects.scores[0] == pytest.approx(0.93)
    again = parse_kitti_objects(format_kitti_objects(objects), "y", scores=True)
    np.testing.assert_allclose(again.rows(), objects.rows(), atol=1e-4)
    path = tmp_path / "000007.txt"
    path.write_text("Car 0.00 0 -1.58 587.0 173.3 614.1 200.1 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59\nCar 0 0 1\n")
    with pytest.raises(DLADenseError, match=r"000007.txt, line 2: 4 columns, a KITTI label line has 15 or 16"):
        read_kitti_objects(path)
    path.write_text("Car 0.00 0 -1.58 587.0 173.3 614.1 abc 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59\n")
    with pytest.raises(DLADenseError, match=r"000007.txt, line 1: 'abc' is not a finite number"):
        read_kitti_objects(path)
    path.write_text("Car 0.00 0 -1.58 587.0 173.3 614.1 200.1 nan 1.67 3.64 -0.65 1.71 46.70 -1.59\n")
    with pytest.raises(DLADenseError, match=r"000007.txt, line 1: 'nan' is not a finite number"):
        read_kitti_objects(path)


def test_calib_files(tmp_path):
    p2 = "P2: 7.070493e+02 0 6.040814e+02 4.575831e+01 0 7.070493e+02 1.805066e+02 -3.454157e-01 0 0 1 4.981016e-03"
    path = tmp_path / "calib.txt"
    path.write_text("P0: " + " ".join(["0"] * 12) + "\n" + p2 + "\nR0_rect: 1 0 0 0 1 0 0 0 1\n")
    assert read_kitti_calib(path)[0, 3] == pytest.approx(45.75831)
    path.write_text("700 0 320 0 700 240 0 0 1\n")
    np.testing.assert_allclose(read_kitti_calib(path)[:, 3], 0)
    path.write_text("P0: " + " ".join(["0"] * 12) + "\n")
    with pytest.raises(DLADenseError, match="no 'P2:' line"):
        read_kitti_calib(path)
    path.write_text("P2: 1 2 3\n")
    with pytest.raises(DLADenseError, match=r"calib.txt, line 1: a camera matrix has 12 numbers .* found 3"):
        read_kitti_calib(path)


def test_the_mean_depth_baseline_moves_detections_along_their_rays():
    """A detection moved to 20 m keeps its pixel (the projection of its 3D centre), size, yaw and 2D box; perfect
    detections at 30 m score 1 in 3D, and at the wrong depth 0, while their 2D AP stays 1."""
    row = [0.0, 0, 0.3, 100, 120, 180, 170, 1.5, 1.6, 3.9, 2.0, 1.6, 30.0, 0.5, 0.9]
    truth = KittiObjects.from_rows(["Car"], np.array([row[:14] + [1.0]]))
    moved = at_depth(truth, 20.0)
    centre = moved.locations[0] - [0, 0.75, 0]
    before = truth.locations[0] - [0, 0.75, 0]
    np.testing.assert_allclose(centre[2], 20.0)
    np.testing.assert_allclose(centre[:2] / centre[2], before[:2] / before[2])
    np.testing.assert_array_equal(moved.boxes, truth.boxes)
    np.testing.assert_array_equal(moved.dims, truth.dims)
    found = KittiObjects.from_rows(["Car"], np.array([row]))
    images = 41  # the devkit's R40 reaches 1 for equal scores from 41 ground-truth objects on
    right = kitti_metrics([truth] * images, [at_depth(found, 30.0)] * images)
    wrong = kitti_metrics([truth] * images, [at_depth(found, 20.0)] * images)
    assert right["Car/3d/easy/R40"] == pytest.approx(1.0) and wrong["Car/3d/easy/R40"] == 0.0
    assert wrong["Car/2d/easy/R40"] == pytest.approx(1.0)
