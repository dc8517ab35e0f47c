"""CenterTrack's centre / box head: CenterNet's ``hm``, ``reg``, ``wh`` with CenterTrack's targets and losses."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..data.track_targets import centertrack_box_targets
from ..ops.centernet import box_fields, fast_focal_loss, weighted_l1_loss
from .base import Fields, Peaks, Warp
from .box import BoxHead, warp_corners

#: CenterTrack's heatmap prior bias (``--prior_bias``): sigmoid(-4.6) = 0.01.
TRACK_HM_BIAS = -4.6


class TrackBoxHead(BoxHead):
    """``hm [N, C, H/4, W/4]`` (logits), ``reg`` and ``wh`` ``[N, 2, H/4, W/4]``, as CenterTrack trains them.

    Item fields ``boxes [M, 4]`` (x1y1x2y2), ``labels [M]`` (0-based; -1 with ``ignore``: every class) and
    ``ignore [M]`` (ignore regions and crowds: ``hm`` = 1 inside, not a positive). Boxes are warped by their four
    corners and kept unclipped (the amodal box). Targets :func:`~dla_dense.data.track_targets.centertrack_box_targets`;
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

    def loss(
        self,
        outputs: Mapping[str, torch.Tensor],
        batch: Mapping[str, torch.Tensor],
        learned: nn.Module | None = None,
    ) -> dict[str, torch.Tensor]:
        ind = batch["ind"]
        return {
            "hm_loss": fast_focal_loss(outputs["hm"], batch["hm"], ind, batch["mask"], batch["cat"]),
            "reg_loss": weighted_l1_loss(outputs["reg"], batch["reg_mask"], ind, batch["reg"]),
            "wh_loss": weighted_l1_loss(outputs["wh"], batch["wh_mask"], ind, batch["wh"]),
        }

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        boxes = box_fields(peaks.xs, peaks.ys, peaks.inds, outputs["wh"].clamp(min=0), outputs["reg"])
        return {"boxes": boxes, "scores": peaks.scores, "labels": peaks.classes}
