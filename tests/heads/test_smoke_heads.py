"""SMOKE's heads: training targets equal to SMOKE's own sampler on the same images and draws
(tests/golden/make_smoke_targets_golden.py), the corner loss with the output map's camera equal to SMOKE's with
``K`` and ``trans_mat`` apart, decoding that recovers the boxes a regression map encodes, and SMOKE's network
normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dla_dense.data.ddd_transforms import SmokeTrainTransform
from dla_dense.data.kitti import KittiDataset
from dla_dense.data.synthetic.kitti import make_synthetic_kitti
from dla_dense.heads import CenterNetHeads
from dla_dense.heads.base import ToImage
from dla_dense.heads.smoke import DIM_REFS, SmokeKeypointHead, SmokeRegressionHead
from dla_dense.models.centernet import CenterNet
from dla_dense.models.group_norm import with_group_norm
from dla_dense.ops.smoke import DEPTH_REF, disentangled_corner_loss

GOLDEN = torch.load(Path(__file__).parents[1] / "golden" / "smoke_targets_golden.pt", weights_only=True)
CLASSES = ("Car", "Cyclist", "Pedestrian")


def smoke_heads(max_objs: int = 30) -> CenterNetHeads:
    return CenterNetHeads([SmokeKeypointHead(3, max_objs=max_objs), SmokeRegressionHead(CLASSES, max_objs=max_objs)])


class Scripted:
    """SMOKE's random draws as the golden record made them: ``random()`` values, ``choice()`` indices."""

    def __init__(self, draws, choices):
        self.draws, self.choices = iter(draws), iter(choices)

    def random(self) -> float:
        return next(self.draws)

    def choice(self, values):
        return values[next(self.choices)]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = make_synthetic_kitti(tmp_path_factory.mktemp("smoke") / "kitti", **GOLDEN["params"])
    dataset = KittiDataset(root, "train", image_sets="ImageSets", classes=CLASSES)
    transform = SmokeTrainTransform(smoke_heads(), input_size=(128, 416), down_ratio=4, bgr=True)
    out = []
    for record in GOLDEN["records"]:
        transform.rng = Scripted(record["draws"], record["choices"])
        out.append((record, transform(dataset[record["index"]])))
    return out


def test_the_smoke_targets_equal_smoke_s_sampler(samples):
    for record, sample in samples:
        where = f"image {record['name']}, case {record['case']}"
        torch.testing.assert_close(sample["hm"], record["hm"].float(), atol=1e-6, rtol=0, msg=where)
        placed = sample["smoke_placed"].bool()
        assert torch.equal(placed, record["reg"].abs().flatten(1).sum(1) > 0), where
        assert torch.equal(sample["reg_mask"], record["reg_mask"].to(torch.uint8)), where
        assert torch.equal(sample["flip_mask"], record["flip_mask"].to(torch.uint8)), where
        width = record["hm"].shape[-1]
        points = record["proj_p"].long()
        assert torch.equal(sample["ind"][placed], (points[:, 1] * width + points[:, 0])[placed]), where
        assert torch.equal(sample["smoke_labels"][placed], record["cls_ids"].long()[placed]), where
        for ours, theirs in (
            ("smoke_corners", "reg"),
            ("smoke_dims", "dimensions"),
            ("smoke_locations", "locations"),
            ("smoke_rotys", "rotys"),
        ):
            torch.testing.assert_close(sample[ours], record[theirs].float(), atol=2e-4, rtol=0, msg=where)
        camera = record["trans_mat"].double() @ record["K"].double()
        torch.testing.assert_close(sample["smoke_K"].double(), camera, atol=1e-3, rtol=1e-5, msg=where)
    assert {record["case"] for record, sample in samples if sample["flip_mask"].any()} == {"flip"}
    assert all(not sample["reg_mask"].any() for record, sample in samples if "affine" in record["case"])


