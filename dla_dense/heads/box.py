"""CenterNet's centre / box head (``ctdet``): ``hm`` (class heatmaps), ``wh`` (box sizes), ``reg`` (centre
offsets). It finds the object centres every other head decodes at."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..ops.affine import affine_boxes, affine_points
from ..ops.centernet import (
    HM_BIAS,
    RADIUS_MODES,
    box_fields,
    draw_gaussian,
    focal_loss,
    heatmap_peaks,
    object_radius,
    reg_l1_loss,
)
from .base import Fields, Head, Maps, Peaks, Terms, ToImage, Warp


def warp_corners(boxes: np.ndarray, warp: Warp) -> np.ndarray:
    """``boxes [M, 4]`` (x1y1x2y2) mirrored and mapped by ``warp``, each the bounding box of its four moved corners,
    not clipped (the amodal box)."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    if warp.flipped:
        boxes[:, [0, 2]] = warp.width - boxes[:, [2, 0]] - 1
    if not len(boxes):
        return boxes
    moved = affine_points(boxes[:, [0, 1, 0, 3, 2, 3, 2, 1]].reshape(-1, 4, 2), warp.matrix).astype(np.float32)
    return np.concatenate([moved.min(1), moved.max(1)], 1)


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
        radius = object_radius(h[k].item(), w[k].item(), mode=radius_mode)
        cx, cy = ct_int[k].tolist()
        draw_gaussian(hm[classes[k]], (cx, cy), radius)
        wh[k, 0] = w[k]
        wh[k, 1] = h[k]
        ind[k] = cy * width + cx
        reg[k] = ct[k] - ct_int[k]
        reg_mask[k] = 1
    return {"hm": hm, "wh": wh, "reg": reg, "ind": ind, "reg_mask": reg_mask}


class BoxHead(Head):
    """``hm [N, C, H/4, W/4]`` (logits), ``wh`` and ``reg`` ``[N, 2, H/4, W/4]``.

    Targets are CenterNet's ctdet sampler's (:func:`centernet_targets`: ``hm, wh, reg, ind,
    reg_mask``); losses ``hm_loss`` (focal), ``wh_loss`` and ``off_loss`` (L1 at the centres) weighted
    ``hm_weight``, ``wh_weight`` (0.1) and ``off_weight``; decoding gives ``boxes [K, 4]``, ``scores [K]`` and
    ``labels [K]``; the flip test averages ``hm`` and ``wh`` and keeps ``reg`` of the unflipped pass.
    """

    item_fields = ("boxes", "labels")
    fields = ("boxes", "scores", "labels")

    def __init__(
        self,
        num_classes: int,
        *,
        max_objs: int = 128,
        radius_mode: str = "centernet",
        hm_weight: float = 1.0,
        wh_weight: float = 0.1,
        off_weight: float = 1.0,
    ) -> None:
        self.num_classes = num_classes
        self.max_objs = max_objs
        self.radius_mode = radius_mode
        self.weights = {"hm_loss": hm_weight, "wh_loss": wh_weight, "off_loss": off_weight}

    @property
    def outputs(self) -> dict[str, int]:
        return {"hm": self.num_classes, "wh": 2, "reg": 2}

    def initial_bias(self) -> dict[str, float]:
        return {"hm": HM_BIAS}

    def warp(self, item: Fields, warp: Warp) -> Fields:
        boxes = np.asarray(item["boxes"], dtype=np.float32).reshape(-1, 4).copy()
        if warp.flipped:
            boxes[:, [0, 2]] = warp.width - boxes[:, [2, 0]] - 1
        labels = np.asarray(item["labels"], dtype=np.int64).reshape(-1)
        return {"boxes": affine_boxes(boxes, warp.matrix).astype(np.float32), "labels": labels}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        targets.update(
            centernet_targets(
                fields["boxes"],
                fields["labels"],
                output_size=output_size,
                num_classes=self.num_classes,
                max_objs=self.max_objs,
                radius_mode=self.radius_mode,
            )
        )

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """``count`` random boxes inside the map, with random labels."""
        out_h, out_w = output_size
        scale = torch.tensor([out_w, out_h], dtype=torch.float32)
        xy = torch.rand(count, 2, generator=generator) * scale * 0.7
        wh = (torch.rand(count, 2, generator=generator) * 0.25 + 0.05) * scale
        labels = torch.randint(0, self.num_classes, (count,), generator=generator)
        return {"boxes": torch.cat([xy, xy + wh], 1), "labels": labels}

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        mask, ind = batch["reg_mask"], batch["ind"]
        return {
            "hm_loss": focal_loss(outputs["hm"].float(), batch["hm"]),
            "wh_loss": reg_l1_loss(outputs["wh"].float(), mask, ind, batch["wh"]),
            "off_loss": reg_l1_loss(outputs["reg"].float(), mask, ind, batch["reg"]),
        }

    def activate(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"hm": outputs["hm"].sigmoid()}

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hm, wh = outputs["hm"], outputs["wh"]
        return {"hm": (hm[:1] + hm[1:].flip(-1)) / 2, "wh": (wh[:1] + wh[1:].flip(-1)) / 2, "reg": outputs["reg"][:1]}

    def peaks(self, outputs: Mapping[str, torch.Tensor], k: int) -> Peaks:
        """The ``k`` best peaks of ``hm`` (after sigmoid) over all classes (CenterNet's ``_nms`` + ``_topk``)."""
        scores, inds, classes, ys, xs = heatmap_peaks(outputs["hm"], k, "decode")
        dtype = outputs["hm"].dtype
        return Peaks(scores=scores, inds=inds, classes=classes, xs=xs.to(dtype), ys=ys.to(dtype))

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        boxes = box_fields(peaks.xs, peaks.ys, peaks.inds, outputs["wh"], outputs["reg"])
        return {"boxes": boxes, "scores": peaks.scores, "labels": peaks.classes}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        return {"boxes": torch.from_numpy(back.boxes(fields["boxes"])) / back.scale}
