"""CenterTrack's amodal box head: ``ltrb_amodal``, the full (unclipped) box relative to the integer centre."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..data.track_targets import amodal_targets
from ..ops.centernet import transpose_and_gather_feat, weighted_l1_loss
from .base import Fields, Head, Peaks


class AmodalHead(Head):
    """``ltrb_amodal [N, 4, H/4, W/4]``: ``(x1 - cx, y1 - cy, x2 - cx, y2 - cy)`` of the unclipped box around
    the integer centre ``(cx, cy)``, output pixels (signed).

    Targets :func:`~dla_dense.data.track_targets.amodal_targets` from the box head's unclipped ``boxes``; loss
    ``ltrb_amodal_loss`` (weighted L1, weight 0.1). Decoding replaces ``boxes`` with ``peak + ltrb_amodal`` (no
    ``reg``), as CenterTrack's ``generic_decode``; it must come after the box head.
    """

    fields = ("boxes",)

    def __init__(self, *, weight: float = 0.1) -> None:
        self.weight = weight

    @property
    def outputs(self) -> dict[str, int]:
        return {"ltrb_amodal": 4}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        targets.update(amodal_targets(targets, fields["boxes"], output_size=output_size))

    def loss(
        self,
        outputs: Mapping[str, torch.Tensor],
        batch: Mapping[str, torch.Tensor],
        learned: nn.Module | None = None,
    ) -> dict[str, torch.Tensor]:
        return {
            "ltrb_amodal_loss": weighted_l1_loss(
                outputs["ltrb_amodal"], batch["ltrb_amodal_mask"], batch["ind"], batch["ltrb_amodal"]
            )
        }

    def loss_weights(self) -> dict[str, float]:
        return {"ltrb_amodal_loss": self.weight}

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"ltrb_amodal": outputs["ltrb_amodal"][:1]}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        ltrb = transpose_and_gather_feat(outputs["ltrb_amodal"], peaks.inds)
        corners = torch.stack([peaks.xs, peaks.ys, peaks.xs, peaks.ys], 2)
        return {"boxes": corners + ltrb}