def test_the_loss_with_the_output_camera_equals_smoke_s_with_k_and_trans_apart(samples):
    heads = smoke_heads()
    batch = {
        key: torch.stack([s[key] for _, s in samples[:4]])
        for key in samples[0][1]
        if key.startswith(("smoke", "ind", "reg_mask", "flip_mask", "hm"))
    }
    torch.manual_seed(0)
    raw = torch.randn(4, 8, 32, 104, requires_grad=True)
    ours = heads.loss({"hm": torch.randn(4, 3, 32, 104), "regression": raw}, batch)["reg_loss"]
    records = [r for r, _ in samples[:4]]
    activated = SmokeRegressionHead(CLASSES).activate({"regression": raw})["regression"]
    theirs = disentangled_corner_loss(
        activated,
        {
            "points": torch.stack([r["proj_p"].long() for r in records]),
            "K": torch.stack([r["K"].float() for r in records]),
            "trans": torch.stack([r["trans_mat"].float() for r in records]),
            "labels": torch.stack([r["cls_ids"].long() for r in records]),
            "dims": torch.stack([r["dimensions"].float() for r in records]),
            "locations": torch.stack([r["locations"].float() for r in records]),
            "rotys": torch.stack([r["rotys"].float() for r in records]),
            "corners": torch.stack([r["reg"].float() for r in records]),
            "reg_mask": torch.stack([r["reg_mask"] for r in records]),
            "flip_mask": torch.stack([r["flip_mask"] for r in records]),
        },
        max_objs=30,
    )
    assert ours.item() > 0
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_decoding_recovers_the_boxes_a_regression_map_encodes():
    """A heatmap with a peak at each object's keypoint and a raw regression map holding SMOKE's codes of its
    depth, sub-pixel offset, size and orientation decode back to the object (image = input = 4 x output)."""
    calib = np.array([[400.0, 0, 210, 25], [0, 400, 60, 0.3], [0, 0, 1, 0.004]])
    k = calib[:, :3]
    objects = [  # label, (h, w, l), bottom centre, yaw
        (0, (1.5, 1.6, 3.9), (-2.0, 1.6, 15.0), 0.4),
        (2, (1.7, 0.7, 0.9), (3.0, 1.7, 22.0), -2.2),
        (1, (1.7, 0.6, 1.8), (0.5, 1.5, 9.0), 2.9),
    ]
    hm = torch.full((1, 3, 32, 104), -10.0)
    raw = torch.zeros(1, 8, 32, 104)
    for label, (h, w, length), (x, y, z), ry in objects:
        pixel = k @ np.array([x, y - h / 2, z])
        u, v = pixel[:2] / pixel[2] / 4
        hm[0, label, int(v), int(u)] = 5.0
        alpha = ry - np.arctan(x / z)
        ref = np.array(DIM_REFS[CLASSES[label]])
        delta = np.log(np.array([length, h, w]) / ref)
        raw[0, :, int(v), int(u)] = torch.tensor(
            [(z - DEPTH_REF[0]) / DEPTH_REF[1], u - int(u), v - int(v), *np.log((delta + 0.5) / (0.5 - delta)),
             np.cos(alpha), -np.sin(alpha)]
        )  # fmt: skip
    heads = smoke_heads()
    found = heads.decode({"hm": hm, "regression": raw}, flip=False, k=3)
    back = ToImage(boxes=None, points=lambda p: np.asarray(p, np.float64) * 4, scale=1.0, fields={"calib": calib})
    placed = heads.to_image(found, back)
    order = placed["labels"].argsort()
    for j, (label, dims, location, ry) in zip(order.tolist(), sorted(objects), strict=True):
        assert placed["labels"][j] == label
        np.testing.assert_allclose(placed["dims"][j], dims, atol=1e-4)
        np.testing.assert_allclose(placed["locations"][j], location, atol=2e-3)
        assert abs(placed["rotation_y"][j] - ry) < 1e-4
        box = placed["boxes"][j]
        assert box[0] < box[2] and box[1] < box[3]


def test_smoke_s_network_has_group_norm_everywhere_and_its_head_layout():
    model = CenterNet("dla34", 3, node="conv", head_conv=64, heads={"hm": 3, "wh": 0, "reg": 0, "regression": 8})
    with_group_norm(model, ["hm", "regression"])
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert {m.num_groups for m in norms} == {16, 32}
    assert all(m.num_groups == (32 if m.num_channels % 32 == 0 else 16) for m in norms)
    assert [type(m).__name__ for m in model.regression] == ["Conv2d", "GroupNorm", "ReLU", "Conv2d"]
    out = model(torch.randn(1, 3, 64, 96))
    assert out["regression"].shape == (1, 8, 16, 24)
    assert list(model.heads) == ["hm", "regression"] and not hasattr(model, "wh")
