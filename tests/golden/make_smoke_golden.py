# ruff: noqa: E402
"""Writes tests/golden/smoke_golden.pt from SMOKE's own box coder, run on CPU (not part of the suite).

Usage: python make_smoke_golden.py SMOKE_CODER OUT.pt, where SMOKE_CODER is lzccccc/SMOKE bc5d2bb's
``smoke/modeling/smoke_coder.py`` (it imports only numpy and torch).

Recorded, on seeded inputs of 40 objects in 2 images (KITTI-like cameras and the output affine of a 1280 x 384
input at stride 4): ``decode_depth``, ``decode_location``, ``decode_dimension``, ``decode_orientation`` (yaw and
alpha) and ``encode_box3d`` of ``SMOKECoder(depth_ref=(28.01, 16.32), dim_ref=SMOKE's three classes)``.
"""

import importlib.util
import sys

import torch

SOURCE, OUT = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("smoke_coder", SOURCE)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
coder = module.SMOKECoder((28.01, 16.32), ((3.88, 1.63, 1.53), (1.78, 1.70, 0.58), (0.88, 1.73, 0.67)), device="cpu")

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
torch.save({"inputs": inputs, "outputs": outputs}, OUT)
print({k: tuple(v.shape) for k, v in outputs.items()})
