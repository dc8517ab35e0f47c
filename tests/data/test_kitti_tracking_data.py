"""KITTI tracking data: the layout read directly (CenterTrack's halves, track ids, 3D fields, one camera per
sequence), neighbour types and DontCare as ignore regions, one-line errors; the synthetic videos keep each object's
track id while it moves along its heading."""

from __future__ import annotations

import numpy as np
import pytest

from dla_dense.data.kitti_tracking import parse_tracking_labels, read_kitti_tracking
from dla_dense.data.synthetic.kitti import make_synthetic_kitti_tracking
from dla_dense.data.video import VideoDataset
from dla_dense.errors import DLADenseError

CALIB = "P2: 700 0 300 40 0 700 90 0.2 0 0 1 0.003\n"
#: Three frames of one sequence: a car (id 0) in all, a pedestrian (id 1) in frames 0-1, a van, a sitting person
#: and a DontCare region; a tram (background).
LABELS = """\
0 0 Car 0 0 -1.5 10 20 60 50 1.5 1.6 3.9 -2.0 1.6 20.0 -1.6
0 1 Pedestrian 1 1 0.3 100 10 120 60 1.7 0.6 0.8 1.0 1.6 15.0 0.35
0 -1 DontCare -1 -1 -10 200 10 240 40 -1 -1 -1 -1000 -1000 -1000 -10
1 0 Car 0 0 -1.5 12 20 62 50 1.5 1.6 3.9 -1.9 1.6 20.0 -1.6
1 1 Pedestrian 0 2 0.3 101 10 121 60 1.7 0.6 0.8 1.05 1.6 15.0 0.35
1 2 Van 0 0 1.0 150 10 190 50 2.2 1.9 5.0 3.0 1.6 25.0 1.1
2 0 Car 2 0 -1.5 14 20 64 50 1.5 1.6 3.9 -1.8 1.6 20.0 -1.6
2 3 Person 0 0 0.1 250 10 260 40 1.2 0.6 0.8 4.0 1.6 18.0 0.3
2 4 Tram 0 0 0.1 260 10 300 40 3.2 2.6 15.0 6.0 1.6 30.0 0.3
"""


def _sequence(root, name="0007", labels=LABELS, frames=3):
    base = root / "training"
    (base / "image_02" / name).mkdir(parents=True)
    for k in range(frames):
        (base / "image_02" / name / f"{k:06d}.png").write_bytes(b"")
    (base / "label_02").mkdir(exist_ok=True)
    (base / "label_02" / f"{name}.txt").write_text(labels)
    (base / "calib").mkdir(exist_ok=True)
    (base / "calib" / f"{name}.txt").write_text(CALIB)
    return root


def test_objects_ignore_regions_3d_fields_and_the_camera(tmp_path):
    frames, truth = read_kitti_tracking(_sequence(tmp_path), "train")
    assert [(f.video, f.frame_id) for f in frames] == [("0007", 1), ("0007", 2), ("0007", 3)]
    first, second, third = frames
    np.testing.assert_array_equal(first.labels, [1, 0, -1])  # Car, Pedestrian, DontCare: every class
    np.testing.assert_array_equal(first.ignore, [False, False, True])
    np.testing.assert_array_equal(first.track_ids, [0, 1, -1])
    np.testing.assert_array_equal(second.labels, [1, 0, 1])  # the van: an ignore region of Car
    np.testing.assert_array_equal(second.ignore, [False, False, True])
    np.testing.assert_array_equal(third.labels, [1, 0])  # the sitting person: Pedestrian's; the tram: dropped
    np.testing.assert_array_equal(third.ignore, [False, True])
    np.testing.assert_allclose(first.boxes[0], [10, 20, 60, 50])
    np.testing.assert_allclose(first.object_fields["locations"][1], [1.0, 1.6, 15.0])
    np.testing.assert_allclose(first.object_fields["dims"][0], [1.5, 1.6, 3.9])
    np.testing.assert_allclose(first.object_fields["alpha"], [-1.5, 0.3, -10])
    assert first.object_fields["truncated"][1] == 1 and first.object_fields["occluded"][1] == 1
    np.testing.assert_allclose(first.frame_fields["calib"], [[700, 0, 300, 40], [0, 700, 90, 0.2], [0, 0, 1, 0.003]])
    gt = truth["0007"]
    assert gt.length == 3 and len(gt.frames) == 9 and gt.objects.types[7] == "Person"
    assert gt.text().splitlines()[0].split()[:5] == ["0", "0", "Car", "0", "0"]


