"""CenterNet's keypoint head (``multi_pose``): ``hps`` (joint offsets from the centre), ``hm_hp`` (joint
heatmaps) and ``hp_offset`` (sub-pixel joint offsets). Composed after a :class:`~dla_dense.heads.box.BoxHead`,
whose centres and box targets it builds on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..ops.affine import affine_points
from ..ops.centernet import HM_BIAS, draw_gaussian, focal_loss, object_radius, reg_l1_loss
from ..ops.pose import flip_lr, flip_lr_off, keypoint_fields, reg_weighted_l1_loss
from .base import Fields, Head, Maps, Peaks, Terms, ToImage, Warp
from .box import centernet_targets


def multi_pose_targets(
    boxes: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    keypoints: torch.Tensor | np.ndarray,
    *,
    output_size: tuple[int, int],
    num_classes: int,
    max_objs: int = 32,
    rotated: bool = False,
) -> dict[str, torch.Tensor]:
    """Targets of CenterNet's ``MultiPoseDataset`` for ``boxes [M, 4]`` (x1, y1, x2, y2), ``labels [M]`` and
    ``keypoints [M, J, 3]`` (x, y, visibility), all in output-map pixels, ``output_size = (H, W)``.

    The box targets ``hm, wh, reg, ind, reg_mask`` are :func:`~dla_dense.heads.box.centernet_targets`' (clipped
    boxes, CenterNet's radius, only the first ``max_objs`` objects), except that an object without a visible
    joint (sum of visibilities 0) gets ``reg_mask = 0``. For every kept object ``k`` and joint ``j`` with
    ``v > 0`` inside the map (``0 <= x < W``, ``0 <= y < H``): ``hps[k, 2j:2j+2] = pt - ct_int`` with
    ``hps_mask`` 1, ``hp_offset[k*J + j] = pt - int(pt)``, ``hp_ind[k*J + j] = int(y) * W + int(x)``,
    ``hp_mask`` 1, and a gaussian of the object's radius at ``int(pt)`` on ``hm_hp[j]``.

    ``rotated=True`` is CenterNet's rotation augmentation: the joints were rotated and the boxes were not, so
    only the joint targets count. Every one of the first ``max_objs`` objects is used, even one whose clipped
    box is empty (its ``wh``, ``reg`` and ``ind`` from that box); afterwards ``hm`` is 0.9999 everywhere (no
    focal-loss term) and ``reg_mask`` and ``hps_mask`` are 0.

    Returns float32 ``hm [C, H, W]``, ``wh``/``reg [max_objs, 2]``, ``hps [max_objs, 2J]``, ``hm_hp [J, H, W]``,
    ``hp_offset [max_objs*J, 2]``; int64 ``ind [max_objs]``, ``hp_ind``/``hp_mask [max_objs*J]``; uint8
    ``reg_mask [max_objs]``, ``hps_mask [max_objs, 2J]``.
    """
    targets = centernet_targets(boxes, labels, output_size=output_size, num_classes=num_classes, max_objs=max_objs)
    keypoint_targets(targets, boxes, keypoints, output_size=output_size, max_objs=max_objs, rotated=rotated)
    return targets


def keypoint_targets(
    targets: dict[str, torch.Tensor],
    boxes: torch.Tensor | np.ndarray,
    keypoints: torch.Tensor | np.ndarray,
    *,
    output_size: tuple[int, int],
    max_objs: int = 32,
    rotated: bool = False,
) -> None:
    """Add the joint targets of :func:`multi_pose_targets` (``hps``, ``hps_mask``, ``hm_hp``, ``hp_offset``,
    ``hp_ind``, ``hp_mask``) to the box targets ``targets`` of the same ``boxes`` (in place: objects without a
    visible joint lose their ``reg_mask``, and a ``rotated`` item keeps only its joint targets)."""
    height, width = (int(s) for s in output_size)
    points = torch.as_tensor(keypoints).detach().to("cpu", torch.float32)
    count = torch.as_tensor(boxes).reshape(-1, 4).shape[0]
    if points.ndim != 3 or points.shape[0] != count or points.shape[2] != 3:
        raise ValueError(f"multi_pose_targets: keypoints must have shape [{count}, J, 3], got {list(points.shape)}")
    joints = points.shape[1]
    hps = torch.zeros(max_objs, 2 * joints, dtype=torch.float32)
    hps_mask = torch.zeros(max_objs, 2 * joints, dtype=torch.uint8)
    hm_hp = torch.zeros(joints, height, width, dtype=torch.float32)
    hp_offset = torch.zeros(max_objs * joints, 2, dtype=torch.float32)
    hp_ind = torch.zeros(max_objs * joints, dtype=torch.int64)
    hp_mask = torch.zeros(max_objs * joints, dtype=torch.int64)

    reg_mask, wh, ind = targets["reg_mask"], targets["wh"], targets["ind"]
    kept = reg_mask.nonzero().flatten().tolist()
    if rotated:
        kept = list(range(min(count, max_objs)))
        _fill_empty_boxes(targets, torch.as_tensor(boxes).to("cpu", torch.float32).reshape(-1, 4), kept, width, height)
    for k in kept:
        w, h = wh[k].tolist()
        radius = object_radius(h, w)
        ct_int = torch.tensor([int(ind[k]) % width, int(ind[k]) // width], dtype=torch.float32)
        if points[k, :, 2].sum() == 0:
            reg_mask[k] = 0
        for j in range(joints):
            x, y, v = points[k, j].tolist()
            if v <= 0 or not (0 <= x < width and 0 <= y < height):
                continue
            pt = points[k, j, :2]
            pt_int = pt.to(torch.int32)
            hps[k, 2 * j : 2 * j + 2] = pt - ct_int
            hps_mask[k, 2 * j : 2 * j + 2] = 1
            hp_offset[k * joints + j] = pt - pt_int
            hp_ind[k * joints + j] = int(pt_int[1]) * width + int(pt_int[0])
            hp_mask[k * joints + j] = 1
            draw_gaussian(hm_hp[j], (int(pt_int[0]), int(pt_int[1])), radius)
    if rotated:
        targets["hm"].fill_(0.9999)
        reg_mask.zero_()
        hps_mask.zero_()
    targets.update(hps=hps, hps_mask=hps_mask, hm_hp=hm_hp, hp_offset=hp_offset, hp_ind=hp_ind, hp_mask=hp_mask)


def _fill_empty_boxes(targets: dict[str, torch.Tensor], boxes: torch.Tensor, kept: list[int], width: int, height: int):
    """``wh``, ``reg`` and ``ind`` (float32, as the kept boxes') of the objects in ``kept`` whose clipped box is
    empty (``reg_mask`` 0), from that box, as CenterNet's sampler sets them under rotation."""
    for k in kept:
        if targets["reg_mask"][k]:
            continue
        b = boxes[k].clone()
        b[0::2] = b[0::2].clamp(0, width - 1)
        b[1::2] = b[1::2].clamp(0, height - 1)
        ct = (b[:2] + b[2:]) / 2
        ct_int = ct.to(torch.int32)
        targets["wh"][k] = b[2:] - b[:2]
        targets["reg"][k] = ct - ct_int
        targets["ind"][k] = int(ct_int[1]) * width + int(ct_int[0])


class KeypointHead(Head):
    """``hps [N, 2J, H/4, W/4]``, ``hm_hp [N, J, ...]`` (logits), ``hp_offset [N, 2, ...]`` for ``num_joints``
    joints whose left/right pairs are ``flip_pairs``.

    Item field ``keypoints [M, J, 3]`` (x, y, visibility); targets those of
    :func:`keypoint_targets`; losses ``hp_loss`` (weighted L1), ``hm_hp_loss``
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

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        return {
            "hp_loss": reg_weighted_l1_loss(outputs["hps"].float(), batch["hps_mask"], batch["ind"], batch["hps"]),
            "hm_hp_loss": focal_loss(outputs["hm_hp"].float(), batch["hm_hp"]),
            "hp_offset_loss": reg_l1_loss(
                outputs["hp_offset"].float(), batch["hp_mask"], batch["hp_ind"], batch["hp_offset"]
            ),
        }

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
