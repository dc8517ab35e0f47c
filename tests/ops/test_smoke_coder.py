"""SMOKE's box coder equals SMOKE's own (tests/golden/make_smoke_golden.py ran it), and its encoding of the
reference's worked example (a car at (2, 1.6, 20), ry -1.5, CenterNet's default camera) is as computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dla_dense.ops.ddd import project
from dla_dense.ops.smoke import (
    DEPTH_REF,
    DIM_REF,
    decode_depth,
    decode_dimension,
    decode_location,
    decode_orientation,
    disentangled_corner_loss,
    encode_box3d,
)

GOLDEN = torch.load(Path(__file__).parents[1] / "golden" / "smoke_golden.pt", weights_only=True)


def test_the_disentangled_corner_loss_and_its_gradient_equal_smokes():
    golden = GOLDEN["disl1"]
    names = {"proj_p": "points", "cls_ids": "labels", "dimensions": "dims", "rotys": "rotys", "reg": "corners",
             "trans_mat": "trans", "K": "K", "locations": "locations", "reg_mask": "reg_mask",
             "flip_mask": "flip_mask"}  # fmt: skip
    targets = {ours: torch.stack([t[theirs] for t in golden["targets"]]) for theirs, ours in names.items()}
    regression = golden["regression"].clone().requires_grad_()
    loss = disentangled_corner_loss(regression, targets, max_objs=30)
    torch.testing.assert_close(loss, golden["loss"], rtol=1e-5, atol=1e-5)
    loss.backward()
    torch.testing.assert_close(regression.grad, golden["grad"], rtol=1e-4, atol=1e-6)
    assert float(golden["grad"].abs().sum()) > 0


def test_the_coder_equals_smokes():
    given, expected = GOLDEN["inputs"], GOLDEN["outputs"]
    depths = decode_depth(given["depth_offsets"])
    torch.testing.assert_close(depths, expected["depths"])
    locations = torch.cat(
        [
            decode_location(given["points"][i : i + 20], given["point_offsets"][i : i + 20], depths[i : i + 20], k, t)
            for i, k, t in zip((0, 20), given["Ks"], given["trans"], strict=True)
        ]
    )
    torch.testing.assert_close(locations, expected["locations"], rtol=1e-5, atol=1e-4)
    dims = decode_dimension(given["labels"], given["dim_offsets"])
    torch.testing.assert_close(dims, expected["dims"])
    rotys, alphas = decode_orientation(given["vectors"], expected["locations"])
    torch.testing.assert_close(rotys, expected["rotys"], rtol=0, atol=1e-6)
    torch.testing.assert_close(alphas, expected["alphas"], rtol=0, atol=1e-6)
    boxes = encode_box3d(given["rotys"], expected["dims"], expected["locations"])
    torch.testing.assert_close(boxes, expected["boxes"], rtol=1e-5, atol=1e-5)


def test_the_worked_example():
    p2 = np.array([[707.0493, 0, 604.0814, 45.75831], [0, 707.0493, 180.5066, -0.3454157], [0, 0, 1, 0.004981016]])
    k = np.concatenate([p2[:, :3], np.zeros((3, 1))], 1)  # SMOKE drops P2's fourth column
    keypoint = project(np.array([[2.0, 0.85, 20.0]]), k)[0]
    np.testing.assert_allclose(keypoint, [674.786, 210.556], atol=1e-3)  # 2.1 px left of the P2 projection
    assert (20.0 - DEPTH_REF[0]) / DEPTH_REF[1] == pytest.approx(-0.49081, abs=1e-5)
    offsets = np.log(np.array([3.9, 1.5, 1.6]) / np.array(DIM_REF[0]))
    np.testing.assert_allclose(offsets, [0.00514, -0.08311, 0.04474], atol=1e-5)
    decoded = decode_dimension(torch.tensor([0]), torch.from_numpy(offsets)[None].float())
    torch.testing.assert_close(decoded, torch.tensor([[3.9, 1.5, 1.6]]), rtol=1e-6, atol=1e-6)
