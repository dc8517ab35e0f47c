"""The ``ddd`` heads equal CenterNet's own code (tests/golden/make_ddd_golden.py ran it): targets of its sampler with
and without its augmentation, every loss term with the gradients of the total, decoding and post-processing into
KITTI rows; and the geometry by hand (the worked example of CenterNet's default camera)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from dla_dense.heads import CenterNetHeads
from dla_dense.heads.ddd import AmodalOffsetHead, DddBoxHead, DepthHead, DimensionHead, RotationHead
from dla_dense.inference.detection import to_image_mapping
from dla_dense.ops.affine import Warp, get_affine_transform
from dla_dense.ops.ddd import (
    alpha_to_rotation_y,
    bins_to_alpha,
    default_calib,
    project,
    rotation_bins,
    rotation_y_to_alpha,
    unproject,
)

GOLDEN = torch.load(Path(__file__).parents[1] / "golden" / "ddd_golden.pt", weights_only=False)
CLASSES = {1: 0, 2: 1, 3: 2}  # KITTI json ids of Pedestrian, Car, Cyclist -> heatmap channels
IGNORED = {9: -1, 6: 0, 4: 1}  # DontCare: every channel; Person_sitting: Pedestrian's; Van: Car's


def ddd_heads() -> CenterNetHeads:
    return CenterNetHeads([DddBoxHead(3), RotationHead(), DimensionHead(), DepthHead()])


def _item() -> dict:
    """The golden objects as a KITTI reader's item (ignored types as ignore regions, Misc dropped)."""
    objects = json.loads(GOLDEN["objects"])
    kept = [o for o in objects if o["category"] in CLASSES]
    ignored = [o for o in objects if o["category"] in IGNORED]
    return {
        "boxes": np.array([[o["x1"], o["y1"], o["x2"], o["y2"]] for o in kept], np.float32),
        "labels": np.array([CLASSES[o["category"]] for o in kept]),
        "alpha": np.array([o["alpha"] for o in kept]),
        "dims": np.array([[o["h"], o["w"], o["l"]] for o in kept], np.float32),
        "locations": np.array([[0.0, 0.0, o["depth"]] for o in kept], np.float32),
        "ignore_boxes": np.array([[o["x1"], o["y1"], o["x2"], o["y2"]] for o in ignored], np.float32),
        "ignore_labels": np.array([IGNORED[o["category"]] for o in ignored]),
        "calib": GOLDEN["calib"],
    }


@pytest.mark.parametrize("index", [0, 1], ids=["plain", "augmented"])
def test_targets_equal_centernets_sampler(index):
    reference = GOLDEN["targets"][index]
    heads = ddd_heads()
    warp = Warp(width=320, flipped=False, matrix=get_affine_transform(reference["c"], reference["s"], (80, 24)))
    fields = {**heads.warp(_item(), warp), "augmented": reference["aug"]}
    ours = heads.encode(fields, output_size=(24, 80))
    torch.testing.assert_close(ours["hm"], reference["hm"], atol=1e-6, rtol=0)
    slots = reference["rot_mask"].nonzero().flatten()  # the reference's slot of an object is its annotation index
    mine = ours["reg_mask"].nonzero().flatten()
    assert len(slots) == len(mine) == (5 if index == 0 else 3)  # the augmented crop leaves two cars out
    for name in ("wh", "reg", "ind", "rotbin", "rotres", "dep", "dim"):
        torch.testing.assert_close(ours[name][mine], reference[name][slots].to(ours[name].dtype), atol=1e-5, rtol=0)
    torch.testing.assert_close(ours["dep_mask"][mine], reference["reg_mask"][slots])  # no depth on augmented images
    torch.testing.assert_close(ours["dim_mask"][mine], reference["reg_mask"][slots])
    assert ours["rot_mask"].sum() == len(slots) and ours["hm"].eq(1).sum() == len(slots)
    if index == 0:  # a DontCare peak in each of the 3 channels, a Person_sitting's and a Van's
        assert ours["hm"].eq(0.9999).sum() == 5


