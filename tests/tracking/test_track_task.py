"""The tracking task's pieces: MOT reading and the half split, frame pairs, the CenterTrack network and its
checkpoint layout, frame-by-frame tracking through a stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dla_dense.config import default_config
from dla_dense.data.synthetic.mot import make_synthetic_mot
from dla_dense.data.video import half_range, mot_split, read_mot
from dla_dense.heads import AmodalHead, CenterNetHeads, TrackBoxHead, TrackingHead
from dla_dense.inference.tracking import TrackState, track_frame
from dla_dense.models.centertrack import CenterTrack
from dla_dense.tasks import TASKS
from dla_dense.tracking import CenterTrackTracker
from dla_dense.weights import load_checkpoint


@pytest.fixture(scope="module")
def mot_root(tmp_path_factory):
    return make_synthetic_mot(tmp_path_factory.mktemp("mot"), num_train=2, num_val=1, frames=9, size=(64, 96))


def test_half_split_is_centertracks():
    assert mot_split("train_half") == ("train", "train") and mot_split("val_half") == ("train", "val")
    assert mot_split("test") == ("test", None)
    assert list(half_range(9, "train")) == [0, 1, 2, 3, 4] and list(half_range(9, "val")) == [5, 6, 7, 8]


def test_read_mot_halves_renumber_frames_and_keep_classes(mot_root):
    whole, truth = read_mot(mot_root, "train", mot_classes=(1, 3))
    first, _ = read_mot(mot_root, "train_half", mot_classes=(1, 3))
    second, truth2 = read_mot(mot_root, "val_half", mot_classes=(1, 3))
    assert len(first) + len(second) == len(whole) == 18
    assert [f.frame_id for f in second[:4]] == [1, 2, 3, 4] and second[0].path.name == "000006.jpg"
    seq = whole[0].video
    assert truth2[seq].length == 4 and truth2[seq].rows[:, 0].min() >= 1
    only_people, _ = read_mot(mot_root, "train", mot_classes=(1,))
    assert sum(len(f.labels) for f in only_people) < sum(len(f.labels) for f in whole)
    assert set(np.concatenate([f.labels for f in whole]).tolist()) == {0, 1}


def test_read_mot_turns_distractors_into_ignore_regions(tmp_path):
    seq = tmp_path / "train" / "S-01"
    (seq / "gt").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=S-01\nimDir=img1\nseqLength=2\nimExt=.jpg\n")
    (seq / "gt" / "gt.txt").write_text(
        "1,1,10,10,20,40,1,1,1.0\n1,2,50,10,20,40,1,7,1.0\n1,3,80,10,20,40,0,1,1.0\n1,4,90,10,20,40,1,1,0.1\n"
        "2,5,10,10,20,40,1,3,1.0\n"
    )
    frames, truth = read_mot(tmp_path, "train")
    f = frames[0]
    assert f.track_ids.tolist() == [1, 2] and f.ignore.tolist() == [False, True]  # flag 0 and low visibility go
    assert len(frames[1].labels) == 0  # a car is not a class here
    assert len(truth["S-01"].rows) == 5  # TrackEval gets every row and applies its own preprocessing


def test_frame_pair_has_every_input_and_target(mot_root):
    cfg = default_config("track", backbone="dla46_c", num_classes=2, node="conv", head_conv=16)
    d = cfg.data
    d.root, d.mot_classes, d.train_split, d.crop_size, d.max_objs = str(mot_root), (1, 3), "train", (64, 96), 16
    d.classes = ("pedestrian", "car")
    dataset = TASKS["track"](cfg).train_set()
    dataset.transform.set_random_seed(0)
    item = dataset[3]
    assert item["image"].shape == item["pre_image"].shape == (3, 64, 96) and item["pre_hm"].shape == (1, 64, 96)
    assert (
        item["hm"].shape == (2, 16, 24) and item["tracking"].shape == (16, 2) and item["ltrb_amodal"].shape == (16, 4)
    )
    assert item["mask"].sum() > 0 and 0 < item["pre_hm"].max() <= 1
    moving = item["tracking_mask"][:, 0] > 0
    assert moving.sum() > 0  # objects seen in the previous frame have a tracking target


def test_same_aug_keeps_the_affine_for_another_frame_and_disturbs_a_static_image():
    from dla_dense.data.track_transforms import CenterTrackTrainTransform

    heads = CenterNetHeads([TrackBoxHead(1, max_objs=4), TrackingHead()])
    transform = CenterTrackTrainTransform(
        heads,
        input_size=(64, 64),
        mean=(0.5,) * 3,
        std=(0.5,) * 3,
        scale_range=None,
        flip=0,
        color_aug=False,
        hm_disturb=0,
        lost_disturb=0,
        fp_disturb=0,
        seed=0,
    )
    obj = {
        "boxes": np.array([[20, 20, 40, 44]], np.float32),
        "labels": np.array([0]),
        "ignore": np.array([False]),
        "crowd": np.array([False]),
        "track_ids": np.array([5]),
    }
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    pair = {"image": image, **obj, "pre": {"image": image, **obj}, "image_id": 0}
    same = transform({**pair, "frame_dist": 1})
    assert torch.equal(same["image"], same["pre_image"])  # same frame content, same affine
    assert same["tracking"][0].abs().max() < 1  # the object did not move: offset within the integer rounding
    static = transform({**pair, "frame_dist": 0})
    assert not torch.equal(static["image"], static["pre_image"])  # one image under two affines


def test_centertrack_checkpoint_layout_loads_and_reproduces_outputs(tmp_path):
    heads = CenterNetHeads([TrackBoxHead(1), TrackingHead(), AmodalHead()])
    torch.manual_seed(0)
    model = CenterTrack("dla34", 1, node="conv", heads=heads.outputs, initial_bias=heads.initial_bias()).eval()
    keys = set(model.state_dict())
    expected = {
        f"base.{b}.{k}"
        for b in ("pre_img_layer", "pre_hm_layer")
        for k in ("0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked")
    }
    assert expected <= keys and {"hm.0.weight", "tracking.2.bias", "ltrb_amodal.2.weight"} <= keys
    assert float(model.hm[-1].bias[0].detach()) == pytest.approx(-4.6)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    state["base.fc.weight"] = torch.zeros(1000, 512, 1, 1)  # released files may keep ImageNet's classifier
    path = tmp_path / "mot17_half.pth"
    torch.save({"epoch": 70, "state_dict": state}, path)
    again = CenterTrack("dla34", 1, node="conv", heads=heads.outputs, initial_bias=heads.initial_bias()).eval()
    extras = load_checkpoint(again, path)
    assert extras["epoch"] == 70
    x = torch.randn(1, 3, 64, 96)
    inputs = (x, torch.randn(1, 3, 64, 96), torch.zeros(1, 1, 64, 96))
    with torch.no_grad():
        a, b = model(*inputs), again(*inputs)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6)


def test_zero_previous_heatmap_still_goes_through_its_branch():
    heads = CenterNetHeads([TrackBoxHead(1), TrackingHead()])
    model = CenterTrack("dla46_c", 1, node="conv", head_conv=8, heads=heads.outputs).eval()
    inputs = (torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64), torch.zeros(1, 1, 64, 64))
    with torch.no_grad():
        before = model(*inputs)["hm"]
        model.base.pre_hm_layer[1].bias.fill_(1.0)  # BN bias -> ReLU -> added even for an all-zero map
        after = model(*inputs)["hm"]
    assert not torch.allclose(before, after)


class _MovingPeak(nn.Module):
    """A stand-in CenterTrack model: one object of class 0 whose centre moves 3 output pixels right per call,
    with the tracking offset pointing back to where it was."""

    inputs = {"image": 3, "pre_image": 3, "pre_hm": 1}

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.calls = 0
        self.seen_pre_hm: list[float] = []

    def forward(self, image, pre_image, pre_hm):
        n, _, h, w = image.shape
        out = {"hm": torch.full((n, 1, h // 4, w // 4), -9.0), "reg": torch.zeros(n, 2, h // 4, w // 4)}
        out["wh"] = torch.full((n, 2, h // 4, w // 4), 6.0)
        out["tracking"] = torch.zeros(n, 2, h // 4, w // 4)
        x = 4 + 3 * self.calls
        out["hm"][:, 0, 8, x] = 5.0
        out["tracking"][:, 0, 8, x] = -3.0 if self.calls else 0.0
        self.seen_pre_hm.append(float(pre_hm.max()))
        self.calls += 1
        return out


def test_stream_keeps_one_id_for_a_steadily_moving_object():
    from dla_dense.data.det_transforms import CenterNetEvalTransform

    heads = CenterNetHeads([TrackBoxHead(1), TrackingHead()])
    model = _MovingPeak()
    state = TrackState({"centertrack": CenterTrackTracker(new_thresh=0.4, pre_thresh=0.5)})
    transform = CenterNetEvalTransform(input_size=(64, 128), mean=(0.5,) * 3, std=(0.5,) * 3)
    image = np.zeros((64, 128, 3), np.uint8)
    ids = []
    for _ in range(6):
        _, tracks = track_frame(model, image, state, heads=heads, transform=transform, out_thresh=0.4)
        ids.append(tracks["centertrack"]["track_ids"].tolist())
    assert ids == [[1]] * 6
    assert model.seen_pre_hm[0] == 0 and min(model.seen_pre_hm[1:]) == 1  # first frame: empty heatmap


@pytest.mark.slow  # exports through the engines
def test_predictor_streams_the_same_tracks_through_onnxruntime_and_fused(tmp_path):
    from support import write_tiny_config

    from dla_dense import Predictor
    from dla_dense.config import load_config
    from dla_dense.data.synthetic.mot import synthetic_video
    from dla_dense.tasks import build_model

    config = load_config(str(write_tiny_config(tmp_path / "track.py", "track", tmp_path / "mot")))
    torch.manual_seed(0)
    model = build_model(config).eval()
    with torch.no_grad():
        model.hm[-1].bias.fill_(2.0)  # random weights with detections above track_thresh
    frames = synthetic_video(0, 4, 64, 96)[0]
    runs = {}
    for name, options in {"torch": {}, "onnxruntime": {"backend": "onnxruntime"}, "fast": {"fast": True}}.items():
        stream = Predictor(config, model=model, device="cpu", **options).stream()
        runs[name] = [stream(frame) for frame in frames]
    reference = runs.pop("torch")
    assert sum(len(r.track_ids) for r in reference) > 4
    for results in runs.values():
        for got, want in zip(results, reference, strict=True):
            np.testing.assert_array_equal(got.track_ids, want.track_ids)
            np.testing.assert_allclose(got.boxes, want.boxes, atol=1e-3)


def test_a_validation_split_without_objects_leaves_the_metrics_undefined(tmp_path):
    """No ground-truth object: HOTA, MOTA, IDF1 are NaN (``undefined``, ``null``, never ``best.pth``), not 0."""
    from dla_dense.dist import DistInfo

    root = make_synthetic_mot(tmp_path / "mot", num_train=1, num_val=1, frames=3, size=(64, 96))
    for gt in (root / "val").glob("*/gt/gt.txt"):
        gt.write_text("")
    cfg = default_config("track", backbone="dla46_c", num_classes=2, node="conv", head_conv=16)
    d = cfg.data
    d.root, d.mot_classes, d.val_split, d.crop_size = str(root), (1, 3), "val", (64, 96)
    d.classes = ("pedestrian", "car")
    cfg.evaluation.input_size = (64, 96)
    task = TASKS["track"](cfg)
    metrics = task.evaluate(task.build_model(), task.val_set(), DistInfo())
    assert all(np.isnan(metrics[k]) for k in ("HOTA", "MOTA", "IDF1", "baseline_HOTA"))
    assert "undefined" in task.info.test.summary(task, metrics)
