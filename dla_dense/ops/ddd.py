"""Monocular 3D geometry and losses of CenterNet's ``ddd`` heads (``utils/ddd_utils.py``, ``utils/post_process.py``,
``models/losses.py``): projection with a camera matrix ``P2`` ``[3, 4]``, unprojection of a pixel at a known depth,
the observation angle ``alpha`` against the yaw ``rotation_y``, the two-bin rotation code, the depth output
transform, and the losses in CenterNet's reductions.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .centernet import transpose_and_gather_feat

#: CenterTrack's camera when an image has none: focal length 1200 px, principal point at the image centre.
DEFAULT_FOCAL = 1200.0


def default_calib(width: int, height: int, focal: float = DEFAULT_FOCAL) -> np.ndarray:
    """CenterTrack's default camera matrix ``[3, 4]`` of a ``width`` x ``height`` image (no translation)."""
    return np.array([[focal, 0, width / 2, 0], [0, focal, height / 2, 0], [0, 0, 1, 0]], np.float64)


def project(points: np.ndarray, calib: np.ndarray) -> np.ndarray:
    """Pixels ``[N, 2]`` of camera-frame points ``[N, 3]`` through ``calib`` ``[3, 4]``."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    uvw = np.concatenate([points, np.ones((len(points), 1))], 1) @ np.asarray(calib, np.float64).T
    return uvw[:, :2] / uvw[:, 2:]


def unproject(pixels: np.ndarray, depth: np.ndarray, calib: np.ndarray) -> np.ndarray:
    """Camera-frame points ``[N, 3]`` of ``pixels [N, 2]`` at homogeneous ``depth [N]`` (CenterNet's
    ``unproject_2d_to_3d``: ``z = depth - P[2, 3]``, then x and y from the first two rows of ``calib``)."""
    pixels = np.asarray(pixels, np.float64).reshape(-1, 2)
    depth = np.asarray(depth, np.float64).reshape(-1)
    p = np.asarray(calib, np.float64)
    z = depth - p[2, 3]
    x = (pixels[:, 0] * depth - p[0, 3] - p[0, 2] * z) / p[0, 0]
    y = (pixels[:, 1] * depth - p[1, 3] - p[1, 2] * z) / p[1, 1]
    return np.stack([x, y, z], 1)


def _wrap_once(angle: np.ndarray) -> np.ndarray:
    """``angle`` moved by one turn where it leaves ``[-pi, pi]`` (CenterNet's wrapping)."""
    angle = np.where(angle > np.pi, angle - 2 * np.pi, angle)
    return np.where(angle < -np.pi, angle + 2 * np.pi, angle)


def alpha_to_rotation_y(alpha: np.ndarray, u: np.ndarray, calib: np.ndarray) -> np.ndarray:
    """The yaw ``rotation_y`` of objects seen at observation angle ``alpha`` at pixel column ``u``:
    ``alpha + atan2(u - cx, fx)``, wrapped (CenterNet's ``alpha2rot_y``)."""
    p = np.asarray(calib, np.float64)
    return _wrap_once(np.asarray(alpha, np.float64) + np.arctan2(np.asarray(u, np.float64) - p[0, 2], p[0, 0]))


def rotation_y_to_alpha(rotation_y: np.ndarray, u: np.ndarray, calib: np.ndarray) -> np.ndarray:
    """The observation angle of objects of yaw ``rotation_y`` at pixel column ``u`` (CenterNet's ``rot_y2alpha``)."""
    p = np.asarray(calib, np.float64)
    return _wrap_once(np.asarray(rotation_y, np.float64) - np.arctan2(np.asarray(u, np.float64) - p[0, 2], p[0, 0]))


def rotation_bins(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CenterNet's two overlapping rotation bins of ``alpha [M]``: ``rotbin [M, 2]`` int64 (1 where the angle
    falls in the bin: bin 1 for ``alpha < pi/6`` or ``> 5pi/6``, centred at -pi/2; bin 2 for ``alpha > -pi/6``
    or ``< -5pi/6``, centred at +pi/2) and ``rotres [M, 2]`` float32 (the angle minus the bin's centre, 0 outside
    it)."""
    alpha = np.asarray(alpha, np.float64).reshape(-1)
    first = (alpha < np.pi / 6.0) | (alpha > 5 * np.pi / 6.0)
    second = (alpha > -np.pi / 6.0) | (alpha < -5 * np.pi / 6.0)
    rotbin = np.stack([first, second], 1).astype(np.int64)
    rotres = np.stack([np.where(first, alpha + 0.5 * np.pi, 0.0), np.where(second, alpha - 0.5 * np.pi, 0.0)], 1)
    return rotbin, rotres.astype(np.float32)


def bins_to_alpha(rot: torch.Tensor) -> torch.Tensor:
    """``alpha [...]`` from the 8 rotation channels ``[..., 8]`` (bin 1: logits 0-1, sin 2, cos 3; bin 2: logits
    4-5, sin 6, cos 7): the bin whose second logit is larger, its residual ``atan2(sin, cos)`` plus its centre
    (CenterNet's ``get_alpha``)."""
    first = rot[..., 1] > rot[..., 5]
    alpha1 = torch.atan2(rot[..., 2], rot[..., 3]) - 0.5 * math.pi
    alpha2 = torch.atan2(rot[..., 6], rot[..., 7]) + 0.5 * math.pi
    return torch.where(first, alpha1, alpha2)


def depth_from_output(output: torch.Tensor) -> torch.Tensor:
    """Depth in metres from the raw ``dep`` output: ``1 / (sigmoid(o) + 1e-6) - 1`` (about ``exp(-o)``)."""
    return 1.0 / (output.sigmoid() + 1e-6) - 1.0


def slot_l1_loss(output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's ``L1Loss`` of ``ddd``: L1 between ``output [N, D, H, W]`` at ``ind [N, M]`` and ``target [N, M,
    D]``, both times ``mask [N, M]``, averaged over all ``N * M * D`` entries (every slot, used or not)."""
    pred = transpose_and_gather_feat(output.float(), ind)
    mask = mask.unsqueeze(2).expand_as(pred).float()
    return F.l1_loss(pred * mask, target * mask, reduction="mean")


def bin_rot_loss(
    output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, rotbin: torch.Tensor, rotres: torch.Tensor
) -> torch.Tensor:
    """CenterNet's ``BinRotLoss`` of ``output [N, 8, H, W]`` at ``ind [N, M]``: per bin, cross-entropy of its two
    logits (times ``mask [N, M]``) against ``rotbin [N, M, 2]`` averaged over all ``N * M`` slots, plus smooth L1
    of its sin and cos against ``sin/cos(rotres [N, M, 2])`` averaged over the slots in that bin."""
    pred = transpose_and_gather_feat(output.float(), ind).reshape(-1, 8)
    rotbin, rotres = rotbin.reshape(-1, 2), rotres.reshape(-1, 2)
    mask = mask.reshape(-1, 1).float()
    bins = [F.cross_entropy(pred[:, 4 * b : 4 * b + 2] * mask, rotbin[:, b].long()) for b in range(2)]
    residual = pred.new_zeros(())
    for b in range(2):
        rows = rotbin[:, b].nonzero()[:, 0]
        if len(rows):
            res = rotres[rows, b]
            sin = F.smooth_l1_loss(pred[rows, 4 * b + 2], torch.sin(res))
            residual = residual + (sin + F.smooth_l1_loss(pred[rows, 4 * b + 3], torch.cos(res)))
    return bins[0] + bins[1] + residual