def test_losses_and_gradients_equal_centernets():
    golden = GOLDEN["loss"]
    reference = GOLDEN["targets"]
    names = ("hm", "wh", "reg", "ind", "rotbin", "rotres", "dep", "dim")
    batch = {k: torch.stack([r[k] for r in reference]) for k in names}
    batch["reg_mask"] = batch["rot_mask"] = torch.stack([r["rot_mask"] for r in reference])
    batch["dep_mask"] = batch["dim_mask"] = torch.stack([r["reg_mask"] for r in reference])
    outputs = {k: v.clone().requires_grad_() for k, v in golden["outputs"].items()}
    heads = ddd_heads()
    terms = heads.loss(outputs, batch)
    for name, value in golden["terms"].items():
        torch.testing.assert_close(terms[name], value, rtol=1e-5, atol=1e-6, msg=name)
    total = heads.total_loss(terms)
    torch.testing.assert_close(total, golden["total"], rtol=1e-5, atol=1e-5)
    total.backward()
    for name, grad in golden["grads"].items():
        torch.testing.assert_close(outputs[name].grad, grad, rtol=1e-4, atol=1e-7, msg=name)


def test_decode_and_post_process_equal_centernets():
    golden = GOLDEN["decode"]
    heads = ddd_heads()
    found = heads.decode(golden["outputs"], flip=False, k=100)
    meta = {"c": golden["c"], "s": golden["s"], "out_width": 80, "out_height": 24}
    mapped = heads.to_image(found, to_image_mapping(meta, 1.0, {"calib": golden["calib"]}))
    for cls, rows in golden["per_class"].items():
        keep = mapped["labels"] == cls - 1
        ours = torch.cat(
            [
                mapped["alpha"][keep, None],
                mapped["boxes"][keep],
                mapped["dims"][keep],
                mapped["locations"][keep],
                mapped["rotation_y"][keep, None],
                mapped["scores"][keep, None],
            ],
            1,
        )
        torch.testing.assert_close(ours.float(), rows, atol=2e-4, rtol=1e-5, msg=f"class {cls}")


