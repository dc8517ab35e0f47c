# ruff: noqa: E402
"""Writes tests/golden/ddd_golden.pt from CenterNet's own ``ddd`` code, run on CPU (not part of the suite).

Usage: python make_ddd_golden.py SRC OUT.pt, where SRC holds xingyizhou/CenterNet 4c50fd3's ``src/lib`` (as
``SRC/src/lib``, e.g. from ``git archive``).

Recorded:
- ``targets``: ``DddDataset.__getitem__`` (``datasets/sample/ddd.py``) on a 320 x 96 image (input 320 x 96, output
  80 x 24) with objects of all three classes, alphas in each bin and both, a box leaving the image, a Van (soft
  ignore in Car), a Person_sitting (in Pedestrian), a DontCare region (all channels) and a Misc (skipped), once
  as is and once with its scale/shift augmentation (``aug_ddd=1``, seeded numpy), with the sample's ``c`` and ``s``;
- ``loss``: ``DddLoss``'s terms (focal, depth through ``1/sigmoid - 1``, dims, ``BinRotLoss``, wh and offsets with
  ``L1Loss``) and the gradients of the weighted total with respect to each output, on seeded random outputs for
  the two samples;
- ``decode``: ``ddd_decode`` (K 100) and ``ddd_post_process`` on seeded random outputs of one image with CenterNet's
  default P2: per class, rows ``[alpha, x1, y1, x2, y2, h, w, l, x, y, z, rotation_y, score]``.
"""

import json
import sys
import tempfile
import types
from pathlib import Path

import cv2
import numpy as np
import torch

SRC, OUT = sys.argv[1], sys.argv[2]
sys.path[:0] = [f"{SRC}/src/lib", str(Path(__file__).parent)]
from reference_harness import stub

stub("pycocotools")
stub("pycocotools.coco")
from datasets.sample.ddd import DddDataset
from models.decode import ddd_decode
from models.losses import BinRotLoss, FocalLoss, L1Loss
from models.utils import _sigmoid
from utils.post_process import ddd_post_process

CAT_IDS = {1: 0, 2: 1, 3: 2, 4: -3, 5: -3, 6: -2, 7: -99, 8: -99, 9: -1}  # CenterNet's KITTI mapping
P2 = np.array([[707.0493, 0, 604.0814, 45.75831], [0, 707.0493, 180.5066, -0.3454157], [0, 0, 1, 0.004981016]],
              np.float32)  # fmt: skip
#: (category id, x1, y1, x2, y2, alpha, depth, h, w, l): Pedestrian 1, Car 2, Cyclist 3, Van 4, Person_sitting 6,
#: Misc 7, DontCare 9.
OBJECTS = [
    (2, 20.0, 30.0, 80.5, 70.2, -1.6, 21.5, 1.5, 1.6, 3.9),
    (1, 150.3, 20.0, 170.9, 75.0, 0.1, 12.0, 1.75, 0.6, 0.8),
    (3, 200.0, 40.0, 236.0, 80.0, 2.9, 30.0, 1.7, 0.6, 1.8),
    (2, 290.0, 10.0, 340.0, 60.0, -3.0, 45.0, 1.4, 1.6, 4.1),
    (4, 100.0, 35.0, 140.0, 66.0, 0.4, 25.0, 2.1, 1.9, 5.0),
    (6, 250.0, 50.0, 262.0, 70.0, 0.0, 15.0, 1.2, 0.5, 0.8),
    (9, 5.0, 75.0, 60.0, 95.0, -10.0, -1000.0, -1.0, -1.0, -1.0),
    (7, 60.0, 5.0, 90.0, 25.0, 1.0, 33.0, 1.9, 1.5, 3.6),
    (2, 120.0, 60.0, 131.0, 66.0, -0.5, 60.0, 1.5, 1.6, 3.9),
]


class FakeCoco:
    def __init__(self, anns):
        self.anns = anns

    def loadImgs(self, ids):
        return [{"file_name": "000000.png", "calib": P2.tolist()}]

    def getAnnIds(self, imgIds):
        return list(range(len(self.anns)))

    def loadAnns(self, ids):
        return [self.anns[i] for i in ids]


