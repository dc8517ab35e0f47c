"""CenterTrack's amodal box head: ``ltrb_amodal``, the full (unclipped) box relative to the integer centre."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .base import Fields, Peaks, slot_centers
from .regression import RegressionHead


def amodal_targets(
    targets: dict[str, torch.Tensor], boxes: np.ndarray, *, output_size: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """``ltrb_amodal`` / ``ltrb_amodal_mask [max_objs, 4]``: the unclipped output-map box of each positive slot
    minus its integer centre, ``(x1 - cx, y1 - cy, x2 - cx, y2 - cy)`` (signed)."""
    mask = targets["mask"]
    ltrb = torch.zeros(len(mask), 4)
    ltrb_mask = torch.zeros(len(mask), 4)
    ct_int = slot_centers(targets, output_size[1])
    boxes = torch.from_numpy(np.asarray(boxes, np.float32).reshape(-1, 4))
    for k in mask.nonzero().flatten().tolist():
        ltrb[k] = boxes[k] - ct_int[k].repeat(2)
        ltrb_mask[k] = 1
    return {"ltrb_amodal": ltrb, "ltrb_amodal_mask": ltrb_mask}


class AmodalHead(RegressionHead):
    """``ltrb_amodal [N, 4, H/4, W/4]``: ``(x1 - cx, y1 - cy, x2 - cx, y2 - cy)`` of the unclipped box around
    the integer centre ``(cx, cy)``, output pixels (signed).

    Targets :func:`amodal_targets` from the box head's unclipped ``boxes``; loss
    ``ltrb_amodal_loss`` (weighted L1, weight 0.1). Decoding replaces ``boxes`` with ``peak + ltrb_amodal`` (no
    ``reg``), as CenterTrack's ``generic_decode``; it must come after the box head.
    """

    fields = ("boxes",)
    output = "ltrb_amodal"
    channels = 4
    default_weight = 0.1

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        targets.update(amodal_targets(targets, fields["boxes"], output_size=output_size))

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        corners = torch.stack([peaks.xs, peaks.ys, peaks.xs, peaks.ys], 2)
        return {"boxes": corners + self.gather(outputs, peaks)}
