"""Affine maps of CenterNet's input pipeline (``utils/image.py``): a crop square to a size, points and boxes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def get_affine_transform(
    center: Sequence[float] | np.ndarray,
    scale: float | Sequence[float] | np.ndarray,
    output_size: tuple[int, int],
    *,
    rot: float = 0.0,
    inverse: bool = False,
) -> np.ndarray:
    """The [2, 3] affine matrix mapping the square of side ``scale`` centred at ``center`` onto ``output_size``
    (W, H), centre to centre, turned by ``rot`` degrees (CenterNet's ``get_affine_transform``): a point ``p``
    goes to ``k * R(-rot) (p - center) + size / 2`` with ``k = W / scale`` and ``R`` the rotation in image
    coordinates (y down), so the image content turns by ``rot`` degrees counter-clockwise as displayed.

    Only the first entry of an array ``scale`` is used, as in CenterNet. ``inverse=True`` gives the map back.
    """
    c = np.asarray(center, dtype=np.float64).reshape(2)
    src_w = float(np.asarray(scale, dtype=np.float64).reshape(-1)[0])
    half = np.array([float(output_size[0]) / 2, float(output_size[1]) / 2])
    k = 2 * half[0] / src_w
    cos, sin = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    if inverse:
        turn = np.array([[cos, -sin], [sin, cos]])
        return np.concatenate([turn / k, (c - turn @ half / k)[:, None]], 1)
    linear = k * np.array([[cos, sin], [-sin, cos]])
    return np.concatenate([linear, (half - linear @ c)[:, None]], 1)


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a [2, 3] affine ``matrix`` to ``points`` [..., 2]."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def affine_boxes(boxes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map x1y1x2y2 boxes [M, 4] through an axis-aligned affine ``matrix`` (both corners)."""
    return affine_points(boxes.reshape(-1, 2, 2), matrix).reshape(-1, 4)


@dataclass(frozen=True)
class Warp:
    """How a training image was warped, for heads to move their fields the same way: mirrored first (when
    ``flipped``, about an image of ``width`` pixels), then mapped by ``matrix`` ``[2, 3]`` to output-map pixels.
    ``rotated`` is the same map with the image's rotation (None when it was not rotated): fields that follow
    the rotation (joints) use it, boxes do not (CenterNet's ``aug_rot``)."""

    width: int
    flipped: bool
    matrix: np.ndarray
    rotated: np.ndarray | None = None

    def camera(self, calib: np.ndarray) -> np.ndarray:
        """A camera matrix ``calib`` ``[3, 4]`` of the original image as the camera of the output map: the image
        mirrored (when ``flipped``) and warped by ``matrix`` (the rotation is not applied)."""
        matrix = self.matrix
        if self.flipped:
            mirror = np.array([[-1.0, 0.0, self.width - 1.0], [0.0, 1.0, 0.0]])
            matrix = matrix @ np.vstack([mirror, [0.0, 0.0, 1.0]])
        return affine_camera(calib, matrix)


def affine_camera(calib: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The camera matrix ``[3, 4]`` whose image is the image of ``calib`` ``[3, 4]`` mapped by the affine ``matrix``
    ``[2, 3]``: ``[[matrix], [0, 0, 1]] @ calib`` (float64)."""
    return np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]]) @ np.asarray(calib, np.float64)