def test_centertracks_halves_renumber_frames(tmp_path):
    rows = "".join(f"{k} 0 Car 0 0 0 {k} 0 {k + 30} 30 1.5 1.6 3.9 0 1.6 20 0\n" for k in range(7))
    root = _sequence(tmp_path, labels=rows, frames=7)
    train, train_truth = read_kitti_tracking(root, "train_half")
    val, val_truth = read_kitti_tracking(root, "val_half")
    # 7 frames: [0, 7 // 2 - 1] = 0..2 for training, [3, 6] for validation, each numbered from 1
    assert [f.path.stem for f in train] == ["000000", "000001", "000002"]
    assert [f.path.stem for f in val] == ["000003", "000004", "000005", "000006"]
    assert [f.frame_id for f in val] == [1, 2, 3, 4]
    assert val[0].boxes[0, 0] == 3 and train_truth["0007"].length == 3 and val_truth["0007"].length == 4
    np.testing.assert_array_equal(val_truth["0007"].frames, [0, 1, 2, 3])  # 0-based, as CenterTrack's half labels


@pytest.mark.parametrize(
    "line, message",
    [
        ("0 0 Car 0 0 -1.5 10 20 60 50 1.5 1.6 3.9 -2.0 1.6", "columns; a KITTI tracking label line has 17"),
        ("0 0 Bus 0 0 -1.5 10 20 60 50 1.5 1.6 3.9 -2.0 1.6 20.0 -1.6", "unknown type 'Bus'"),
        ("0.5 0 Car 0 0 -1.5 10 20 60 50 1.5 1.6 3.9 -2.0 1.6 20.0 -1.6", "must be integers"),
        ("0 0 Car 0 0 -1.5 10 20 sixty 50 1.5 1.6 3.9 -2.0 1.6 20.0 -1.6", "is not a finite number"),
    ],
)
def test_a_bad_label_line_is_one_line_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "0001.txt"
    path.write_text("0 0 Car 0 0 -1.5 10 20 60 50 1.5 1.6 3.9 -2.0 1.6 20.0 -1.6\n" + line + "\n")
    with pytest.raises(DLADenseError, match=f"{path}, line 2: .*{message}") as raised:
        parse_tracking_labels(path)
    assert "\n" not in str(raised.value)


def test_missing_layout_and_labels_past_the_sequence_are_one_line(tmp_path):
    with pytest.raises(DLADenseError, match="no folder .*image_02; unpack data_tracking_image_2"):
        read_kitti_tracking(tmp_path, "train")
    root = _sequence(tmp_path, labels=LABELS.replace("2 0 Car", "5 0 Car"))
    with pytest.raises(DLADenseError, match="frame 5 has labels but the sequence has 3 images"):
        read_kitti_tracking(root, "train")
    with pytest.raises(DLADenseError, match="split 'trainval': use train, train_half, val_half or test"):
        read_kitti_tracking(root, "trainval")


def test_synthetic_videos_keep_track_ids_along_moving_objects(tmp_path):
    root = make_synthetic_kitti_tracking(tmp_path / "videos", videos=2, frames=6, size=(96, 320), seed=3)
    frames, truth = read_kitti_tracking(root, "train")
    assert len(frames) == 12 and set(truth) == {"0000", "0001"}
    dataset = VideoDataset(frames, ("Pedestrian", "Car", "Cyclist"), ground_truth=truth)
    item = dataset[1]
    assert item["image"].shape == (96, 320, 3) and item["calib"].shape == (3, 4)
    moved = 0
    for seq in truth:
        objects = [f for f in frames if f.video == seq]
        for track in {int(t) for f in objects for t in f.track_ids if t >= 0}:
            seen = [
                (f.frame_id, f.object_fields["locations"][list(f.track_ids).index(track)])
                for f in objects
                if track in f.track_ids
            ]
            ids, where = np.array([k for k, _ in seen]), np.array([loc for _, loc in seen])
            speeds = np.linalg.norm(np.diff(where[:, [0, 2]], axis=0), axis=1) / np.maximum(np.diff(ids), 1)
            assert len(speeds) == 0 or np.allclose(speeds, speeds[0], atol=1e-4)  # constant speed on the ground
            moved += int(len(speeds) > 0 and speeds[0] > 0.01)
    assert moved >= 2
    again = make_synthetic_kitti_tracking(tmp_path / "videos", videos=2, frames=6, size=(96, 320), seed=3)
    assert again == root
