"""CenterNet ``ctdet`` training targets from boxes in output-map coordinates."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..ops.centernet import RADIUS_MODES, draw_gaussian, gaussian_radius


def centernet_targets(
    boxes: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    *,
    output_size: tuple[int, int],
    num_classes: int,
    max_objs: int = 128,
    radius_mode: str = "centernet",
) -> dict[str, torch.Tensor]:
    """Targets of CenterNet's ctdet sampler for ``boxes [M, 4]`` (x1, y1, x2, y2) with ``labels [M]`` in ``[0, C)``.

    Boxes are in output-map pixels (input pixels / down ratio), ``output_size = (H, W)``. As in the reference
    (``datasets/sample/ctdet.py``), in float32: coordinates are clipped to ``[0, W-1]`` / ``[0, H-1]``; boxes
    with ``h <= 0`` or ``w <= 0`` after clipping are skipped but keep their slot; only the first ``max_objs``
    boxes are used; slot ``k`` belongs to box ``k``. For a kept box, ``ct = ((x1+x2)/2, (y1+y2)/2)``,
    ``ct_int = int(ct)``, radius ``max(0, int(gaussian_radius((ceil(h), ceil(w)), 0.7, mode=radius_mode)))``.

    Returns ``hm [C, H, W]`` float32 (gaussians at ``ct_int``, element-wise max), ``wh [max_objs, 2]`` float32
    ``(w, h)``, ``reg [max_objs, 2]`` float32 ``ct - ct_int``, ``ind [max_objs]`` int64 ``ct_int_y * W +
    ct_int_x`` and ``reg_mask [max_objs]`` uint8.
    """
    if radius_mode not in RADIUS_MODES:
        raise ValueError(f"centernet_targets: unknown radius_mode {radius_mode!r}; use one of {RADIUS_MODES}")
    height, width = (int(s) for s in output_size)
    boxes = torch.as_tensor(boxes).detach().to("cpu", torch.float32)
    labels = torch.as_tensor(labels).detach().to("cpu").reshape(-1)
    if boxes.numel() == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"centernet_targets: boxes must have shape [M, 4], got {list(boxes.shape)}")
    if labels.numel() != boxes.shape[0]:
        raise ValueError(f"centernet_targets: {boxes.shape[0]} boxes but {labels.numel()} labels")
    labels = labels.long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0].item()
        raise ValueError(f"centernet_targets: label {bad} is outside [0, {num_classes}) (num_classes={num_classes})")

    hm = torch.zeros(num_classes, height, width, dtype=torch.float32)
    wh = torch.zeros(max_objs, 2, dtype=torch.float32)
    reg = torch.zeros(max_objs, 2, dtype=torch.float32)
    ind = torch.zeros(max_objs, dtype=torch.int64)
    reg_mask = torch.zeros(max_objs, dtype=torch.uint8)

    num = min(boxes.shape[0], max_objs)
    b = boxes[:num].clone()
    b[:, 0::2] = b[:, 0::2].clamp(0, width - 1)
    b[:, 1::2] = b[:, 1::2].clamp(0, height - 1)
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    ct = (b[:, :2] + b[:, 2:]) / 2
    ct_int = ct.to(torch.int32)

    classes = labels.tolist()
    for k in ((h > 0) & (w > 0)).nonzero().flatten().tolist():
        radius = max(0, int(gaussian_radius((math.ceil(h[k].item()), math.ceil(w[k].item())), mode=radius_mode)))
        cx, cy = ct_int[k].tolist()
        draw_gaussian(hm[classes[k]], (cx, cy), radius)
        wh[k, 0] = w[k]
        wh[k, 1] = h[k]
        ind[k] = cy * width + cx
        reg[k] = ct[k] - ct_int[k]
        reg_mask[k] = 1
    return {"hm": hm, "wh": wh, "reg": reg, "ind": ind, "reg_mask": reg_mask}
