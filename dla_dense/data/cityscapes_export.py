"""Writing predictions in the Cityscapes submission format: label-id PNGs (not train ids)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from cityscapesscripts.helpers.labels import trainId2label
from PIL import Image

from ..errors import DLADenseError


def _train_id_lut() -> tuple[np.ndarray, np.ndarray]:
    lut = np.zeros(256, dtype=np.uint8)
    known = np.zeros(256, dtype=bool)
    for train_id, label in trainId2label.items():
        if 0 <= train_id <= 255 and label.id >= 0:
            lut[train_id], known[train_id] = label.id, True
    return lut, known


_LUT, _KNOWN = _train_id_lut()


def train_ids_to_label_ids(pred: np.ndarray | torch.Tensor) -> np.ndarray:
    """Map a train-id map ``[H, W]`` (0..18, 255 = ignore) to Cityscapes label ids, uint8 ``[H, W]``.

    Uses cityscapesscripts' ``trainId2label``: train id 255 becomes label id 0 ('unlabeled').
    """
    if isinstance(pred, torch.Tensor):
        pred = pred.detach().cpu().numpy()
    pred = np.asarray(pred)
    if pred.ndim != 2 or not np.issubdtype(pred.dtype, np.integer):
        raise DLADenseError(f"expected an integer train-id map [H, W], got {pred.dtype} array {pred.shape}")
    in_range = (pred >= 0) & (pred <= 255)
    bad = ~in_range | ~_KNOWN[np.where(in_range, pred, 0)]
    if bad.any():
        raise DLADenseError(f"train id {int(pred[bad][0])} has no Cityscapes label; expected 0..18 or 255 (ignore)")
    return _LUT[pred]


def save_label_ids_png(path: str | os.PathLike, pred: np.ndarray | torch.Tensor) -> Path:
    """Write a train-id map ``[H, W]`` as a Cityscapes label-id PNG (8-bit grayscale); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(train_ids_to_label_ids(pred)).save(path)
    return path
