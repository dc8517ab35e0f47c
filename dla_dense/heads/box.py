"""CenterNet's centre / box head (``ctdet``): ``hm`` (class heatmaps), ``wh`` (box sizes), ``reg`` (centre
offsets). It finds the object centres every other head decodes at."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..data.centernet_targets import centernet_targets
from ..ops.affine import affine_boxes, affine_points
from ..ops.centernet import HM_BIAS, box_fields, focal_loss, heatmap_peaks, reg_l1_loss
from .base import Fields, Head, Peaks, ToImage, Warp


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


class BoxHead(Head):
    """``hm [N, C, H/4, W/4]`` (logits), ``wh`` and ``reg`` ``[N, 2, H/4, W/4]``.

    Targets are CenterNet's ctdet sampler's (:func:`~dla_dense.data.centernet_targets`: ``hm, wh, reg, ind,
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

    def loss(
        self,
        outputs: Mapping[str, torch.Tensor],
        batch: Mapping[str, torch.Tensor],
        learned: nn.Module | None = None,
    ) -> dict[str, torch.Tensor]:
        mask, ind = batch["reg_mask"], batch["ind"]
        return {
            "hm_loss": focal_loss(outputs["hm"].float(), batch["hm"]),
            "wh_loss": reg_l1_loss(outputs["wh"].float(), mask, ind, batch["wh"]),
            "off_loss": reg_l1_loss(outputs["reg"].float(), mask, ind, batch["reg"]),
        }

    def loss_weights(self) -> dict[str, float]:
        return dict(self.weights)

    def activate(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"hm": outputs["hm"].sigmoid()}

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hm, wh = outputs["hm"], outputs["wh"]
        return {"hm": (hm[:1] + hm[1:].flip(-1)) / 2, "wh": (wh[:1] + wh[1:].flip(-1)) / 2, "reg": outputs["reg"][:1]}

    def peaks(self, outputs: Mapping[str, torch.Tensor], k: int) -> Peaks:
        """The ``k`` best peaks of ``hm`` (after sigmoid) over all classes (CenterNet's ``_nms`` + ``_topk``)."""
        scores, inds, classes, ys, xs = heatmap_peaks(outputs["hm"], k, "decode")
        dtype = outputs["wh"].dtype
        return Peaks(scores=scores, inds=inds, classes=classes, xs=xs.to(dtype), ys=ys.to(dtype))

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        boxes = box_fields(peaks.xs, peaks.ys, peaks.inds, outputs["wh"], outputs["reg"])
        return {"boxes": boxes, "scores": peaks.scores, "labels": peaks.classes}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        return {"boxes": torch.from_numpy(back.boxes(fields["boxes"])) / back.scale}
