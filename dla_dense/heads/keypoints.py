"""CenterNet's keypoint head (``multi_pose``): ``hps`` (joint offsets from the centre), ``hm_hp`` (joint
heatmaps) and ``hp_offset`` (sub-pixel joint offsets). Composed after a :class:`~dla_dense.heads.box.BoxHead`,
whose centres and box targets it builds on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..data.pose_targets import keypoint_targets
from ..ops.affine import affine_points
from ..ops.centernet import HM_BIAS, focal_loss, reg_l1_loss
from ..ops.pose import flip_lr, flip_lr_off, keypoint_fields, reg_weighted_l1_loss
from .base import Fields, Head, Peaks, ToImage, Warp


class KeypointHead(Head):
    """``hps [N, 2J, H/4, W/4]``, ``hm_hp [N, J, ...]`` (logits), ``hp_offset [N, 2, ...]`` for ``num_joints``
    joints whose left/right pairs are ``flip_pairs``.

    Item field ``keypoints [M, J, 3]`` (x, y, visibility); targets those of
    :func:`~dla_dense.data.pose_targets.keypoint_targets`; losses ``hp_loss`` (weighted L1), ``hm_hp_loss``
    (focal) and ``hp_offset_loss`` (L1 at the joint pixels), CenterNet's multi_pose terms; decoded field
    ``keypoints [K, J, 2]`` (snapped to ``hm_hp`` peaks). The flip test averages ``hps`` and ``hm_hp`` with the
    mirrored pass (joints of each pair swapped) and keeps ``hp_offset`` of the unflipped pass.
    """

    item_fields = ("keypoints",)
    fields = ("keypoints",)
    rotates = True

    def __init__(
        self,
        num_joints: int,
        flip_pairs: Sequence[tuple[int, int]] = (),
        *,
        max_objs: int = 32,
        hp_weight: float = 1.0,
        hm_hp_weight: float = 1.0,
        hp_offset_weight: float = 1.0,
    ) -> None:
        self.num_joints = num_joints
        self.flip_pairs = tuple(tuple(p) for p in flip_pairs)
        self.max_objs = max_objs
        self.weights = {"hp_loss": hp_weight, "hm_hp_loss": hm_hp_weight, "hp_offset_loss": hp_offset_weight}

    @property
    def outputs(self) -> dict[str, int]:
        return {"hps": 2 * self.num_joints, "hm_hp": self.num_joints, "hp_offset": 2}

    def initial_bias(self) -> dict[str, float]:
        return {"hm_hp": HM_BIAS}

    def warp(self, item: Fields, warp: Warp) -> Fields:
        points = np.asarray(item["keypoints"], np.float32).copy()
        if warp.flipped:
            points[:, :, 0] = warp.width - points[:, :, 0] - 1
            for a, b in self.flip_pairs:
                points[:, [a, b]] = points[:, [b, a]]
        points[:, :, :2] = affine_points(points[:, :, :2], warp.matrix if warp.rotated is None else warp.rotated)
        return {"keypoints": points}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        keypoint_targets(
            targets,
            fields["boxes"],
            fields["keypoints"],
            output_size=output_size,
            max_objs=self.max_objs,
            rotated=bool(fields.get("rotated", False)),
        )

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Joints spread over each box of ``found``, visibilities 0, 1 or 2."""
        boxes = found["boxes"]
        joints = boxes[:, None, :2] + torch.rand(count, self.num_joints, 2, generator=generator) * (
            boxes[:, None, 2:] - boxes[:, None, :2]
        )
        visibility = torch.randint(0, 3, (count, self.num_joints, 1), generator=generator).float()
        return {"keypoints": torch.cat([joints, visibility], 2)}

    def loss(
        self,
        outputs: Mapping[str, torch.Tensor],
        batch: Mapping[str, torch.Tensor],
        learned: nn.Module | None = None,
    ) -> dict[str, torch.Tensor]:
        return {
            "hp_loss": reg_weighted_l1_loss(outputs["hps"].float(), batch["hps_mask"], batch["ind"], batch["hps"]),
            "hm_hp_loss": focal_loss(outputs["hm_hp"].float(), batch["hm_hp"]),
            "hp_offset_loss": reg_l1_loss(
                outputs["hp_offset"].float(), batch["hp_mask"], batch["hp_ind"], batch["hp_offset"]
            ),
        }

    def loss_weights(self) -> dict[str, float]:
        return dict(self.weights)

    def activate(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"hm_hp": outputs["hm_hp"].sigmoid()}

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hps, hm_hp = outputs["hps"], outputs["hm_hp"]
        return {
            "hps": (hps[:1] + flip_lr_off(hps[1:], self.flip_pairs)) / 2,
            "hm_hp": (hm_hp[:1] + flip_lr(hm_hp[1:], self.flip_pairs)) / 2,
            "hp_offset": outputs["hp_offset"][:1],
        }

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        points = keypoint_fields(
            peaks.xs, peaks.ys, peaks.inds, found["boxes"], outputs["hps"], outputs["hm_hp"], outputs["hp_offset"]
        )
        return {"keypoints": points}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        return {"keypoints": torch.from_numpy(back.points(fields["keypoints"])) / back.scale}
