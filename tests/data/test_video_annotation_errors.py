"""Mistakes in video annotations end in one line naming the file, the entry or line and the fix; what a reader skips
by policy is counted in a warning; nothing silently changes meaning."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from PIL import Image

from dla_dense.data.video import read_crowdhuman, read_jde, read_mot, read_video_coco
from dla_dense.errors import DLADenseError
from dla_dense.heads import centertrack_box_targets, tracking_targets


def _video_coco(tmp_path, **changes):
    data = {
        "videos": [{"id": 1}, {"id": 2}],
        "images": [
            {"id": 10, "file_name": "v1/1.jpg", "video_id": 1, "frame_id": 1},
            {"id": 11, "file_name": "v1/2.jpg", "video_id": 1, "frame_id": 2},
            {"id": 20, "file_name": "v2/1.jpg", "video_id": 2, "frame_id": 1},
        ],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 1, "bbox": [1, 2, 3, 4], "track_id": 7},
            {"id": 2, "image_id": 11, "category_id": 2, "bbox": [2, 2, 3, 4], "track_id": 8},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}],
    }
    for key, change in changes.items():
        change(data[key])
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    return path


def _error(call) -> str:
    with pytest.raises(DLADenseError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (dict(images=lambda images: images[1].pop("video_id")), ["images[1] (id 11)", "no 'video_id'"]),
        (dict(images=lambda images: images[2].pop("frame_id")), ["images[2] (id 20)", "no 'frame_id'"]),
        (dict(images=lambda images: images[1].update(frame_id=1)), ["image id 10", "both frame 1 of video 1"]),
        (dict(images=lambda images: images[0].update(frame_id=0)), ["frame_id=0", "integers from 1"]),
        (dict(images=lambda images: images[0].update(video_id=5)), ["video_id=5", "not an id of 'videos'"]),
        (dict(annotations=lambda anns: anns[1].update(category_id=3)), ["annotation 2", "category_id 3"]),
        (dict(annotations=lambda anns: anns[1].update(category_id=-4)), ["annotation 2", "category_id -4"]),
        (dict(annotations=lambda anns: anns[0].update(image_id=99)), ["annotation 1", "image id 99"]),
        (dict(annotations=lambda anns: anns[0].update(bbox=[1, 2, -3, 4])), ["annotation 1", "negative size"]),
        (dict(annotations=lambda anns: anns[0].update(track_id="a")), ["annotation 1", "track_id='a'"]),
        (dict(annotations=lambda anns: anns[0].pop("bbox")), ["annotations[0] lacks 'bbox'"]),
    ],
)
def test_video_coco_mistakes_are_one_line(tmp_path, change, needles):
    message = _error(lambda: read_video_coco(_video_coco(tmp_path, **change), tmp_path))
    assert "ann.json" in message
    for needle in needles:
        assert needle in message


def test_video_coco_classes_name_real_categories_and_skipped_ones_are_counted(tmp_path, caplog):
    message = _error(lambda: read_video_coco(_video_coco(tmp_path), tmp_path, classes=("truck",)))
    assert "'truck' is not a category" in message and "person, car" in message
    with caplog.at_level(logging.WARNING):
        frames, classes = read_video_coco(_video_coco(tmp_path), tmp_path, classes=("car",))
    assert classes == ("car",) and [f.labels.tolist() for f in frames] == [[], [0], []]
    assert "1 annotation(s) of categories not in data.classes skipped" in caplog.text


def test_objects_without_track_id_get_no_tracking_target(tmp_path):
    path = _video_coco(tmp_path, annotations=lambda anns: [a.pop("track_id") for a in anns])
    frames, _ = read_video_coco(path, tmp_path)
    assert [f.track_ids.tolist() for f in frames] == [[-1], [-1], []]
    boxes = np.array([[2, 2, 6, 6], [10, 4, 14, 8]], np.float32)
    targets = centertrack_box_targets(
        boxes, np.zeros(2, np.int64), np.zeros(2, bool), output_size=(16, 16), num_classes=1, max_objs=4
    )
    pre_centers = np.array([[4.0, 4.0], [12.0, 6.0]], np.float32)
    out = tracking_targets(targets, [-1, 5], pre_centers, [-1, 5], output_size=(16, 16))
    assert out["tracking_mask"][0].sum() == 0  # no identity: no target, even beside another unknown object
    assert out["tracking_mask"][1].tolist() == [1, 1]
    assert torch.equal(out["tracking"][1], torch.tensor(pre_centers[1]) - torch.tensor([12.0, 6.0]))


def _mot(tmp_path, rows: str, length: int = 3):
    seq = tmp_path / "train" / "SEQ-01"
    (seq / "gt").mkdir(parents=True, exist_ok=True)
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname=SEQ-01\nimDir=img1\nseqLength={length}\nimExt=.jpg\n")
    (seq / "gt" / "gt.txt").write_text(rows)
    return tmp_path


@pytest.mark.parametrize(("row", "needle"), [("0,1,1,1,5,5,1,1,1", "frame 0"), ("4,1,1,1,5,5,1,1,1", "frame 4")])
def test_mot_rows_outside_the_sequence_are_refused_with_their_line(tmp_path, row, needle):
    root = _mot(tmp_path, f"1,1,1,1,5,5,1,1,1\n\n{row}\n")
    message = _error(lambda: read_mot(root, "train"))
    assert "gt.txt' line 3" in message and needle in message and "1..3" in message and "seqLength" in message


def test_mot_rows_and_seqinfo_mistakes(tmp_path):
    assert "line 1" in _error(lambda: read_mot(_mot(tmp_path, "1,1,a,1,5,5\n"), "train"))
    assert "line 2" in _error(lambda: read_mot(_mot(tmp_path, "1,1,1,1,5,5\n1,1,1\n"), "train"))
    assert "track id 1.5" in _error(lambda: read_mot(_mot(tmp_path, "1,1.5,1,1,5,5\n"), "train"))
    seqinfo = tmp_path / "train" / "SEQ-01" / "seqinfo.ini"
    seqinfo.write_text("[Sequence]\nseqLength=many\n")
    assert "seqLength='many'" in _error(lambda: read_mot(tmp_path, "train"))


def _jde(tmp_path, labels: str):
    image = tmp_path / "images" / "seq" / "img1" / "000001.jpg"
    image.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(image)
    label = tmp_path / "labels_with_ids" / "seq" / "img1" / "000001.txt"
    label.parent.mkdir(parents=True, exist_ok=True)
    label.write_text(labels)
    (tmp_path / "list.txt").write_text("images/seq/img1/000001.jpg\n")
    return lambda: read_jde(tmp_path, {"set": "list.txt"})


@pytest.mark.parametrize(
    ("labels", "needle"),
    [
        ("0 1 0.5 0.5 0.1 0.1\n-1 2 0.5 0.5 0.1 0.1\n", "line 2: class -1"),
        ("0.5 1 0.5 0.5 0.1 0.1\n", "line 1: class 0.5"),
        ("0 -2 0.5 0.5 0.1 0.1\n", "line 1: identity -2"),
        ("0 1 0.5 0.5 0 0.1\n", "width or height <= 0"),
        ("0 1 0.5 0.5 0.1\n", "line 1"),
        ("0 1 0.5 nan 0.1 0.1\n", "line 1"),
    ],
)
def test_jde_label_mistakes_name_the_file_and_line(tmp_path, labels, needle):
    message = _error(_jde(tmp_path, labels))
    assert "000001.txt" in message and needle in message


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ({"ID": "a", "gtboxes": [{"tag": "person", "hbox": [1, 2, 3, 4]}]}, "line 2 gtboxes[0] has no 'fbox'"),
        ({"ID": "a", "gtboxes": [{"fbox": [1, 2, 3]}]}, "line 2 gtboxes[0] has fbox [1, 2, 3]"),
        ({"ID": "a", "gtboxes": [{"fbox": [1, 2, 3, 4], "extra": 1}]}, "line 2 gtboxes[0] has extra=1"),
        ({"gtboxes": []}, "line 2 has no image 'ID'"),
        ({"ID": "a", "gtboxes": {}}, "'gtboxes' must be a list"),
    ],
)
def test_crowdhuman_mistakes_name_the_file_and_line(tmp_path, record, needle):
    path = tmp_path / "annotation_train.odgt"
    path.write_text(json.dumps({"ID": "ok", "gtboxes": []}) + "\n" + json.dumps(record) + "\n")
    message = _error(lambda: read_crowdhuman(path, tmp_path))
    assert "annotation_train.odgt" in message and needle in message
