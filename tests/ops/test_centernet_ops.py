"""CenterNet ctdet primitives: hand-computed cases and a golden fixture from the reference.

``tests/data/centernet_golden.pt`` was produced with xingyizhou/CenterNet at commit 4c50fd3, run outside this
repository: ``utils/image.py`` (``gaussian_radius``, ``gaussian2D``, ``draw_umich_gaussian``), the target loop
of ``datasets/sample/ctdet.py`` ``CTDetDataset.__getitem__`` fed with boxes already in output-map coordinates
(no affine, no flip), ``models/decode.py`` ``ctdet_decode`` (with the second ``_topk``), ``models/losses.py``
``FocalLoss`` on ``models/utils.py`` ``_sigmoid`` output and ``RegL1Loss``. The ``corrected`` target set uses
the fixed ``gaussian_radius`` of princeton-vl/CornerNet commit 3e71377 in the same loop. Inputs are seeded
random boxes (partly outside the map, an overlapping pair, a box clipped to zero width, more boxes than
``max_objs``) and random heat/wh/reg maps; no reference code is part of this repository.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from dla_dense.heads import centernet_targets
from dla_dense.ops import ctdet_decode, draw_gaussian, focal_loss, gaussian_radius, reg_l1_loss
from dla_dense.ops.centernet import transpose_and_gather_feat

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "centernet_golden.pt"


def hand_gaussian(radius: int) -> np.ndarray:
    sigma = (2 * radius + 1) / 6
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    return np.exp(-(d[None, :] ** 2 + d[:, None] ** 2) / (2 * sigma**2)).astype(np.float32)


def test_gaussian_radius_by_hand() -> None:
    # 10x10, IoU 0.7: case 3 has a = 2.8, b = -28, c = -30, so sqrt(b^2 - 4ac) = sqrt(1120).
    assert gaussian_radius((10, 10)) == pytest.approx((-28 + math.sqrt(1120)) / 2, abs=1e-12)
    assert gaussian_radius((10, 10)) == pytest.approx(2.7332, abs=1e-4)
    # Corrected: case 2 (both corners inside) decides, (40 - sqrt(1120)) / 8; shrinking by r keeps IoU 0.7.
    r = gaussian_radius((10, 10), mode="corrected")
    assert r == pytest.approx((40 - math.sqrt(1120)) / 8, abs=1e-12)
    assert (10 - 2 * r) ** 2 / 100 == pytest.approx(0.7, abs=1e-12)
    # 5x7: a3 = 2.8, b3 = -16.8, c3 = -10.5.
    assert gaussian_radius((5, 7)) == pytest.approx((-16.8 + math.sqrt(16.8**2 + 4 * 2.8 * 10.5)) / 2, abs=1e-12)
    with pytest.raises(ValueError, match="mode"):
        gaussian_radius((5, 7), mode="cornernet")


def test_draw_gaussian_values_and_borders() -> None:
    hm = torch.zeros(5, 6)
    out = draw_gaussian(hm, (0, 0), 3)
    assert out is hm
    g = hand_gaussian(3)
    torch.testing.assert_close(hm[:4, :4], torch.from_numpy(g[3:, 3:]), rtol=0, atol=1e-7)
    assert hm[4:].abs().sum() == 0 and hm[:, 4:].abs().sum() == 0

    draw_gaussian(hm, (5, 4), 1)
    assert hm[4, 5] == 1
    assert hm[3, 5] == pytest.approx(math.exp(-1 / (2 * 0.5**2)))

    arr = np.zeros((4, 4), dtype=np.float32)
    assert draw_gaussian(arr, (1, 2), 0) is arr
    assert arr[2, 1] == 1 and arr.sum() == 1

    outside = torch.zeros(4, 4)
    draw_gaussian(outside, (4 + 2, 1), 2)
    assert outside.sum() == 0


def test_targets_one_box_by_hand() -> None:
    boxes = np.array([[3.5, 4.25, 13.5, 14.25]], dtype=np.float32)
    t = centernet_targets(boxes, np.array([1]), output_size=(20, 22), num_classes=3, max_objs=4)
    assert t["hm"].shape == (3, 20, 22) and t["hm"].dtype == torch.float32
    assert t["wh"].shape == (4, 2) and t["reg"].shape == (4, 2)
    assert t["ind"].dtype == torch.int64 and t["reg_mask"].dtype == torch.uint8
    # w = h = 10, ct = (8.5, 9.25), ct_int = (8, 9); radius int(2.733) = 2, sigma = 5 / 6.
    hm = t["hm"][1]
    assert hm[9, 8] == 1 and hm.max() == 1
    e1 = math.exp(-1 / (2 * (5 / 6) ** 2))
    for y, x in [(8, 8), (10, 8), (9, 7), (9, 9)]:
        assert hm[y, x].item() == pytest.approx(e1, rel=1e-6)
    assert hm[10, 9].item() == pytest.approx(e1**2, rel=1e-6)
    assert hm[9, 10].item() == pytest.approx(e1**4, rel=1e-6)
    assert hm[9, 11] == 0 and hm[12, 8] == 0
    assert int((hm > 0).sum()) == 25
    assert t["hm"][0].sum() == 0 and t["hm"][2].sum() == 0
    torch.testing.assert_close(t["wh"], torch.tensor([[10.0, 10.0], [0, 0], [0, 0], [0, 0]]))
    torch.testing.assert_close(t["reg"], torch.tensor([[0.5, 0.25], [0, 0], [0, 0], [0, 0]]))
    assert t["ind"].tolist() == [9 * 22 + 8, 0, 0, 0]
    assert t["reg_mask"].tolist() == [1, 0, 0, 0]


def test_targets_overlap_is_elementwise_max() -> None:
    a = [3.5, 4.25, 13.5, 14.25]
    b = [5.0, 6.0, 15.0, 16.0]
    both = centernet_targets(torch.tensor([a, b]), torch.tensor([0, 0]), output_size=(20, 22), num_classes=2)
    only_a = centernet_targets(torch.tensor([a]), torch.tensor([0]), output_size=(20, 22), num_classes=2)
    only_b = centernet_targets(torch.tensor([b]), torch.tensor([0]), output_size=(20, 22), num_classes=2)
    torch.testing.assert_close(both["hm"], torch.maximum(only_a["hm"], only_b["hm"]), rtol=0, atol=0)
    # Centres (8, 9) and (10, 11), radius 2: (x=8, y=10) is 1 px from a, (x=9, y=11) is 1 px from b.
    e1 = math.exp(-1 / (2 * (5 / 6) ** 2))
    assert both["hm"][0, 10, 8].item() == pytest.approx(e1, rel=1e-6)
    assert both["hm"][0, 11, 9].item() == pytest.approx(e1, rel=1e-6)
    assert only_b["hm"][0, 10, 8] < e1 and only_a["hm"][0, 11, 9] < e1
    assert both["ind"][:2].tolist() == [9 * 22 + 8, 11 * 22 + 10]
    assert both["reg_mask"][:3].tolist() == [1, 1, 0]


def test_targets_border_clip_and_skips() -> None:
    # Clipped to (0, 0, 200, 11): h = 11, w = 200, ct = (100, 5.5), radius int(6.13) = 6 > ct_int_y = 5.
    boxes = torch.tensor([[-4.0, -3.0, 260.0, 11.0], [250.0, 2.0, 260.0, 5.0], [7.0, 2.0, 9.0, 2.0]])
    t = centernet_targets(boxes, torch.tensor([0, 0, 0]), output_size=(12, 201), num_classes=1, max_objs=3)
    r = int(gaussian_radius((11, 200)))
    assert r == 6
    g = hand_gaussian(r)
    torch.testing.assert_close(t["hm"][0, 0:12, 94:107], torch.from_numpy(g[1:, :]), rtol=1e-6, atol=1e-7)
    assert t["hm"][0, :, :94].sum() == 0 and t["hm"][0, :, 107:].sum() == 0
    assert t["wh"][0].tolist() == [200.0, 11.0]
    assert t["reg"][0].tolist() == [0.0, 0.5]
    assert t["ind"].tolist() == [5 * 201 + 100, 0, 0]
    assert t["reg_mask"].tolist() == [1, 0, 0]


def test_targets_max_objs_and_empty() -> None:
    boxes = np.array([[1, 1, 3, 3], [4, 4, 6, 6], [7, 7, 9, 9]], dtype=np.float32)
    t = centernet_targets(boxes, [0, 1, 0], output_size=(10, 10), num_classes=2, max_objs=2)
    assert t["reg_mask"].tolist() == [1, 1]
    assert t["hm"][0, 8, 8] == 0 and t["hm"][0, 2, 2] == 1

    e = centernet_targets(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), output_size=(6, 8), num_classes=3)
    assert e["hm"].shape == (3, 6, 8) and e["hm"].abs().sum() == 0
    assert e["reg_mask"].sum() == 0 and e["ind"].sum() == 0 and e["wh"].abs().sum() == 0

    with pytest.raises(ValueError, match="label 3"):
        centernet_targets(boxes, [0, 3, 0], output_size=(10, 10), num_classes=2)
    with pytest.raises(ValueError, match="radius_mode"):
        centernet_targets(boxes, [0, 1, 0], output_size=(10, 10), num_classes=2, radius_mode="exact")


def test_ctdet_decode_by_hand() -> None:
    heat = torch.zeros(2, 2, 6, 8)
    heat[0, 0, 2, 3] = 0.9
    heat[0, 0, 2, 4] = 0.8  # neighbour of a higher peak: suppressed by the 3x3 max pool
    heat[0, 1, 4, 6] = 0.7
    heat[1, 1, 0, 0] = 0.6
    wh = torch.zeros(2, 2, 6, 8)
    wh[0, :, 2, 3] = torch.tensor([4.0, 2.0])
    wh[0, :, 4, 6] = torch.tensor([1.0, 3.0])
    wh[1, :, 0, 0] = torch.tensor([2.0, 2.0])
    reg = torch.zeros(2, 2, 6, 8)
    reg[0, :, 2, 3] = torch.tensor([0.25, 0.5])
    reg[0, :, 4, 6] = torch.tensor([0.75, 0.0])

    dets = ctdet_decode(heat, wh, reg, K=3)
    assert dets.shape == (2, 3, 6)
    torch.testing.assert_close(dets[0, 0], torch.tensor([1.25, 1.5, 5.25, 3.5, 0.9, 0.0]))
    torch.testing.assert_close(dets[0, 1], torch.tensor([6.25, 2.5, 7.25, 5.5, 0.7, 1.0]))
    assert dets[0, 2, 4] == 0
    torch.testing.assert_close(dets[1, 0], torch.tensor([-1.0, -1.0, 1.0, 1.0, 0.6, 1.0]))

    no_reg = ctdet_decode(heat, wh, None, K=2)
    torch.testing.assert_close(no_reg[0, 0], torch.tensor([1.5, 1.5, 5.5, 3.5, 0.9, 0.0]))
    torch.testing.assert_close(no_reg[1, 0], torch.tensor([-0.5, -0.5, 1.5, 1.5, 0.6, 1.0]))

    plateau = torch.zeros(1, 1, 3, 3)
    plateau[0, 0, 1, 1] = plateau[0, 0, 1, 2] = 0.5  # equal neighbours both survive, as in the reference
    assert ctdet_decode(plateau, torch.zeros(1, 2, 3, 3), K=2)[0, :, 4].tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="K=10"):
        ctdet_decode(plateau, torch.zeros(1, 2, 3, 3), K=10)


class Decode(torch.nn.Module):
    def forward(self, heat: torch.Tensor, wh: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
        return ctdet_decode(heat, wh, reg, K=5)


@pytest.mark.filterwarnings("ignore:`torch.jit.trace.*` is deprecated")
def test_ctdet_decode_traces_and_exports() -> None:
    args = (torch.rand(2, 3, 8, 8), torch.rand(2, 2, 8, 8), torch.rand(2, 2, 8, 8))
    traced = torch.jit.trace(Decode(), args)
    other = (torch.rand(3, 3, 10, 12), torch.rand(3, 2, 10, 12), torch.rand(3, 2, 10, 12))
    assert torch.equal(traced(*other), Decode()(*other))
    exported = torch.export.export(Decode(), args).module()
    assert torch.equal(exported(*args), Decode()(*args))


def test_focal_loss_by_hand() -> None:
    p = torch.tensor([0.8, 0.3, 0.1], dtype=torch.float64)
    logits = torch.log(p / (1 - p)).view(1, 1, 1, 3)
    gt = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64).view(1, 1, 1, 3)
    pos = math.log(0.8) * 0.2**2
    neg = math.log(0.7) * 0.3**2 * 0.5**4 + math.log(0.9) * 0.1**2
    assert focal_loss(logits, gt).item() == pytest.approx(-(pos + neg), rel=1e-9)
    assert focal_loss(p.view(1, 1, 1, 3), gt, logits=False).item() == pytest.approx(-(pos + neg), rel=1e-9)

    two = torch.cat([logits, logits], dim=1)
    assert focal_loss(two, torch.cat([gt, gt], dim=1)).item() == pytest.approx(-(pos + neg), rel=1e-9)

    no_pos = gt * 0.5  # [0.5, 0.25, 0]: no positives, loss is the undivided negative term
    expected = -(math.log(0.2) * 0.8**2 * 0.5**4 + math.log(0.7) * 0.3**2 * 0.75**4 + math.log(0.9) * 0.1**2)
    assert focal_loss(logits, no_pos).item() == pytest.approx(expected, rel=1e-9)

    saturated = torch.tensor([30.0, -30.0]).view(1, 1, 1, 2)
    clamp = focal_loss(saturated, torch.tensor([0.0, 1.0]).view(1, 1, 1, 2))
    assert clamp.item() == pytest.approx(-2 * math.log(1e-4) * (1 - 1e-4) ** 2, rel=1e-4)


def test_reg_l1_loss_by_hand() -> None:
    output = torch.arange(8, dtype=torch.float32).view(1, 2, 2, 2)  # pixel 3 holds (3, 7), pixel 0 holds (0, 4)
    ind = torch.tensor([[3, 0]])
    assert transpose_and_gather_feat(output, ind).tolist() == [[[3.0, 7.0], [0.0, 4.0]]]
    mask = torch.tensor([[1, 0]], dtype=torch.uint8)
    target = torch.tensor([[[1.0, 1.0], [5.0, 5.0]]])
    assert reg_l1_loss(output, mask, ind, target).item() == pytest.approx((2 + 6) / (2 + 1e-4), rel=1e-6)
    assert reg_l1_loss(output, torch.zeros_like(mask), ind, target).item() == 0


@pytest.fixture(scope="module")
def golden() -> dict:
    return torch.load(GOLDEN, weights_only=True)


def test_targets_match_reference(golden: dict) -> None:
    for case in golden["targets"]:
        t = centernet_targets(
            case["boxes"],
            case["labels"],
            output_size=case["output_size"],
            num_classes=case["num_classes"],
            max_objs=case["max_objs"],
            radius_mode=case["radius_mode"],
        )
        torch.testing.assert_close(t["hm"], case["hm"], rtol=0, atol=1e-6)
        for key in ("wh", "reg", "ind", "reg_mask"):
            assert torch.equal(t[key], case[key]), key


def test_decode_and_losses_match_reference(golden: dict) -> None:
    d = golden["decode"]
    assert torch.equal(ctdet_decode(d["heat"], d["wh"], d["reg"], K=d["K"]), d["dets"])
    assert torch.equal(ctdet_decode(d["heat"], d["wh"], None, K=d["K"]), d["dets_no_reg"])
    ties = ctdet_decode(d["heat_ties"], d["wh"], d["reg"], K=d["K"])
    torch.testing.assert_close(ties[..., 4], d["dets_ties"][..., 4], rtol=0, atol=0)

    def rows(x: torch.Tensor) -> list:
        return [sorted(map(tuple, img.tolist())) for img in x]

    assert rows(ties) == rows(d["dets_ties"])

    loss = golden["losses"]
    torch.testing.assert_close(focal_loss(loss["logits"], loss["gt"]), loss["focal"], rtol=1e-6, atol=0)
    torch.testing.assert_close(focal_loss(loss["logits"], loss["gt"] * 0.5), loss["focal_no_pos"], rtol=1e-6, atol=0)
    reg = reg_l1_loss(loss["output"], loss["mask"], loss["ind"], loss["target"])
    torch.testing.assert_close(reg, loss["reg_l1"], rtol=1e-6, atol=0)
