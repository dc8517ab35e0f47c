"""multi_pose decode, flip helpers and the weighted L1 loss against CenterNet's own code on random cases
(its outputs saved in tests/golden/centernet_pose_golden.pt)."""

from pathlib import Path

import pytest
import torch

from dla_dense.ops import (
    MULTI_POSE_WEIGHTS,
    flip_lr,
    flip_lr_off,
    multi_pose_decode,
    multi_pose_loss,
    reg_weighted_l1_loss,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "centernet_pose_golden.pt"


@pytest.fixture(scope="module")
def golden() -> dict:
    return torch.load(GOLDEN, weights_only=True)


@pytest.mark.parametrize("case", range(3))
def test_decode_equals_centernet(golden, case):
    data = golden["decode"][case]
    x, k = data["inputs"], data["K"]
    torch.testing.assert_close(multi_pose_decode(**x, K=k), data["full"], rtol=0, atol=0)
    no_hp = multi_pose_decode(x["heat"], x["wh"], x["kps"], x["reg"], K=k)
    torch.testing.assert_close(no_hp, data["no_hp"], rtol=0, atol=0)
    no_reg = multi_pose_decode(x["heat"], x["wh"], x["kps"], hm_hp=x["hm_hp"], K=k)
    torch.testing.assert_close(no_reg, data["no_reg"], rtol=0, atol=0)
    joints = x["kps"].shape[1] // 2
    assert data["full"].shape == (x["heat"].shape[0], k, 4 + 1 + 2 * joints + 1)
    assert not torch.equal(data["full"], data["no_hp"])  # some joints did snap to keypoint peaks


def test_flip_helpers_equal_centernet(golden):
    f = golden["flips"]
    pairs = [tuple(p) for p in f["flip_idx"]]
    torch.testing.assert_close(flip_lr(f["hm_hp"], pairs), f["flip_lr"], rtol=0, atol=0)
    torch.testing.assert_close(flip_lr_off(f["hps"], pairs), f["flip_lr_off"], rtol=0, atol=0)


def test_flip_lr_off_takes_any_number_of_joints():
    hps = torch.arange(2 * 4 * 1 * 3, dtype=torch.float32).reshape(1, 8, 1, 3)
    out = flip_lr_off(hps, [(0, 3)])
    torch.testing.assert_close(out[:, 0], -hps[:, 6].flip(-1))  # x of joint 0 <- negated, mirrored x of joint 3
    torch.testing.assert_close(out[:, 7], hps[:, 1].flip(-1))  # y of joint 3 <- mirrored y of joint 0
    torch.testing.assert_close(out[:, 2:6:2], -hps[:, 2:6:2].flip(-1))  # joints 1, 2 stay, x negated


def test_weighted_l1_equals_centernet(golden):
    c = golden["loss"]
    loss = reg_weighted_l1_loss(c["output"], c["mask"], c["ind"], c["target"])
    torch.testing.assert_close(loss, c["expected"], rtol=1e-6, atol=0)


def test_loss_terms_and_total_equal_centernets_multi_pose_trainer(golden):
    case = golden["multi_pose_loss"]
    terms = multi_pose_loss(case["outputs"], case["batch"])
    assert list(terms) == ["hm_loss", "wh_loss", "off_loss", "hp_loss", "hm_hp_loss", "hp_offset_loss"]
    for name, value in terms.items():
        torch.testing.assert_close(value, case["expected"][name], rtol=1e-6, atol=0, msg=name)
    total = sum(MULTI_POSE_WEIGHTS[name] * value for name, value in terms.items())
    torch.testing.assert_close(total, case["expected"]["loss"], rtol=1e-6, atol=0)
