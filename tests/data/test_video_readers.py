"""The video readers: CenterTrack's video-COCO json (with and without ``videos``) and CrowdHuman ``.odgt``."""

from __future__ import annotations

import json

import pytest

from dla_dense.data.video import VideoDataset, read_crowdhuman, read_jde, read_video_coco
from dla_dense.errors import DLADenseError


def _video_coco(tmp_path, with_videos=True):
    data = {
        "images": [
            {"id": 11, "file_name": "v1/2.jpg", "video_id": 1, "frame_id": 2},
            {"id": 10, "file_name": "v1/1.jpg", "video_id": 1, "frame_id": 1},
            {"id": 20, "file_name": "v2/1.jpg", "video_id": 2, "frame_id": 1},
        ],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 1, "bbox": [1, 2, 3, 4], "track_id": 7},
            {"id": 2, "image_id": 11, "category_id": 1, "bbox": [2, 2, 3, 4], "track_id": 7},
            {"id": 3, "image_id": 11, "category_id": 2, "bbox": [5, 5, 2, 2], "track_id": 8, "iscrowd": 1},
            {"id": 4, "image_id": 20, "category_id": -1, "bbox": [0, 0, 9, 9], "track_id": 9},
            {"id": 5, "image_id": 20, "category_id": 0, "bbox": [0, 0, 4, 4], "track_id": 10},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}],
    }
    if with_videos:
        data["videos"] = [{"id": 1}, {"id": 2}]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    return path


def test_video_coco_orders_frames_and_keeps_track_ids(tmp_path):
    frames, classes = read_video_coco(_video_coco(tmp_path), tmp_path)
    assert classes == ("person", "car")
    assert [(f.video, f.frame_id) for f in frames] == [("1", 1), ("1", 2), ("2", 1)]
    assert frames[1].track_ids.tolist() == [7, 8] and frames[1].boxes[0].tolist() == [2, 2, 5, 6]
    assert frames[1].crowd.tolist() == [False, True] and frames[1].ignore.tolist() == [False, True]
    # category -1: an ignore region of category 1 (label 0); category 0: of every class (label -1)
    assert frames[2].labels.tolist() == [0, -1] and frames[2].ignore.all()
    dataset = VideoDataset(frames, classes)
    assert dataset.video_indices() == [[0, 1], [2]]


def test_video_coco_without_videos_makes_one_video_per_image(tmp_path):
    frames, _ = read_video_coco(_video_coco(tmp_path, with_videos=False), tmp_path)
    assert len({f.video for f in frames}) == 3 and {f.frame_id for f in frames} == {1}
    ids = [t for f in frames for t in f.track_ids.tolist()]
    assert len(ids) == len(set(ids))  # every annotation its own track, as fake_video_data


def test_crowdhuman_full_boxes_and_ignored_boxes_as_crowds(tmp_path):
    lines = [
        {
            "ID": "a",
            "gtboxes": [
                {"tag": "person", "fbox": [1, 2, 10, 20], "vbox": [1, 2, 5, 5], "extra": {}},
                {"tag": "mask", "fbox": [0, 0, 50, 50], "extra": {"ignore": 1}},
            ],
        },
        {"ID": "b", "gtboxes": []},
    ]
    path = tmp_path / "annotation_train.odgt"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    frames = read_crowdhuman(path, tmp_path / "Images")
    assert [f.path.name for f in frames] == ["a.jpg", "b.jpg"]
    assert frames[0].boxes.tolist() == [[1, 2, 11, 22], [0, 0, 50, 50]] and frames[0].crowd.tolist() == [False, True]
    path.write_text("not json\n")
    with pytest.raises(DLADenseError, match="line 1 is not JSON"):
        read_crowdhuman(path, tmp_path)


def test_jde_labels_get_fairmots_identity_offsets(tmp_path):
    """Two JDE datasets as in ``tests/golden/make_fairmot_golden.py``: FairMOT's ``tid_start_index`` shifts the
    second dataset's identities by the first's largest + 1, ``nID`` is their total + 1, -1 stays -1."""
    from pathlib import Path

    import numpy as np
    import torch
    from PIL import Image

    gold = torch.load(Path(__file__).parents[1] / "golden" / "fairmot_golden.pt", weights_only=True)["jde"]
    lists = {}
    for ds, images in gold["labels"].items():
        lines = []
        for i, labels in enumerate(images):
            image = tmp_path / ds / "images" / "seq" / "img1" / f"{i + 1:06d}.jpg"
            label = tmp_path / ds / "labels_with_ids" / "seq" / "img1" / f"{i + 1:06d}.txt"
            image.parent.mkdir(parents=True, exist_ok=True)
            label.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (96, 64)).save(image)
            np.savetxt(label, np.asarray(labels).reshape(-1, 6), fmt="%.6f")
            lines.append(str(image.relative_to(tmp_path)))
        (tmp_path / f"{ds}.train").write_text("\n".join(lines) + "\n")
        lists[ds] = f"{ds}.train"
    frames = read_jde(tmp_path, lists)
    assert [f.video for f in frames] == ["a/images/seq"] * 2 + ["b/images/seq"] * 2
    assert [f.frame_id for f in frames] == [1, 2, 1, 2]
    dataset = VideoDataset(frames, ("pedestrian",), pairs=False)
    assert dataset.num_identities == gold["nID"] == 12
    for ids, item in zip(dataset.identities, gold["items"], strict=True):
        kept = item["reg_mask"].numpy() > 0
        count = min(len(ids), len(kept))
        assert ids[:count][kept[:count]].tolist() == item["ids"].numpy()[:count][kept[:count]].tolist()
    first = frames[0]
    np.testing.assert_allclose(
        first.boxes[0], [0.5 * 96 - 0.1 * 96, 0.5 * 64 - 0.2 * 64, 0.5 * 96 + 0.1 * 96, 0.5 * 64 + 0.2 * 64], atol=1e-3
    )
