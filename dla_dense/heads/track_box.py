"""CenterTrack's centre / box head: CenterNet's ``hm``, ``reg``, ``wh`` with CenterTrack's targets and losses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..ops.centernet import box_fields, draw_gaussian, fast_focal_loss, object_radius, weighted_l1_loss
from .base import Fields, Maps, Peaks, Terms, Warp
from .box import BoxHead, warp_corners

#: CenterTrack's heatmap prior bias (``--prior_bias``): sigmoid(-4.6) = 0.01.
TRACK_HM_BIAS = -4.6


def centertrack_box_targets(
    boxes: np.ndarray,
    labels: Sequence[int],
    ignore: Sequence[bool],
    *,
    output_size: tuple[int, int],
    num_classes: int,
    max_objs: int,
) -> dict[str, torch.Tensor]:
    """``hm``, ``ind``, ``cat``, ``mask``, ``reg``/``reg_mask`` and ``wh``/``wh_mask`` of CenterTrack's
    ``_add_instance`` for output-map ``boxes [M, 4]`` (already warped, not clipped) and 0-based ``labels [M]``.

    Only the first ``max_objs`` boxes are used; slot ``k`` is box ``k``. A box with ``ignore[k]`` (an ignore
    region or crowd) sets ``hm`` of its class (all classes when its label is -1) to 1 inside its clipped box
    and is not a positive. Positives are clipped to the map and skipped when ``h`` or ``w`` is <= 0 after
    clipping; radius and gaussians as CenterNet's. The per-component masks (``reg_mask``, ``wh_mask``
    ``[max_objs, 2]``) are those of CenterTrack's weighted L1 loss.
    """
    height, width = output_size
    hm = np.zeros((num_classes, height, width), np.float32)
    ind = np.zeros(max_objs, np.int64)
    cat = np.zeros(max_objs, np.int64)
    mask = np.zeros(max_objs, np.float32)
    reg = np.zeros((max_objs, 2), np.float32)
    wh = np.zeros((max_objs, 2), np.float32)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    for k in range(min(len(boxes), max_objs)):
        b = boxes[k].copy()
        b[[0, 2]] = np.clip(b[[0, 2]], 0, width - 1)
        b[[1, 3]] = np.clip(b[[1, 3]], 0, height - 1)
        label = int(labels[k])
        if ignore[k]:
            rows, cols = slice(int(b[1]), int(b[3]) + 1), slice(int(b[0]), int(b[2]) + 1)
            region = hm[:, rows, cols] if label < 0 else hm[label, rows, cols]
            np.maximum(region, 1, out=region)
            continue
        h, w = b[3] - b[1], b[2] - b[0]
        if h <= 0 or w <= 0:
            continue
        ct = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], dtype=np.float32)
        ct_int = ct.astype(np.int32)
        cat[k], mask[k] = label, 1
        wh[k] = w, h
        ind[k] = ct_int[1] * width + ct_int[0]
        reg[k] = ct - ct_int
        draw_gaussian(hm[label], (int(ct_int[0]), int(ct_int[1])), object_radius(h, w))
    component = np.repeat(mask[:, None], 2, 1)
    out = {"hm": hm, "ind": ind, "cat": cat, "mask": mask, "reg": reg, "reg_mask": component, "wh": wh}
    out["wh_mask"] = component.copy()
    return {k: torch.from_numpy(v) for k, v in out.items()}


class TrackBoxHead(BoxHead):
    """``hm [N, C, H/4, W/4]`` (logits), ``reg`` and ``wh`` ``[N, 2, H/4, W/4]``, as CenterTrack trains them.

    Item fields ``boxes [M, 4]`` (x1y1x2y2), ``labels [M]`` (0-based; -1 with ``ignore``: every class) and
    ``ignore [M]`` (ignore regions and crowds: ``hm`` = 1 inside, not a positive). Boxes are warped by their four
    corners and kept unclipped (the amodal box). Targets :func:`centertrack_box_targets`;
    losses ``hm_loss`` (:func:`~dla_dense.ops.centernet.fast_focal_loss`), ``reg_loss`` and ``wh_loss`` (weighted
    L1), weights 1, 1, 0.1; the heatmap starts at -4.6. Decoding clamps negative sizes to 0 (``generic_decode``).
    """

    item_fields = ("boxes", "labels", "ignore")

    def __init__(
        self,
        num_classes: int,
        *,
        max_objs: int = 128,
        hm_weight: float = 1.0,
        wh_weight: float = 0.1,
        off_weight: float = 1.0,
    ) -> None:
        super().__init__(num_classes, max_objs=max_objs)
        self.weights = {"hm_loss": hm_weight, "reg_loss": off_weight, "wh_loss": wh_weight}

    @property
    def outputs(self) -> dict[str, int]:
        return {"hm": self.num_classes, "reg": 2, "wh": 2}

    def initial_bias(self) -> dict[str, float]:
        return {"hm": TRACK_HM_BIAS}

    def warp(self, item: Fields, warp: Warp) -> Fields:
        labels = np.asarray(item["labels"], dtype=np.int64).reshape(-1)
        ignore = np.asarray(item["ignore"], bool).reshape(-1)
        return {"boxes": warp_corners(item["boxes"], warp), "labels": labels, "ignore": ignore}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        targets.update(
            centertrack_box_targets(
                fields["boxes"],
                fields["labels"],
                fields["ignore"],
                output_size=output_size,
                num_classes=self.num_classes,
                max_objs=self.max_objs,
            )
        )

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        fields = super().random_fields(found, count, output_size, generator)
        return {**fields, "ignore": torch.zeros(count, dtype=torch.bool)}

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        ind = batch["ind"]
        return {
            "hm_loss": fast_focal_loss(outputs["hm"], batch["hm"], ind, batch["mask"], batch["cat"]),
            "reg_loss": weighted_l1_loss(outputs["reg"], batch["reg_mask"], ind, batch["reg"]),
            "wh_loss": weighted_l1_loss(outputs["wh"], batch["wh_mask"], ind, batch["wh"]),
        }

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        boxes = box_fields(peaks.xs, peaks.ys, peaks.inds, outputs["wh"].clamp(min=0), outputs["reg"])
        return {"boxes": boxes, "scores": peaks.scores, "labels": peaks.classes}
