"""multi_pose_targets against CenterNet's MultiPoseDataset loop on random cases with every edge case: boxes
clipped or empty after clipping, objects without visible joints, joints outside the map or on its border,
visibility 0/1/2, more objects than max_objs, rectangular maps, 17 and 4 joints, one and two classes."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dla_dense.data.det_transforms import (
    CENTERNET_COCO_MEAN,
    CENTERNET_COCO_STD,
    CenterNetTrainTransform,
    affine_points,
    get_affine_transform,
)
from dla_dense.data.keypoints import COCO_PERSON_KEYPOINTS, flip_pairs_from_names
from dla_dense.heads import BoxHead, CenterNetHeads, KeypointHead, multi_pose_targets

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "centernet_pose_golden.pt"


@pytest.fixture(scope="module")
def cases() -> list:
    return torch.load(GOLDEN, weights_only=True)["targets"]


@pytest.mark.parametrize("case", range(5))
def test_targets_equal_centernet(cases, case):
    c = cases[case]
    got = multi_pose_targets(
        c["boxes"],
        c["labels"],
        c["keypoints"],
        output_size=c["output_size"],
        num_classes=c["num_classes"],
        max_objs=c["max_objs"],
    )
    assert set(got) == set(c["expected"])
    for key, expected in c["expected"].items():
        assert got[key].dtype == expected.dtype, key
        torch.testing.assert_close(got[key], expected, rtol=0, atol=0, msg=key)


def test_edge_cases_are_in_the_golden_cases(cases):
    c = cases[0]
    assert c["expected"]["reg_mask"][:3].tolist() == [0, 0, 0]  # zero width, off the map, no visible joint
    assert c["expected"]["wh"][2].abs().sum() > 0  # the object without visible joints keeps its box
    assert cases[3]["boxes"].shape[0] > cases[3]["max_objs"]
    assert cases[1]["output_size"][0] != cases[1]["output_size"][1]


def test_keypoints_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"keypoints must have shape \[2, J, 3\]"):
        multi_pose_targets(torch.zeros(2, 4), torch.zeros(2), torch.zeros(2, 17, 2), output_size=(8, 8), num_classes=1)


ROTATION_GOLDEN = GOLDEN.with_name("centernet_pose_rotation_golden.pt")


class _Replay:
    """A stand-in for the transform's numpy Generator that replays the draws CenterNet's sampler made."""

    def __init__(self, draws: dict) -> None:
        self.draws = draws
        self.centers = iter(draws["center"])
        self.randoms = iter(draws["random"])

    def choice(self, options):
        assert np.isclose(options, self.draws["scale"]).any()
        return self.draws["scale"]

    def integers(self, low, high):
        return next(self.centers)

    def random(self):
        return next(self.randoms)

    def normal(self):
        return self.draws["normal"]


@pytest.mark.parametrize("case", range(4))
def test_rotated_training_items_equal_centernet(case):
    """Whole training items (CenterNet's aug_rot 0.5, the same draws): the rotated image, joints rotated and
    boxes not, every object's joints kept (even one whose box is off the map), hm 0.9999, box targets masked;
    the last case draws no rotation."""
    c = torch.load(ROTATION_GOLDEN, weights_only=True)["cases"][case]
    size = c["input_size"]
    pairs = flip_pairs_from_names(COCO_PERSON_KEYPOINTS)
    heads = CenterNetHeads(
        [BoxHead(1, max_objs=c["max_objs"]), KeypointHead(len(COCO_PERSON_KEYPOINTS), pairs, max_objs=c["max_objs"])]
    )
    transform = CenterNetTrainTransform(
        heads,
        input_size=(size, size),
        mean=CENTERNET_COCO_MEAN,
        std=CENTERNET_COCO_STD,
        bgr=True,
        color_aug=False,
        rotate_prob=0.5,
        rotate=c["rotate"],
    )
    transform.rng = _Replay(c["draws"])
    item = {
        "image": c["image_rgb"].numpy(),
        "boxes": c["boxes"],
        "labels": torch.zeros(len(c["boxes"])),
        "keypoints": c["keypoints"],
        "image_id": 0,
    }
    got = transform(item)
    expected = dict(c["expected"])
    torch.testing.assert_close(got.pop("image"), expected.pop("input"), rtol=0, atol=0.05)
    assert set(got) - {"image_id"} == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value.to(got[key].dtype), rtol=0, atol=1e-5, msg=key)
    rotated = c["draws"]["random"][0] < 0.5
    assert bool((expected["hm"] == np.float32(0.9999)).all()) == rotated
    assert int(expected["hp_mask"].sum()) > 0


@pytest.mark.parametrize("rot", [0.0, 17.0, -60.0])
@pytest.mark.parametrize("output_size", [(16, 16), (24, 12)])
def test_affine_transform_with_rotation_is_the_three_point_construction(rot, output_size):
    """The centre goes to the centre and the point half a side above it (turned by rot) to the top middle."""
    center, scale = np.array([40.0, 25.0]), 70.0
    theta = np.radians(rot)
    up = np.array([np.sin(theta), -np.cos(theta)]) * scale / 2
    src = np.float32([center, center + up, center + up + [up[1], -up[0]]])
    w, h = output_size
    dst = np.float32([[w / 2, h / 2], [w / 2, h / 2 - w / 2], [w / 2 - w / 2, h / 2 - w / 2]])
    expected = cv2.getAffineTransform(src, dst)
    matrix = get_affine_transform(center, scale, output_size, rot=rot)
    np.testing.assert_allclose(matrix, expected, atol=1e-4)
    back = get_affine_transform(center, scale, output_size, rot=rot, inverse=True)
    points = np.array([[3.0, 4.0], [60.0, -2.0]])
    np.testing.assert_allclose(affine_points(affine_points(points, matrix), back), points, atol=1e-9)


def test_rotated_targets_train_the_joint_heatmaps_only():
    """Hand case: a box off the map (empty after clipping) keeps its in-map joint with radius 0; nothing else."""
    boxes = torch.tensor([[20.0, 2.0, 30.0, 6.0]])
    points = torch.zeros(1, 2, 3)
    points[0, 0] = torch.tensor([5.5, 3.25, 2.0])
    points[0, 1] = torch.tensor([9.0, 9.0, 1.0])  # outside the 8x8 map
    t = multi_pose_targets(boxes, torch.zeros(1), points, output_size=(8, 8), num_classes=1, rotated=True)
    assert bool((t["hm"] == np.float32(0.9999)).all()) and t["reg_mask"].sum() == 0 and t["hps_mask"].sum() == 0
    assert t["hp_mask"][:2].tolist() == [1, 0] and t["hp_mask"].sum() == 1 and t["hp_ind"][0] == 3 * 8 + 5
    torch.testing.assert_close(t["hp_offset"][0], torch.tensor([0.5, 0.25]))
    assert t["hm_hp"][0].sum() == 1 and t["hm_hp"][0, 3, 5] == 1 and t["hm_hp"][1].sum() == 0
    assert t["wh"][0].tolist() == [0.0, 4.0] and t["ind"][0] == 4 * 8 + 7
