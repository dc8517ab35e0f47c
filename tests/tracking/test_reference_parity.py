"""Trackers, targets and the previous-frame heatmap against golden values of CenterTrack and ByteTrack
(``tests/golden/make_tracking_golden.py`` runs the reference code)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dla_dense.heads import amodal_targets, centertrack_box_targets, tracking_targets
from dla_dense.ops.affine import affine_boxes, get_affine_transform
from dla_dense.ops.pre_heatmap import pre_heatmap
from dla_dense.tracking import ByteTracker, CenterTrackTracker
from dla_dense.tracking.assignment import box_iou, linear_assignment

GOLD = json.loads((Path(__file__).parents[1] / "golden" / "tracking_golden.json").read_text())


@pytest.mark.parametrize("case", GOLD["lapjv"], ids=lambda c: str(c["cost"]))
def test_lapjv_cost_limit_semantics(case):
    matches, ua, ub = linear_assignment(np.array(case["cost"]), case["thresh"])
    assert matches.tolist() == case["matches"]
    assert ua.tolist() == case["ua"] and ub.tolist() == case["ub"]


def test_lapjv_is_not_assign_then_filter():
    """The reference doc's counter-example: optimal assignment then dropping pairs >= 0.4 would match both."""
    matches, _, _ = linear_assignment(np.array([[0.1, 0.35], [0.35, 0.9]]), 0.4)
    assert matches.tolist() == [[0, 0]]


def test_empty_assignment():
    matches, ua, ub = linear_assignment(np.zeros((0, 3)), 0.5)
    assert matches.shape == (0, 2) and ua.tolist() == [] and ub.tolist() == [0, 1, 2]


def test_iou_conventions():
    a, b = np.array([[0, 0, 9, 9]]), np.array([[5, 0, 14, 9]])
    assert box_iou(a, b)[0, 0] == pytest.approx(50 / 150)  # +1 pixel: 10x10 boxes overlapping 5x10
    assert box_iou(a, b, plus_one=False)[0, 0] == pytest.approx(36 / 126)


@pytest.mark.parametrize("case", GOLD["byte"], ids=lambda c: f"mot20={c['mot20']}")
def test_byte_equals_bytetrack(case):
    tracker = ByteTracker(
        track_thresh=case["track_thresh"],
        match_thresh=case["match_thresh"],
        track_buffer=case["track_buffer"],
        fuse_score=not case["mot20"],
    )
    seen_ids = set()
    for frame, expected in zip(case["frames"], case["tracks"], strict=True):
        d = np.array(frame)
        out = tracker.update({"boxes": d[:, :4], "scores": d[:, 4], "labels": np.zeros(len(d), np.int64)})
        got = sorted(zip(out["track_ids"].tolist(), out["boxes"].tolist(), out["scores"].tolist(), strict=True))
        want = sorted((i, b, s) for i, b, s in expected)
        assert [g[0] for g in got] == [w[0] for w in want]
        np.testing.assert_allclose([g[1] for g in got], np.array([w[1] for w in want]).reshape(-1, 4), atol=1e-3)
        np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], rtol=1e-6)
        seen_ids |= set(out["track_ids"].tolist())
    assert len(seen_ids) >= 3


def test_byte_sequence_exercises_every_stage():
    """The golden sequence covers a re-found lost track, a removed unconfirmed blip and the low-score stage."""
    case = GOLD["byte"][0]
    per_frame = [{i for i, _, _ in frame} for frame in case["tracks"]]
    assert 2 in per_frame[7] and 2 not in per_frame[9] and 2 in per_frame[10]  # B: lost at 8-9, re-found
    assert all(2 in per_frame[f] for f in (4, 5, 6))  # B kept by its low-score detections
    assert not any(4 in ids for ids in per_frame)  # D's one-frame blip never confirmed


@pytest.mark.parametrize("case", GOLD["centertrack"], ids=["greedy", "max_age", "public"])
def test_centertrack_tracker_step_equals_reference(case):
    tracker = CenterTrackTracker(new_thresh=0.4, max_age=case["max_age"])
    for i, (frame, expected) in enumerate(zip(case["frames"], case["tracks"], strict=True)):
        fields = {
            "boxes": np.array([d["bbox"] for d in frame]),
            "scores": np.array([d["score"] for d in frame]),
            "labels": np.array([d["class"] for d in frame]),
            "centers": np.array([d["ct"] for d in frame]),
            "tracking": np.array([d["tracking"] for d in frame]),
        }
        public = None if case["public"] is None else np.array(case["public"][i]).reshape(-1, 2)
        got = tracker.step(fields, public)
        assert [(t["tracking_id"], t["active"], t["age"]) for t in got] == [
            (t["id"], t["active"], t["age"]) for t in expected
        ]
        np.testing.assert_allclose([t["bbox"] for t in got], [t["bbox"] for t in expected], atol=1e-5)


def test_centertrack_heatmap_boxes_skip_inactive_and_weak_tracks():
    tracker = CenterTrackTracker(new_thresh=0.3, pre_thresh=0.5, max_age=3)
    box = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    fields = {"boxes": box, "scores": np.array([0.9, 0.45]), "labels": np.zeros(2), "centers": box[:, :2] + 5}
    fields["tracking"] = np.zeros((2, 2))
    tracker.update(fields)
    np.testing.assert_array_equal(tracker.heatmap_boxes(), box[:1])  # 0.45 < pre_thresh
    tracker.update({k: v[:0] for k, v in fields.items()})  # both unmatched: kept inactive (max_age 3)
    assert len(tracker.tracks) == 2 and tracker.heatmap_boxes().shape == (0, 4)


