"""CenterNet ``multi_pose`` training targets from boxes and keypoints in output-map coordinates."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..ops.centernet import draw_gaussian, gaussian_radius
from .centernet_targets import centernet_targets


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

    The box targets ``hm, wh, reg, ind, reg_mask`` are :func:`~dla_dense.data.centernet_targets`' (clipped
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
        radius = max(0, int(gaussian_radius((math.ceil(h), math.ceil(w)))))
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
