"""multi_pose_targets against CenterNet's MultiPoseDataset loop on random cases with every edge case: boxes
clipped or empty after clipping, objects without visible joints, joints outside the map or on its border,
visibility 0/1/2, more objects than max_objs, rectangular maps, 17 and 4 joints, one and two classes."""

from pathlib import Path

import pytest
import torch

from dla_dense.data import multi_pose_targets

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
