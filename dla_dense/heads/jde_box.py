"""FairMOT's centre / box head: CenterNet's ``hm`` and ``reg`` with a 4-channel ``wh`` of distances to the box
sides (``--ltrb``, FairMOT's default) and FairMOT's targets."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..ops.centernet import draw_gaussian, object_radius, transpose_and_gather_feat
from .base import Fields, Peaks, Warp
from .box import BoxHead, warp_corners


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
        radius = object_radius(h, w)
        draw_gaussian(hm[int(labels[k])], (int(ct_int[0]), int(ct_int[1])), radius)
        wh[k] = (ct[0] - x1, ct[1] - y1, x2 - ct[0], y2 - ct[1]) if ltrb else (w, h)
        ind[k] = ct_int[1] * width + ct_int[0]
        reg[k] = ct - ct_int
        reg_mask[k] = 1
    out = {"hm": hm, "wh": wh, "reg": reg, "ind": ind, "reg_mask": reg_mask}
    return {k: torch.from_numpy(v) for k, v in out.items()}


class JdeBoxHead(BoxHead):
    """``hm [N, C, H/4, W/4]`` (logits), ``wh [N, 4, H/4, W/4]`` (``(l, t, r, b)`` from the centre; ``(w, h)`` with
    ``ltrb=False``), ``reg [N, 2, H/4, W/4]``.

    Targets :func:`fairmot_box_targets` (the centre clipped to the map, the box not);
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