def _labels_and_ignore(anns):
    """CenterTrack categories -> 0-based labels with ignore flags (category 0: every class, -1: class 0)."""
    labels, ignore = [], []
    for a in anns:
        cat = a["category_id"]
        crowd = a.get("iscrowd", 0) > 0
        ignore.append(cat <= 0 or crowd)
        labels.append(-1 if cat == 0 else abs(cat) - 1)
    return labels, ignore


@pytest.mark.parametrize("index", range(len(GOLD["targets"]["cases"])))
def test_pre_heatmap_and_targets_equal_centertrack(index):
    t = GOLD["targets"]
    case = t["cases"][index]
    (in_h, in_w), (out_h, out_w) = t["input_size"], t["output_size"]
    trans_in = get_affine_transform(t["center"], t["scale"], (in_w, in_h))
    trans_out = get_affine_transform(t["center"], t["scale"], (out_w, out_h))

    def xyxy(anns):
        return np.array(
            [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in anns]
        )

    pre = [a for a in t["pre"] if not a.get("iscrowd")]  # crowds are not drawn; ignore objects are
    hm_d, lost_d, fp_d = case["disturb"]
    rng = np.random.RandomState(case["seed"])
    pre_hm, centers, kept = pre_heatmap(
        affine_boxes(xyxy(pre), trans_in), (in_h, in_w), hm_disturb=hm_d, lost_disturb=lost_d, fp_disturb=fp_d, rng=rng
    )
    np.testing.assert_allclose(pre_hm, np.array(case["pre_hm"]), atol=1e-6)
    np.testing.assert_allclose(centers, np.array(case["pre_cts"]).reshape(-1, 2), atol=1e-4)
    pre_ids = [pre[i]["track_id"] for i in kept]
    assert pre_ids == case["track_ids"]

    cur = t["cur"]
    labels, ignore = _labels_and_ignore(cur)
    corners = xyxy(cur)[:, [0, 1, 0, 3, 2, 3, 2, 1]].reshape(-1, 4, 2)
    moved = corners @ trans_out[:, :2].T + trans_out[:, 2]
    boxes = np.concatenate([moved.min(1), moved.max(1)], 1).astype(np.float32)
    targets = centertrack_box_targets(
        boxes, labels, ignore, output_size=(out_h, out_w), num_classes=t["num_classes"], max_objs=t["max_objs"]
    )
    track_ids = [a["track_id"] for a in cur]
    targets.update(tracking_targets(targets, track_ids, centers, pre_ids, output_size=(out_h, out_w)))
    targets.update(amodal_targets(targets, boxes, output_size=(out_h, out_w)))
    for key, value in targets.items():
        np.testing.assert_allclose(value.numpy(), np.array(case[key], np.float64), atol=1e-4, err_msg=key)
    assert targets["tracking_mask"].sum() > 0
    assert targets["ind"][2] % out_w + targets["ltrb_amodal"][2, 2] > out_w - 1  # the amodal box leaves the map


def test_disturbances_need_an_rng():
    with pytest.raises(ValueError, match="rng"):
        pre_heatmap(np.zeros((1, 4)), (8, 8), lost_disturb=0.4)


def test_tracking_target_for_a_lost_object_points_at_the_jittered_centre():
    """lost_disturb 1: every object is lost, nothing is drawn, centres are the jittered ones."""
    boxes = np.array([[10, 10, 30, 50]], np.float32)
    rng = np.random.RandomState(0)
    hm, centers, _ = pre_heatmap(boxes, (64, 64), hm_disturb=0.1, lost_disturb=1.0, rng=rng)
    assert hm.max() == 0
    draws = np.random.RandomState(0)
    jitter = np.array([draws.standard_normal() * 0.1 * 20, draws.standard_normal() * 0.1 * 40])
    np.testing.assert_allclose(centers[0], (np.array([20, 30]) + jitter) / 4, atol=1e-5)
    assert torch.is_tensor(
        centertrack_box_targets(boxes / 4, [0], [False], output_size=(16, 16), num_classes=1, max_objs=4)["hm"]
    )


@pytest.mark.parametrize("case", GOLD["decode"], ids=["wh", "ltrb_amodal"])
def test_decode_and_post_process_equal_centertrack(case):
    """``generic_decode`` (K = 100, boxes from ``wh`` or from ``ltrb_amodal``, integer centres, gathered
    ``tracking``) then ``generic_post_process`` with (c, s) and its break at ``out_thresh``."""
    from dla_dense.heads import AmodalHead, CenterNetHeads, TrackBoxHead, TrackingHead
    from dla_dense.inference.detection import to_image_mapping

    maps = {name: torch.tensor(value) for name, value in case["maps"].items()}
    heads = [TrackBoxHead(2), TrackingHead()] + ([AmodalHead()] if "ltrb_amodal" in maps else [])
    composed = CenterNetHeads(heads)
    found = composed.decode(maps, flip=False, k=100)
    meta = {"c": np.array(case["center"]), "s": np.full(2, case["scale"]), "out_height": 16, "out_width": 24}
    found = composed.to_image(found, to_image_mapping(meta))
    keep = found["scores"] > case["out_thresh"]
    expected = case["results"]
    assert int(keep.sum()) == len(expected) > 0
    np.testing.assert_allclose(found["scores"][keep].numpy(), [r["score"] for r in expected], rtol=1e-6)
    assert (found["labels"][keep] + 1).tolist() == [r["class"] for r in expected]
    for field, key in (("centers", "ct"), ("tracking", "tracking"), ("boxes", "bbox")):
        np.testing.assert_allclose(found[field][keep].numpy(), [r[key] for r in expected], atol=2e-4, err_msg=key)
