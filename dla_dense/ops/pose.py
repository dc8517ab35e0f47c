"""CenterNet ``multi_pose`` primitives: keypoint decoding, flip-test helpers and the weighted L1 loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .centernet import box_fields, focal_loss, heatmap_peaks, reg_l1_loss, transpose_and_gather_feat

#: A keypoint peak counts when its ``hm_hp`` score is above this (CenterNet's ``thresh``).
KEYPOINT_THRESHOLD = 0.1
#: A joint snaps to a peak only closer than this fraction of the box's longer side.
SNAP_FRACTION = 0.3


def multi_pose_decode(
    heat: torch.Tensor,
    wh: torch.Tensor,
    kps: torch.Tensor,
    reg: torch.Tensor | None = None,
    hm_hp: torch.Tensor | None = None,
    hp_offset: torch.Tensor | None = None,
    K: int = 100,
) -> torch.Tensor:
    """CenterNet ``multi_pose_decode`` -> ``[N, K, 4 + 1 + 2J + 1]``: box, score, ``J`` joints (x, y), class.

    ``heat [N, C, H, W]`` and ``hm_hp [N, J, H, W]`` after sigmoid, ``wh``/``reg``/``hp_offset [N, 2, H, W]``,
    ``kps [N, 2J, H, W]`` (joint offsets from the centre), all in output-map pixels. The reference's packed
    layout; the joints are those of :func:`keypoint_fields`.
    """
    n = heat.shape[0]
    joints = kps.shape[1] // 2
    scores, inds, classes, ys, xs = heatmap_peaks(heat, K, "multi_pose_decode")
    xs, ys = xs.to(kps.dtype), ys.to(kps.dtype)
    boxes = box_fields(xs, ys, inds, wh, reg)
    points = keypoint_fields(xs, ys, inds, boxes, kps, hm_hp, hp_offset)
    return torch.cat(
        [boxes, scores.unsqueeze(2), points.reshape(n, K, 2 * joints), classes.to(scores.dtype).unsqueeze(2)], 2
    )


def keypoint_fields(
    xs: torch.Tensor,
    ys: torch.Tensor,
    inds: torch.Tensor,
    boxes: torch.Tensor,
    kps: torch.Tensor,
    hm_hp: torch.Tensor | None = None,
    hp_offset: torch.Tensor | None = None,
) -> torch.Tensor:
    """Joints ``[N, K, J, 2]`` (output-map pixels) of the objects at peaks ``xs``, ``ys``, ``inds`` ``[N, K]``
    with ``boxes [N, K, 4]``: the integer centre plus ``kps [N, 2J, H, W]``. With ``hm_hp`` (after sigmoid),
    each joint moves to the nearest of its channel's ``K`` best peaks (plus ``hp_offset``, else + 0.5) when
    that peak scores above 0.1, lies inside the box and is closer than 0.3 x the box's longer side
    (CenterNet's ``multi_pose_decode``)."""
    n, k = inds.shape
    joints = kps.shape[1] // 2
    centres = torch.stack([xs, ys], 2).unsqueeze(2)
    points = transpose_and_gather_feat(kps, inds).reshape(n, k, joints, 2) + centres
    if hm_hp is not None:
        points = _snap_to_keypoint_peaks(points, boxes, hm_hp, hp_offset, k)
    return points


def _snap_to_keypoint_peaks(
    points: torch.Tensor, boxes: torch.Tensor, hm_hp: torch.Tensor, hp_offset: torch.Tensor | None, K: int
) -> torch.Tensor:
    """``points [N, K, J, 2]`` moved to their nearest qualifying ``hm_hp`` peak (see :func:`multi_pose_decode`)."""
    n, joints, h, w = hm_hp.shape
    hmax = F.max_pool2d(hm_hp, kernel_size=3, stride=1, padding=1)
    hm_hp = hm_hp * (hmax == hm_hp).to(hm_hp.dtype)
    peak_scores, peak_inds = torch.topk(hm_hp.reshape(n, joints, h * w), K)  # [N, J, K]
    peak_ys = torch.div(peak_inds, w, rounding_mode="floor").to(points.dtype)
    peak_xs = (peak_inds % w).to(points.dtype)
    if hp_offset is not None:
        offsets = transpose_and_gather_feat(hp_offset, peak_inds.reshape(n, -1)).reshape(n, joints, K, 2)
        peak_xs, peak_ys = peak_xs + offsets[..., 0], peak_ys + offsets[..., 1]
    else:
        peak_xs, peak_ys = peak_xs + 0.5, peak_ys + 0.5
    valid = peak_scores > KEYPOINT_THRESHOLD
    peak_scores = torch.where(valid, peak_scores, torch.full_like(peak_scores, -1))
    peaks = torch.stack([peak_xs, peak_ys], -1)
    peaks = torch.where(valid.unsqueeze(-1), peaks, torch.full_like(peaks, -10000))  # [N, J, K_peaks, 2]

    regressed = points.permute(0, 2, 1, 3)  # [N, J, K, 2]
    dist = ((regressed.unsqueeze(3) - peaks.unsqueeze(2)) ** 2).sum(-1) ** 0.5  # [N, J, K, K_peaks]
    min_dist, nearest = dist.min(dim=3)
    score = peak_scores.gather(2, nearest)
    snapped = peaks.gather(2, nearest.unsqueeze(-1).expand(-1, -1, -1, 2))  # [N, J, K, 2]
    left, top, right, bottom = (boxes[:, :, i].unsqueeze(1) for i in range(4))  # [N, 1, K]
    keep_regressed = (
        (snapped[..., 0] < left)
        | (snapped[..., 0] > right)
        | (snapped[..., 1] < top)
        | (snapped[..., 1] > bottom)
        | (score < KEYPOINT_THRESHOLD)
        | (min_dist > torch.max(bottom - top, right - left) * SNAP_FRACTION)
    )
    return torch.where(keep_regressed.unsqueeze(-1), regressed, snapped).permute(0, 2, 1, 3)


def flip_lr(x: torch.Tensor, flip_pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    """CenterNet ``flip_lr``: ``x [N, J, H, W]`` mirrored left-right with channels ``a`` and ``b`` of each pair
    swapped (joint heatmaps of a flipped image back in the original's joint order)."""
    out = x.flip(-1)
    order = list(range(x.shape[1]))
    for a, b in flip_pairs:
        order[a], order[b] = order[b], order[a]
    return out[:, order]


def flip_lr_off(x: torch.Tensor, flip_pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    """CenterNet ``flip_lr_off``: joint offsets ``x [N, 2J, H, W]`` mirrored, x components negated, and the
    joints of each pair swapped."""
    n, c, h, w = x.shape
    out = x.flip(-1).reshape(n, c // 2, 2, h, w)
    out = torch.stack([-out[:, :, 0], out[:, :, 1]], 2)
    order = list(range(c // 2))
    for a, b in flip_pairs:
        order[a], order[b] = order[b], order[a]
    return out[:, order].reshape(n, c, h, w)


def reg_weighted_l1_loss(
    output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """CenterNet ``RegWeightedL1Loss``: L1 between ``output [N, D, H, W]`` at ``ind [N, K]`` and ``target
    [N, K, D]``, each coordinate weighted by ``mask [N, K, D]``, divided by ``mask.sum() + 1e-4``."""
    pred = transpose_and_gather_feat(output, ind)
    mask = mask.to(pred.dtype)
    return F.l1_loss(pred * mask, target * mask, reduction="sum") / (mask.sum() + 1e-4)


#: CenterNet's multi_pose loss weights (``opts.py`` defaults); ``hp_offset_loss`` shares ``off_weight``.
MULTI_POSE_WEIGHTS: dict[str, float] = {
    "hm_loss": 1.0,
    "wh_loss": 0.1,
    "off_loss": 1.0,
    "hp_loss": 1.0,
    "hm_hp_loss": 1.0,
    "hp_offset_loss": 1.0,
}


def multi_pose_loss(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The unweighted terms of CenterNet's ``MultiPoseLoss``, in its order (weights: :data:`MULTI_POSE_WEIGHTS`).

    ``outputs``: the network's ``hm``, ``wh``, ``reg``, ``hps``, ``hm_hp``, ``hp_offset`` maps (heatmaps as
    logits); ``batch``: :func:`~dla_dense.heads.multi_pose_targets` stacked over the batch. Focal losses on
    ``hm`` and ``hm_hp``; L1 at the centres for ``wh`` and ``reg``; weighted L1 for the joint offsets ``hps``
    (``hps_mask``); L1 at the joint pixels for ``hp_offset`` (``hp_mask``, ``hp_ind``).
    """
    ind, mask = batch["ind"], batch["reg_mask"]
    return {
        "hm_loss": focal_loss(outputs["hm"].float(), batch["hm"]),
        "wh_loss": reg_l1_loss(outputs["wh"].float(), mask, ind, batch["wh"]),
        "off_loss": reg_l1_loss(outputs["reg"].float(), mask, ind, batch["reg"]),
        "hp_loss": reg_weighted_l1_loss(outputs["hps"].float(), batch["hps_mask"], ind, batch["hps"]),
        "hm_hp_loss": focal_loss(outputs["hm_hp"].float(), batch["hm_hp"]),
        "hp_offset_loss": reg_l1_loss(
            outputs["hp_offset"].float(), batch["hp_mask"], batch["hp_ind"], batch["hp_offset"]
        ),
    }
