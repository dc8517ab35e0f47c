"""KITTI object data: the layout read directly (splits, labels, calib), neighbour types and DontCare as ignore
regions, the default camera said once, one-line errors; and the synthetic KITTI-layout set, whose labels agree
with its cameras and score perfectly against themselves."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from dla_dense.data.kitti import KittiDataset, training_fields
from dla_dense.data.kitti_format import parse_kitti_objects, read_kitti_objects
from dla_dense.data.synthetic.kitti import make_synthetic_kitti
from dla_dense.errors import DLADenseError
from dla_dense.evaluation.kitti import kitti_metrics
from dla_dense.ops.boxes3d import box3d_corners
from dla_dense.ops.ddd import project


@pytest.fixture(scope="module")
def kitti_root(tmp_path_factory):
    return make_synthetic_kitti(tmp_path_factory.mktemp("kitti"), num_train=12, num_val=4, size=(96, 320), seed=1)


def test_items_carry_the_fields_of_the_heads_and_the_camera(kitti_root):
    data = KittiDataset(kitti_root, "train", image_sets="ImageSets")
    assert len(data) == 12 and len(KittiDataset(kitti_root, "val", image_sets="ImageSets")) == 4
    item = data[3]
    m = len(item["boxes"])
    assert item["image"].shape == (96, 320, 3) and item["orig_size"] == (96, 320) and item["image_id"] == 3
    assert item["calib"].shape == (3, 4) and item["calib"][2, 2] == 1.0
    assert item["labels"].shape == (m,) and set(item["labels"]) <= {0, 1, 2}
    assert item["dims"].shape == (m, 3) and item["locations"].shape == (m, 3) and item["alpha"].shape == (m,)
    assert len(item["ignore_boxes"]) == len(item["ignore_labels"])


def test_synthetic_labels_agree_with_their_cameras(kitti_root):
    data = KittiDataset(kitti_root, "train", image_sets="ImageSets")
    checked = 0
    for index in range(len(data)):
        item = data[index]
        for box, dims, loc, ry, alpha in zip(
            item["boxes"], item["dims"], item["locations"], item["rotation_y"], item["alpha"], strict=True
        ):
            corners = project(box3d_corners(dims[None], loc[None], [ry])[0], item["calib"])
            hull = np.clip(np.concatenate([corners.min(0), corners.max(0)]), 0, [319, 95, 319, 95])
            np.testing.assert_allclose(hull, box, atol=0.01)  # the label box is the projected cuboid, clipped
            assert np.angle(np.exp(1j * (ry - np.arctan2(loc[0], loc[2]) - alpha))) == pytest.approx(0, abs=1e-3)
            checked += 1
    assert checked > 20


def test_ground_truth_scored_against_itself_is_perfect(kitti_root):
    data = KittiDataset(kitti_root, "train", image_sets="ImageSets")
    truth = [data.ground_truth(i) for i in range(len(data))]
    found = [t.select(np.array([name != "DontCare" for name in t.types], bool)) for t in truth]
    metrics = kitti_metrics(truth, found)
    valid = sum(
        (
            (np.array(t.types) == "Car")
            & (t.boxes[:, 3] - t.boxes[:, 1] > 25)
            & (t.occluded <= 1)
            & (t.truncated <= 0.3)
        ).sum()
        for t in truth
    )
    assert 2 < valid < 40  # so few that the devkit's sampling reaches only (valid - 1) of its 40 recall points
    for measure in ("2d", "aos", "bev", "3d"):
        assert metrics[f"Car/{measure}/moderate/R40"] == pytest.approx((valid - 1) / 40), measure


def test_neighbours_and_dontcare_are_ignore_regions():
    text = (
        "Car 0.00 0 0.1 10 10 50 40 1.5 1.6 3.9 1 1.6 20 0.1\n"
        "Van 0.00 0 0.1 60 10 90 40 2.1 1.9 5.0 4 1.6 25 0.1\n"
        "Person_sitting 0.00 0 0.1 100 20 110 40 1.2 0.5 0.8 -2 1.6 15 0.1\n"
        "DontCare -1 -1 -10 120 20 140 30 -1 -1 -1 -1000 -1000 -1000 -10\n"
        "Misc 0.00 0 0.1 150 20 160 40 1.2 0.5 0.8 -2 1.6 15 0.1\n"
        "Cyclist 0.20 1 -2.0 170 20 190 60 1.7 0.6 1.8 3 1.6 18 -1.9\n"
    )
    fields = training_fields(parse_kitti_objects(text, "x"))
    assert fields["labels"].tolist() == [1, 2] and fields["boxes"][1].tolist() == [170, 20, 190, 60]
    assert fields["ignore_labels"].tolist() == [1, 0, -1]  # Van in Car's channel, Person_sitting in Pedestrian's
    assert fields["truncated"].tolist() == [0.0, 0.2] and fields["occluded"].tolist() == [0, 1]


def test_missing_files_are_one_line_errors_and_a_missing_calib_takes_the_default(kitti_root, tmp_path, caplog):
    with pytest.raises(DLADenseError, match=r"KITTI split 'test2': no file .*test2.txt; it has train.txt, val.txt"):
        KittiDataset(kitti_root, "test2", image_sets="ImageSets")
    with pytest.raises(DLADenseError, match="no folder .*image_2; the object layout is <root>/training/image_2"):
        KittiDataset(tmp_path, "train")
    copy = tmp_path / "copy"
    (copy / "training" / "image_2").mkdir(parents=True)
    (copy / "training" / "label_2").mkdir()
    (copy / "ImageSets").mkdir()
    (copy / "ImageSets" / "val.txt").write_text("000001\n000002\n")
    for name in ("000001", "000002"):
        source = kitti_root / "training"
        (copy / "training" / "image_2" / f"{name}.png").write_bytes((source / "image_2" / f"{name}.png").read_bytes())
        (copy / "training" / "label_2" / f"{name}.txt").write_text((source / "label_2" / f"{name}.txt").read_text())
    data = KittiDataset(copy, "val", image_sets="ImageSets")
    with caplog.at_level(logging.WARNING):
        first, second = data[0], data[1]
    np.testing.assert_allclose(first["calib"][:, 2], [160, 48, 1])
    np.testing.assert_allclose(first["calib"][0, 0], 1200)
    assert second["calib"][0, 0] == 1200 and sum("default camera" in r.message for r in caplog.records) == 1
    (copy / "training" / "label_2" / "000002.txt").write_text("Car 0 0 0.1 10 10 50\n")
    with pytest.raises(DLADenseError, match=r"000002.txt, line 1: 7 columns"):
        data[1]
    (copy / "training" / "image_2" / "000001.png").unlink()
    with pytest.raises(DLADenseError, match=r"KITTI image 000001 of split 'val': no file .*000001.png"):
        data[0]


def test_the_evaluator_scores_every_image_prints_a_table_and_writes_result_files(kitti_root, tmp_path):
    from dla_dense.evaluation.kitti import CLASSES, KittiEvaluator

    data = KittiDataset(kitti_root, "val", image_sets="ImageSets")
    evaluator = KittiEvaluator(data, ("Pedestrian", "Car", "Cyclist"))
    evaluator.reset()
    for index in range(len(data) - 1):  # the last image has no detections: it still counts
        truth = data.ground_truth(index)
        keep = np.array([t in ("Pedestrian", "Car", "Cyclist") for t in truth.types], bool)
        own = truth.select(keep)
        labels = [("Pedestrian", "Car", "Cyclist").index(t) for t in own.types]
        found = {"boxes": own.boxes, "scores": np.linspace(0.9, 0.5, len(own)), "labels": labels, "alpha": own.alpha,
                 "dims": own.dims, "locations": own.locations, "rotation_y": own.rotation_y}  # fmt: skip
        evaluator.process({"name": data.names[index]}, found)
    evaluator.gather(None)
    metrics = evaluator.compute()
    assert metrics["AP3D"] == metrics["Car/3d/moderate/R40"] and 0 <= metrics["AP3D"] <= 1
    table = evaluator.table()
    assert "moderate" in table and any(line.startswith("Car") for line in table.splitlines())
    assert CLASSES == ("Car", "Pedestrian", "Cyclist")
    message = evaluator.write(tmp_path / "results")
    files = sorted((tmp_path / "results").glob("*.txt"))
    assert [f.stem for f in files] == data.names and files[-1].read_text() == "" and "written" in message
    again = read_kitti_objects(files[0], scores=True)
    assert len(again) == sum(t in ("Pedestrian", "Car", "Cyclist") for t in data.ground_truth(0).types)
