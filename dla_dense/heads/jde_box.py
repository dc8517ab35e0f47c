"""FairMOT's centre / box head: CenterNet's ``hm`` and ``reg`` with a 4-channel ``wh`` of distances to the box
sides (``--ltrb``, FairMOT's default) and FairMOT's targets."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..data.jde_targets import fairmot_box_targets
from ..ops.centernet import transpose_and_gather_feat
from .base import Fields, Peaks, Warp
from .box import BoxHead, warp_corners


class JdeBoxHead(BoxHead):
    """``hm [N, C, H/4, W/4]`` (logits), ``wh [N, 4, H/4, W/4]`` (``(l, t, r, b)`` from the centre; ``(w, h)`` with
    ``ltrb=False``), ``reg [N, 2, H/4, W/4]``.

    Targets :func:`~dla_dense.data.jde_targets.fairmot_box_targets` (the centre clipped to the map, the box not);
    losses as CenterNet's (focal ``hm_loss``, L1 ``wh_loss`` and ``off_loss``, weights 1, 0.1, 1). Decoding is
    FairMOT's ``mot_decode``: box ``(x - l, y - t, x + r, y + b)`` around the peak plus ``reg``. The flip test averages
    ``hm`` and ``wh`` (the mirror's ``l`` and ``r`` swapped).
    """

    def __init__(self, num_classes: int, *, ltrb: bool = True, **options: float) -> None:
        super().__init__(num_classes, **options)
        self.ltrb = ltrb

    @property
    def outputs(self) -> dict[str, int]:
        return {"hm": self.num_classes, "wh": 4 if self.ltrb else 2, "reg": 2}

    def warp(self, item: Fields, warp: Warp) -> Fields:
        """Boxes warped by their four corners, kept unclipped (FairMOT's ``ltrb`` reaches outside the image)."""
        return {"boxes": warp_corners(item["boxes"], warp), "labels": np.asarray(item["labels"], np.int64).reshape(-1)}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        targets.update(
            fairmot_box_targets(
                fields["boxes"],
                fields["labels"],
                output_size=output_size,
                num_classes=self.num_classes,
                max_objs=self.max_objs,
                ltrb=self.ltrb,
            )
        )

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.ltrb:
            return super().merge_flip(outputs)
        hm, wh = outputs["hm"], outputs["wh"]
        mirrored = wh[1:].flip(-1)[:, [2, 1, 0, 3]]
        return {"hm": (hm[:1] + hm[1:].flip(-1)) / 2, "wh": (wh[:1] + mirrored) / 2, "reg": outputs["reg"][:1]}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        if not self.ltrb:
            return super().decode(outputs, peaks, found)
        offsets = transpose_and_gather_feat(outputs["reg"], peaks.inds)
        xs, ys = peaks.xs + offsets[..., 0], peaks.ys + offsets[..., 1]
        ltrb = transpose_and_gather_feat(outputs["wh"], peaks.inds)
        boxes = torch.stack([xs - ltrb[..., 0], ys - ltrb[..., 1], xs + ltrb[..., 2], ys + ltrb[..., 3]], -1)
        return {"boxes": boxes, "scores": peaks.scores, "labels": peaks.classes}