def test_the_amodal_offset_points_at_the_projected_3d_centre():
    calib = GOLDEN["calib"].astype(np.float64)
    item = {**_item(), "locations": np.array([[2.0, 1.6, 20.0]] * 5, np.float32)}
    heads = CenterNetHeads([DddBoxHead(3), AmodalOffsetHead()])
    matrix = get_affine_transform(np.array([160.0, 48.0]), np.array([320.0, 96.0]), (80, 24))
    fields = heads.warp(item, Warp(width=320, flipped=False, matrix=matrix))
    targets = heads.encode(fields, output_size=(24, 80))
    centre = project(np.array([[2.0, 0.85, 20.0]]), calib)[0]  # h = 1.5: the 3D centre is 0.75 m above
    expected = centre @ matrix[:, :2].T + matrix[:, 2]
    k = int(targets["reg_mask"].nonzero()[0])
    ct_int = np.array([targets["ind"][k] % 80, targets["ind"][k] // 80], np.float32)
    np.testing.assert_allclose(targets["amodel_offset"][k].numpy() + ct_int, expected, atol=1e-4)
    assert targets["amodel_offset_mask"].sum() == 2 * targets["reg_mask"].sum()


def test_geometry_of_centernets_worked_example():
    calib = GOLDEN["calib"].astype(np.float64)
    pixel = project(np.array([[2.0, 0.85, 20.0]]), calib)
    np.testing.assert_allclose(pixel, [[676.906, 210.487]], atol=1e-3)
    depth = 20.0 + calib[2, 3]  # the homogeneous depth gives the point back exactly
    np.testing.assert_allclose(unproject(pixel, [depth], calib), [[2.0, 0.85, 20.0]], atol=1e-9)
    np.testing.assert_allclose(unproject(pixel, [20.0], calib)[0, 2], 20.0 - calib[2, 3])  # CenterNet's convention
    alpha = rotation_y_to_alpha(-1.5, pixel[0, 0], calib)
    assert float(alpha) == pytest.approx(-1.60264, abs=1e-5)
    assert float(alpha_to_rotation_y(alpha, pixel[0, 0], calib)) == pytest.approx(-1.5)
    np.testing.assert_allclose(default_calib(1242, 375)[:, 2], [621, 187.5, 1])


def test_rotation_bins_round_trip_over_the_circle():
    alpha = np.concatenate([np.linspace(-math.pi, math.pi, 721), [math.pi / 6, -math.pi / 6, 5 * math.pi / 6]])
    rotbin, rotres = rotation_bins(alpha)
    assert rotbin.sum(1).min() >= 1
    both = (np.abs(alpha) < math.pi / 6) | (np.abs(alpha) > 5 * math.pi / 6)
    assert ((rotbin.sum(1) == 2) == both).all()
    rot = np.zeros((len(alpha), 8), np.float64)
    rot[:, 1], rot[:, 5] = rotbin[:, 0], rotbin[:, 1] * 0.5  # the first bin wins where both hold
    rot[:, 2], rot[:, 3] = np.sin(rotres[:, 0].astype(np.float64)), np.cos(rotres[:, 0].astype(np.float64))
    rot[:, 6], rot[:, 7] = np.sin(rotres[:, 1].astype(np.float64)), np.cos(rotres[:, 1].astype(np.float64))
    decoded = bins_to_alpha(torch.from_numpy(rot)).numpy()
    error = np.angle(np.exp(1j * (decoded - alpha)))
    assert np.abs(error).max() < 1e-6


def test_the_training_transform_gives_centernets_targets_and_marks_augmented_images():
    from dla_dense.data.ddd_transforms import DddTrainTransform

    item = {**_item(), "image": np.full((96, 320, 3), 128, np.uint8), "image_id": 0}
    plain = DddTrainTransform(ddd_heads(), input_size=(96, 320), aug=0.0)(item)
    reference = GOLDEN["targets"][0]
    torch.testing.assert_close(plain["hm"], reference["hm"], atol=1e-6, rtol=0)
    assert plain["image"].shape == (3, 96, 320) and plain["dep_mask"].sum() == 5
    np.testing.assert_allclose(plain["calib"][:2], GOLDEN["calib"][:2] / 4, rtol=1e-6)  # the output map's camera
    transform = DddTrainTransform(ddd_heads(), input_size=(96, 320), aug=1.0, seed=0)
    for _ in range(5):
        augmented = transform(item)
        assert augmented["dep_mask"].sum() == augmented["dim_mask"].sum() == 0  # no depth or size on a crop
        assert augmented["rot_mask"].sum() == augmented["reg_mask"].sum()  # rotation, boxes and offsets train


def test_centertracks_augmentation_mirrors_alpha_and_scales_depth_with_the_crop():
    from dla_dense.data.det_transforms import CenterNetTrainTransform

    item = {**_item(), "image": np.full((96, 320, 3), 128, np.uint8), "image_id": 0}
    heads = CenterNetHeads([DddBoxHead(3), RotationHead(), DimensionHead(), DepthHead(reduction="objects")])
    transform = CenterNetTrainTransform(heads, input_size=(96, 320), scale_range=(0.6, 1.4), flip=1.0, seed=0)
    seen = []
    original = heads.warp
    heads.warp = lambda item, warp: seen.append(warp) or original(item, warp)
    for _ in range(4):
        sample = transform(item)
        warp = seen[-1]
        side = 80 / float(np.hypot(*warp.matrix[:, 0]))  # the crop's side: the output width over the warp's scale
        kept = [k for k in range(5) if sample["reg_mask"][k]]
        depth = item["locations"][kept, 2] * side / 320  # z times the crop side over the image's longer side
        np.testing.assert_allclose(sample["dep"][kept, 0].numpy(), depth, rtol=1e-4)
    flipped = heads.heads[1].warp({"alpha": np.array([0.5, -0.5, 3.0, -3.0])}, seen[-1])["alpha"]
    np.testing.assert_allclose(flipped, [np.pi - 0.5, -np.pi + 0.5, np.pi - 3.0, -np.pi + 3.0])
    assert seen[-1].flipped


def test_the_ddd_task_trains_with_either_augmentation(tiny_config):
    from dla_dense import load_config
    from dla_dense.data.det_transforms import CenterNetTrainTransform
    from dla_dense.tasks import TASKS

    for augmentation in ("centernet", "centertrack"):
        cfg = load_config(tiny_config("ddd", data=dict(augmentation=augmentation, hflip=True)))
        task = TASKS["ddd"](cfg)
        task.prepare()
        sample = task.train_set()[0]
        assert sample["image"].shape == (3, 64, 192) and sample["dep"].shape == (16, 1)
        assert isinstance(task.train_transform(), CenterNetTrainTransform) == (augmentation == "centertrack")
