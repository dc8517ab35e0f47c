# ruff: noqa: E402
"""Writes tests/golden/smoke_targets_golden.pt from SMOKE's own training sampler (not part of the suite).

Usage: python make_smoke_targets_golden.py SMOKE OUT.pt [SKIMAGE_DIR], where SMOKE holds lzccccc/SMOKE bc5d2bb's
``smoke/`` package (e.g. from ``git archive``) and SKIMAGE_DIR a folder with scikit-image (SMOKE's affine comes
from ``skimage.transform``), appended to the path.

A synthetic KITTI set (``make_synthetic_kitti(num_train=3, num_val=0, size=(128, 416), seed=3)``) is read by
SMOKE's ``KITTIDataset.__getitem__`` (classes Car, Cyclist, Pedestrian, input 416 x 128, stride 4, 30 objects)
with its random draws scripted: for every training image, four cases — as is, mirrored, shifted and scaled,
mirrored then shifted and scaled — each recorded with the draws that produced it and its targets (``hm``,
``reg`` corners, ``cls_ids``, ``proj_p``, ``dimensions``, ``locations``, ``rotys``, ``reg_mask``, ``flip_mask``,
``trans_mat``, ``K``).
"""

import sys
import tempfile
import types
from pathlib import Path

import torch

SOURCE, OUT = sys.argv[1], sys.argv[2]
sys.path.insert(0, SOURCE)
if len(sys.argv) > 3:
    sys.path.append(sys.argv[3])
sys.modules["smoke.data.datasets"] = types.ModuleType("smoke.data.datasets")  # skip the package's other sets
sys.modules["smoke.data.datasets"].__path__ = [str(Path(SOURCE) / "smoke/data/datasets")]
from smoke.data.datasets import kitti as smoke_kitti

from dla_dense.data.synthetic.kitti import make_synthetic_kitti

N = types.SimpleNamespace
cfg = N(
    DATASETS=N(TRAIN_SPLIT="train", TEST_SPLIT="val", DETECT_CLASSES=("Car", "Cyclist", "Pedestrian"), MAX_OBJECTS=30),
    INPUT=N(
        FLIP_PROB_TRAIN=0.5, SHIFT_SCALE_PROB_TRAIN=0.3, SHIFT_SCALE_TRAIN=(0.2, 0.4), WIDTH_TRAIN=416, HEIGHT_TRAIN=128
    ),
    MODEL=N(BACKBONE=N(DOWN_RATIO=4)),
)  # fmt: skip
#: (random() draws for flip and affine, choice() indices for the x shift, the y shift and the scale)
CASES = {
    "plain": ((0.9, 0.9), ()),
    "flip": ((0.1, 0.9), ()),
    "affine": ((0.9, 0.1), (3, 1, 2)),
    "flip_affine": ((0.1, 0.2), (0, 4, 7)),
}

root = Path(tempfile.mkdtemp()) / "kitti"
make_synthetic_kitti(root, num_train=3, num_val=0, size=(128, 416), seed=3)
(root / "training" / "ImageSets").symlink_to(root / "ImageSets")
dataset = smoke_kitti.KITTIDataset(cfg, str(root / "training"), is_train=True, transforms=None)
records = []
for index in range(len(dataset)):
    for case, (draws, choices) in CASES.items():
        draw_iter, choice_iter = iter(draws), iter(choices)
        smoke_kitti.random = N(random=lambda it=draw_iter: next(it), choice=lambda seq, it=choice_iter: seq[next(it)])
        _, target, name = dataset[index]
        fields = {key: torch.as_tensor(target.get_field(key)) for key in target.extra_fields}
        records.append({"index": index, "name": name, "case": case, "draws": draws, "choices": choices, **fields})
torch.save({"params": dict(num_train=3, num_val=0, size=(128, 416), seed=3), "records": records}, OUT)
print(f"wrote {len(records)} records to {OUT}")
