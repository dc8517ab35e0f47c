# ruff: noqa: E402
"""Writes tests/golden/smoke_golden.pt from SMOKE's own box coder, run on CPU (not part of the suite).

Usage: python make_smoke_golden.py SMOKE OUT.pt, where SMOKE holds lzccccc/SMOKE bc5d2bb's
``smoke/modeling/smoke_coder.py``, ``smoke/modeling/heads/smoke_head/loss.py`` and ``smoke/layers/utils.py`` (e.g.
from ``git archive``); its focal loss is stubbed (the heatmap term is CenterNet's, tested elsewhere).

Recorded, on seeded inputs of 40 objects in 2 images (KITTI-like cameras and the output affine of a 1280 x 384
input at stride 4): ``decode_depth``, ``decode_location``, ``decode_dimension``, ``decode_orientation`` (yaw and
alpha) and ``encode_box3d`` of ``SMOKECoder(depth_ref=(28.01, 16.32), dim_ref=SMOKE's three classes)``; and
``SMOKELossComputation``'s disentangled corner loss (``DisL1``, weight 10, 30 objects) with its gradient, on a
seeded activated regression map of 2 images with 30 slots each (some masked, some flipped).
"""

import sys
import types

import torch

SOURCE, OUT = sys.argv[1], sys.argv[2]
sys.path[:0] = [SOURCE]
sys.modules["smoke.layers.focal_loss"] = types.ModuleType("smoke.layers.focal_loss")
sys.modules["smoke.layers.focal_loss"].FocalLoss = None
from smoke.modeling.heads.smoke_head.loss import SMOKELossComputation
from smoke.modeling.smoke_coder import SMOKECoder

coder = SMOKECoder((28.01, 16.32), ((3.88, 1.63, 1.53), (1.78, 1.70, 0.58), (0.88, 1.73, 0.67)), device="cpu")

torch.manual_seed(0)
n = 40
inputs = {
    "depth_offsets": torch.randn(n) * 0.6,
    "points": torch.stack([torch.randint(0, 320, (n,)), torch.randint(0, 96, (n,))], 1),
    "point_offsets": torch.rand(n, 2),
    "labels": torch.randint(0, 3, (n,)),
    "dim_offsets": (torch.rand(n, 3) - 0.5),
    "vectors": torch.nn.functional.normalize(torch.randn(n, 2), dim=1),
    "rotys": (torch.rand(n) * 2 - 1) * 3.14,
    "Ks": torch.tensor(
        [
            [[721.54, 0.0, 631.44], [0.0, 721.54, 172.85], [0, 0, 1]],
            [[707.05, 0.0, 604.08], [0.0, 707.05, 180.51], [0, 0, 1]],
        ]
    ),  # fmt: skip
    "trans": torch.tensor(
        [[[0.25, 0.0, 0.0], [0.0, 0.25, -0.5], [0, 0, 1]], [[0.2577, 0.0, 0.2577], [0.0, 0.2577, -0.3092], [0, 0, 1]]]
    ),  # fmt: skip
}
depths = coder.decode_depth(inputs["depth_offsets"])
locations = coder.decode_location(inputs["points"], inputs["point_offsets"], depths, inputs["Ks"], inputs["trans"])
dims = coder.decode_dimension(inputs["labels"], inputs["dim_offsets"])
rotys, alphas = coder.decode_orientation(inputs["vectors"].clone(), locations)
boxes = coder.encode_box3d(inputs["rotys"], dims.clone(), locations)
outputs = {"depths": depths, "locations": locations, "dims": dims, "rotys": rotys, "alphas": alphas, "boxes": boxes}


class Target:
    def __init__(self, fields):
        self.fields = fields

    def get_field(self, name):
        return self.fields[name]


torch.manual_seed(1)
m = 30
regression = torch.randn(2, 8, 24, 80)
regression[:, 3:6] = regression[:, 3:6].sigmoid() - 0.5
regression[:, 6:] = torch.nn.functional.normalize(regression[:, 6:], dim=1)
regression.requires_grad_()
targets = []
for b in range(2):
    rotys = (torch.rand(m) * 2 - 1) * 3.14
    dims = torch.tensor(((3.88, 1.63, 1.53), (1.78, 1.70, 0.58), (0.88, 1.73, 0.67)))[torch.randint(0, 3, (m,))]
    dims = dims * (1 + 0.1 * torch.randn(m, 3))
    locations = torch.stack([torch.rand(m) * 20 - 10, 1.5 + 0.2 * torch.rand(m), 5 + torch.rand(m) * 40], 1)
    targets.append({
        "hm": torch.zeros(3, 24, 80), "cls_ids": torch.randint(0, 3, (m,)),
        "proj_p": torch.stack([torch.randint(0, 80, (m,)), torch.randint(0, 24, (m,))], 1),
        "dimensions": dims, "locations": locations, "rotys": rotys,
        "reg": coder.encode_box3d(rotys, dims.clone(), locations),
        "trans_mat": inputs["trans"][b], "K": inputs["Ks"][b],
        "reg_mask": (torch.rand(m) < 0.7).to(torch.uint8), "flip_mask": (torch.rand(m) < 0.3).to(torch.uint8),
    })  # fmt: skip
loss = SMOKELossComputation(coder, lambda a, b: torch.zeros(()), "DisL1", (1.0, 10.0), m)
_, reg_loss = loss((torch.zeros(2, 3, 24, 80), regression), [Target(t) for t in targets])
reg_loss.backward()
disl1 = {"regression": regression.detach(), "targets": targets, "loss": reg_loss.detach(), "grad": regression.grad}
torch.save({"inputs": inputs, "outputs": outputs, "disl1": disl1}, OUT)
print({k: tuple(v.shape) for k, v in outputs.items()})
