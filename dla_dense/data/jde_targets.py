"""FairMOT's training targets (``JointDataset.__getitem__``, ``src/lib/datasets/dataset/jde.py``) from boxes in
output-map coordinates."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..ops.centernet import draw_gaussian, gaussian_radius


def fairmot_box_targets(
    boxes: np.ndarray,
    labels: np.ndarray,
    *,
    output_size: tuple[int, int],
    num_classes: int,
    max_objs: int,
    ltrb: bool = True,
) -> dict[str, torch.Tensor]:
    """``hm [C, H, W]``, ``wh [max_objs, 4]`` (``ltrb``; else ``[max_objs, 2]`` ``(w, h)``), ``reg``, ``ind`` and
    ``reg_mask`` of FairMOT for ``boxes [M, 4]`` (x1y1x2y2, output-map pixels, not clipped) with 0-based ``labels``.

    Unlike CenterNet's ctdet targets only the centre is clipped to the map; ``w`` and ``h`` stay those of the whole
    box (radius from ``(ceil(h), ceil(w))``), and ``ltrb`` holds the distances from the clipped float centre to the
    unclipped box's sides. Slot ``k`` is box ``k``; the first ``max_objs`` boxes are used; boxes with ``w`` or ``h``
    <= 0 keep an empty slot.
    """
    height, width = output_size
    hm = np.zeros((num_classes, height, width), np.float32)
    wh = np.zeros((max_objs, 4 if ltrb else 2), np.float32)
    reg = np.zeros((max_objs, 2), np.float32)
    ind = np.zeros(max_objs, np.int64)
    reg_mask = np.zeros(max_objs, np.uint8)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    for k in range(min(len(boxes), max_objs)):
        x1, y1, x2, y2 = boxes[k]
        w, h = x2 - x1, y2 - y1
        if not (h > 0 and w > 0):
            continue
        ct = np.array([(x1 + x2) / 2, (y1 + y2) / 2], np.float32)
        ct[0] = np.clip(ct[0], 0, width - 1)
        ct[1] = np.clip(ct[1], 0, height - 1)
        ct_int = ct.astype(np.int32)
        radius = max(0, int(gaussian_radius((math.ceil(h), math.ceil(w)))))
        draw_gaussian(hm[int(labels[k])], (int(ct_int[0]), int(ct_int[1])), radius)
        wh[k] = (ct[0] - x1, ct[1] - y1, x2 - ct[0], y2 - ct[1]) if ltrb else (w, h)
        ind[k] = ct_int[1] * width + ct_int[0]
        reg[k] = ct - ct_int
        reg_mask[k] = 1
    out = {"hm": hm, "wh": wh, "reg": reg, "ind": ind, "reg_mask": reg_mask}
    return {k: torch.from_numpy(v) for k, v in out.items()}
