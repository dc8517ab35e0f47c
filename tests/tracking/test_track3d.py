"""3D tracking: CenterTrack's ``tracking,ddd`` decoding, post-processing and tracker equal to its own code on the
same outputs (its detections placed at their unprojected centres, tracks keeping their 3D boxes); the ddd heads'
targets behind CenterTrack's box head; tracks carry any detection field through every tracker."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dla_dense.heads import CenterNetHeads, TrackBoxHead, TrackingHead
from dla_dense.heads.ddd import AmodalOffsetHead, DddBoxHead, DepthHead, DimensionHead, RotationHead
from dla_dense.inference.detection import to_image_mapping
from dla_dense.ops.affine import Warp, get_affine_transform
from dla_dense.tracking import TRACKERS
from dla_dense.tracking.base import with_detection_fields
from dla_dense.tracking.centertrack import CenterTrackTracker

GOLD = json.loads((Path(__file__).parents[1] / "golden" / "track3d_golden.json").read_text())


def _heads(amodal: bool) -> CenterNetHeads:
    heads = [TrackBoxHead(3), TrackingHead(), RotationHead(), DimensionHead(reduction="objects")]
    return CenterNetHeads([*heads, *([AmodalOffsetHead()] if amodal else []), DepthHead(reduction="objects")])


@pytest.mark.parametrize("case", GOLD["cases"], ids=["amodal_offset", "box_centre"])
def test_decode_post_process_and_tracker_equal_centertrack(case):
    heads = _heads(case["amodal"])
    meta = {"c": np.array(case["center"]), "s": np.full(2, case["scale"]), "out_height": 16, "out_width": 24}
    tracker = CenterTrackTracker(new_thresh=0.35, max_age=-1)
    for frame in case["frames"]:
        maps = {name: torch.tensor(value) for name, value in frame["maps"].items()}
        found = heads.decode(maps, flip=False, k=100)
        found = heads.to_image(found, to_image_mapping(meta, 1.0, {"calib": np.array(GOLD["calib"])}))
        keep = found["scores"] > 0.3
        expected = frame["results"]
        assert int(keep.sum()) == len(expected) > 0
        found = {name: value[keep] for name, value in found.items()}
        assert (found["labels"] + 1).tolist() == [r["class"] for r in expected]
        pairs = [
            ("scores", "score", 1e-6),
            ("centers3d", "ct", 2e-3),
            ("tracking", "tracking", 2e-3),
            ("boxes", "bbox", 2e-3),
            ("depth", "dep", 1e-4),
            ("dims", "dim", 1e-5),
            ("alpha", "alpha", 1e-5),
            ("locations", "loc", 1e-4),
            ("rotation_y", "rot_y", 1e-5),
        ]
        for field, key, tol in pairs:
            np.testing.assert_allclose(found[field].numpy(), [r[key] for r in expected], atol=tol, err_msg=key)
        tracks = with_detection_fields(found, tracker.update(found))
        assert tracks["track_ids"].tolist() == [t["tracking_id"] for t in frame["tracks"]]
        np.testing.assert_allclose(tracks["scores"], [t["score"] for t in frame["tracks"]], rtol=1e-6)
        rows = [next(i for i, r in enumerate(expected) if r["score"] == t["score"]) for t in frame["tracks"]]
        np.testing.assert_allclose(tracks["locations"], [expected[i]["loc"] for i in rows], atol=1e-4)


def test_the_golden_frames_continue_and_start_tracks():
    for case in GOLD["cases"]:
        ids = [{t["tracking_id"] for t in frame["tracks"]} for frame in case["frames"]]
        assert all(ids[k] & ids[k - 1] for k in (1, 2))  # tracks continue
        assert any(ids[k] - ids[k - 1] for k in (1, 2))  # and new ones start


def test_ddd_targets_are_the_same_behind_either_box_head():
    """Rotation, size, depth and amodal offset targets come from the same objects in the same slots whether
    CenterNet's ddd box head or CenterTrack's made the slots."""
    calib = np.array(GOLD["calib"])
    item = {
        "boxes": np.array([[100, 50, 300, 200], [400, 60, 470, 220], [600, 80, 700, 150]], np.float32),
        "labels": np.array([1, 0, -1]),
        "ignore": np.array([False, False, True]),
        "alpha": np.array([-1.6, 0.3, -10.0]),
        "dims": np.array([[1.5, 1.6, 3.9], [1.7, 0.6, 0.8], [-1, -1, -1]], np.float32),
        "locations": np.array([[-3.0, 1.6, 15.0], [1.0, 1.6, 12.0], [-1000, -1000, -1000]], np.float32),
        "calib": calib,
    }
    warp = Warp(width=1248, flipped=False, matrix=get_affine_transform(np.array([624.0, 188.0]), 1248.0, (312, 94)))
    targets = {}
    for box in (TrackBoxHead(3, max_objs=8), DddBoxHead(3, max_objs=8)):
        composed = CenterNetHeads([box, RotationHead(), DimensionHead(), AmodalOffsetHead(), DepthHead()])
        real = {k: v for k, v in item.items() if not (isinstance(box, DddBoxHead) and k == "ignore")}
        if isinstance(box, DddBoxHead):  # CenterNet's reader gives the ignore region apart
            real = {**{k: v[:2] for k, v in real.items() if k != "calib"}, "calib": calib}
        targets[type(box).__name__] = composed.encode(composed.warp(real, warp), output_size=(94, 312))
    ours, theirs = targets["TrackBoxHead"], targets["DddBoxHead"]
    for name in ("rotbin", "rotres", "dim", "dep", "amodel_offset"):
        torch.testing.assert_close(ours[name][:2], theirs[name][:2], msg=name)
    for name in ("rot_mask", "dim_mask", "dep_mask"):
        assert ours[name].tolist()[:3] == [1, 1, 0] and ours[name].sum() == 2, name


@pytest.mark.parametrize("name", ["centertrack", "byte", "iou"])
def test_every_tracker_carries_the_detections_other_fields(name):
    tracker = TRACKERS[name](**({"new_thresh": 0.3} if name == "centertrack" else {}))
    for step in range(3):
        boxes = np.array([[10 + 2 * step, 10, 50 + 2 * step, 60], [100, 10, 130, 70]], np.float32)
        detections = {
            "boxes": boxes,
            "scores": np.array([0.9, 0.8], np.float32),
            "labels": np.array([1, 0]),
            "centers": (boxes[:, :2] + boxes[:, 2:]) / 2,
            "tracking": np.array([[-2.0, 0.0], [0.0, 0.0]], np.float32),
            "locations": np.array([[1.0 + step, 1.6, 20.0], [5.0, 1.6, 30.0]], np.float32),
        }
        tracks = with_detection_fields(detections, tracker.update(detections))
        assert sorted(tracks["track_ids"].tolist()) == [1, 2]
        for box, location in zip(tracks["boxes"], tracks["locations"], strict=True):
            row = int(np.argmin(np.abs(detections["boxes"][:, 0] - box[0])))
            np.testing.assert_allclose(location, detections["locations"][row])