def sampler(folder, aug):
    dataset = DddDataset.__new__(DddDataset)
    anns = [
        {"bbox": [x1, y1, x2 - x1, y2 - y1], "category_id": cat, "alpha": alpha, "depth": depth, "dim": list(hwl)}
        for cat, x1, y1, x2, y2, alpha, depth, *hwl in OBJECTS
    ]
    dataset.coco = FakeCoco(anns)
    dataset.images, dataset.img_dir, dataset.split = [0], str(folder), "train"
    dataset.cat_ids, dataset.max_objs, dataset.alpha_in_degree = CAT_IDS, 50, False
    dataset.mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 1, 3)
    dataset.std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 1, 3)
    dataset.calib = P2
    dataset.opt = types.SimpleNamespace(
        keep_res=False, input_w=320, input_h=96, output_w=80, output_h=24, aug_ddd=1.0 if aug else 0.0, scale=0.4,
        shift=0.1, num_classes=3, mse_loss=False, rect_mask=False, reg_bbox=True, reg_offset=True, debug=1,
    )  # fmt: skip
    return dataset


def main():
    folder = Path(tempfile.mkdtemp())
    cv2.imwrite(str(folder / "000000.png"), np.full((96, 320, 3), 128, np.uint8))
    samples = []
    for aug in (False, True):
        np.random.seed(3)
        item = sampler(folder, aug)[0]
        meta = item.pop("meta")
        samples.append({"aug": aug, "c": meta["c"], "s": np.asarray(meta["s"], np.float64), **{
            k: torch.from_numpy(np.asarray(v)) for k, v in item.items() if k != "input"}})  # fmt: skip
    batch = {k: torch.stack([s[k] for s in samples]) for k in samples[0] if k not in ("aug", "c", "s")}

    torch.manual_seed(0)
    shapes = {"hm": 3, "dep": 1, "rot": 8, "dim": 3, "wh": 2, "reg": 2}
    outputs = {k: (torch.randn(2, c, 24, 80) * (2.0 if k != "hm" else 1.0)).requires_grad_() for k, c in shapes.items()}
    hm = _sigmoid(outputs["hm"].clone())
    dep = 1.0 / (outputs["dep"].sigmoid() + 1e-6) - 1.0
    terms = {
        "hm_loss": FocalLoss()(hm, batch["hm"]),
        "dep_loss": L1Loss()(dep, batch["reg_mask"], batch["ind"], batch["dep"]),
        "dim_loss": L1Loss()(outputs["dim"], batch["reg_mask"], batch["ind"], batch["dim"]),
        "rot_loss": BinRotLoss()(outputs["rot"], batch["rot_mask"], batch["ind"], batch["rotbin"], batch["rotres"]),
        "wh_loss": L1Loss()(outputs["wh"], batch["rot_mask"], batch["ind"], batch["wh"]),
        "off_loss": L1Loss()(outputs["reg"], batch["rot_mask"], batch["ind"], batch["reg"]),
    }
    weights = {"hm_loss": 1, "dep_loss": 1, "dim_loss": 1, "rot_loss": 1, "wh_loss": 0.1, "off_loss": 1}
    total = sum(weights[k] * v for k, v in terms.items())
    total.backward()
    loss = {"outputs": {k: v.detach() for k, v in outputs.items()}, "terms": {k: v.detach() for k, v in terms.items()},
            "total": total.detach(), "grads": {k: v.grad for k, v in outputs.items()}}  # fmt: skip

    torch.manual_seed(1)
    raw = {k: torch.randn(1, c, 24, 80) * (2.0 if k != "hm" else 1.0) for k, c in shapes.items()}
    raw["hm"][0, 1, 10, 20] = 6.0  # a few sure peaks besides the noise
    raw["hm"][0, 0, 5, 60] = 5.0
    raw["dep"] = raw["dep"] * 0.5 - 3.0
    dets = ddd_decode(raw["hm"].sigmoid(), raw["rot"], 1.0 / (raw["dep"].sigmoid() + 1e-6) - 1.0, raw["dim"],
                      wh=raw["wh"], reg=raw["reg"], K=100)  # fmt: skip
    c, s = np.array([160.0, 48.0]), np.array([320, 96], np.int32)
    opt = types.SimpleNamespace(output_w=80, output_h=24, num_classes=3)
    results = ddd_post_process(dets.numpy().copy(), [c], [s], [P2], opt)[0]
    per_class = {k: torch.from_numpy(v) for k, v in results.items()}
    decode = {"outputs": raw, "c": c, "s": s, "calib": P2, "per_class": per_class}

    keys = ("category", "x1", "y1", "x2", "y2", "alpha", "depth", "h", "w", "l")
    objects = [dict(zip(keys, o, strict=True)) for o in OBJECTS]
    torch.save({"objects": json.dumps(objects), "calib": P2, "targets": samples, "loss": loss, "decode": decode}, OUT)
    print("targets:", [int(s["reg_mask"].sum()) for s in samples], "loss:", float(total), "per class:",
          {k: len(v) for k, v in results.items()})  # fmt: skip


main()
