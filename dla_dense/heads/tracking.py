"""CenterTrack's tracking head: ``tracking``, the offset from each object's centre to where it was in the
previous frame."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .base import Fields, Peaks, ToImage, Warp, slot_centers
from .regression import RegressionHead


def tracking_targets(
    targets: dict[str, torch.Tensor],
    track_ids: Sequence[int],
    pre_centers: np.ndarray,
    pre_ids: Sequence[int],
    *,
    output_size: tuple[int, int],
) -> dict[str, torch.Tensor]:
    """``tracking`` / ``tracking_mask [max_objs, 2]``: for a positive slot ``k`` whose ``track_ids[k]`` is among
    the previous frame's ``pre_ids`` (first match), the previous centre ``pre_centers [M', 2]`` (output pixels)
    minus the slot's integer centre; 0 with mask 0 otherwise, and for objects without identity (track id < 0).
    ``targets`` are :func:`centertrack_box_targets`'."""
    mask = targets["mask"]
    tracking = torch.zeros(len(mask), 2)
    tracking_mask = torch.zeros(len(mask), 2)
    ct_int = slot_centers(targets, output_size[1])
    pre_ids = list(pre_ids)
    for k in mask.nonzero().flatten().tolist():
        if int(track_ids[k]) >= 0 and int(track_ids[k]) in pre_ids:
            pre = torch.from_numpy(np.asarray(pre_centers[pre_ids.index(int(track_ids[k]))], np.float32))
            tracking[k] = pre - ct_int[k]
            tracking_mask[k] = 1
    return {"tracking": tracking, "tracking_mask": tracking_mask}


class TrackingHead(RegressionHead):
    """``tracking [N, 2, H/4, W/4]``: previous centre minus the current integer centre, output pixels.

    Item field ``track_ids [M]``; the frame pair adds ``pre_centers [M', 2]`` / ``pre_ids [M']`` (the previous
    frame's objects, :func:`~dla_dense.ops.pre_heatmap.pre_heatmap`). Targets
    :func:`tracking_targets`, loss ``tracking_loss`` (weighted L1, weight 1).
    Decoding gives ``centers [K, 2]`` (the integer peaks) and ``tracking [K, 2]``; in image pixels the offset is
    ``back(center + tracking) - back(center)`` (``generic_post_process``).
    """

    item_fields = ("track_ids",)
    fields = ("centers", "tracking")
    output = "tracking"
    channels = 2

    def warp(self, item: Fields, warp: Warp) -> Fields:
        return {"track_ids": np.asarray(item["track_ids"], np.int64).reshape(-1)}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        targets.update(
            tracking_targets(
                targets, fields["track_ids"], fields["pre_centers"], fields["pre_ids"], output_size=output_size
            )
        )

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Ids ``0..count-1``; every other object was in the previous frame, a few pixels away."""
        boxes = torch.as_tensor(found["boxes"], dtype=torch.float32)
        centers = (boxes[:, :2] + boxes[:, 2:]) / 2 + torch.randn(count, 2, generator=generator) * 2
        keep = torch.arange(0, count, 2)
        return {"track_ids": torch.arange(count), "pre_centers": centers[keep].numpy(), "pre_ids": keep.tolist()}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        return {
            "centers": torch.stack([peaks.xs, peaks.ys], 2),
            "tracking": self.gather(outputs, peaks),
        }

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        centers = torch.from_numpy(back.points(fields["centers"])) / back.scale
        moved = torch.from_numpy(back.points(fields["centers"] + fields["tracking"])) / back.scale
        return {"centers": centers.float(), "tracking": (moved - centers).float()}
