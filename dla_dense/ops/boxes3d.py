"""3D boxes in KITTI's camera frame (x right, y down, z forward; ``location`` is the bottom-face centre, ``dims`` are
``(h, w, l)`` metres, ``rotation_y`` the yaw about y): corners, bird's-eye-view rectangles and the overlaps of the
KITTI object benchmark (image, bird's-eye view, 3D) in double precision.

The bird's-eye-view rectangle of a box is KITTI's (``evaluate_object.cpp``, ``toPolygon``): corners
``R (±l/2, ±w/2) + (x, z)`` with ``R = [[cos ry, sin ry], [-sin ry, cos ry]]``. Two rectangles intersect in a
convex polygon whose vertices are the corners of each inside the other and the crossings of their edges; its area
comes from those points ordered by angle, for all pairs at once.
"""

from __future__ import annotations

import numpy as np

#: Overlap measures: intersection over union, or intersection over the first box's own area (``"first"``, what
#: KITTI uses for detections inside ``DontCare`` regions).
UNION, FIRST = "union", "first"


def box3d_corners(dims: np.ndarray, locations: np.ndarray, rotation_y: np.ndarray) -> np.ndarray:
    """The 8 corners ``[M, 8, 3]`` of boxes ``dims [M, 3]`` (h, w, l), ``locations [M, 3]`` (bottom centre) and
    ``rotation_y [M]``, in CenterNet's order: 0-3 the bottom face at (x, z) = (+l/2, +w/2), (+l/2, -w/2),
    (-l/2, -w/2), (-l/2, +w/2) of the box frame, 4-7 the same points at the top; face 0-1-5-4 is the front."""
    dims = np.asarray(dims, np.float64).reshape(-1, 3)
    h, w, length = dims[:, 0:1], dims[:, 1:2], dims[:, 2:3]
    x = np.concatenate([length, length, -length, -length] * 2, 1) / 2
    y = np.concatenate([np.zeros_like(h)] * 4 + [-h] * 4, 1)
    z = np.concatenate([w, -w, -w, w] * 2, 1) / 2
    ry = np.asarray(rotation_y, np.float64).reshape(-1, 1)
    cos, sin = np.cos(ry), np.sin(ry)
    corners = np.stack([cos * x + sin * z, y, -sin * x + cos * z], -1)
    return corners + np.asarray(locations, np.float64).reshape(-1, 1, 3)


def bev_rectangles(dims: np.ndarray, locations: np.ndarray, rotation_y: np.ndarray) -> np.ndarray:
    """The bird's-eye-view rectangles ``[M, 4, 2]`` (x, z) of boxes (arguments as :func:`box3d_corners`), KITTI's
    corner order (clockwise for positive sizes)."""
    dims = np.asarray(dims, np.float64).reshape(-1, 3)
    half_l, half_w = dims[:, 2:3] / 2, dims[:, 1:2] / 2
    u = np.concatenate([half_l, half_l, -half_l, -half_l], 1)
    v = np.concatenate([half_w, -half_w, -half_w, half_w], 1)
    ry = np.asarray(rotation_y, np.float64).reshape(-1, 1)
    cos, sin = np.cos(ry), np.sin(ry)
    loc = np.asarray(locations, np.float64).reshape(-1, 3)
    return np.stack([cos * u + sin * v + loc[:, 0:1], -sin * u + cos * v + loc[:, 2:3]], -1)


def polygon_area(points: np.ndarray) -> np.ndarray:
    """Absolute areas ``[...]`` of polygons ``[..., V, 2]`` (vertices in order)."""
    x, y = points[..., 0], points[..., 1]
    return np.abs((x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1)) / 2


def _inside(points: np.ndarray, polygon: np.ndarray, orientation: np.ndarray) -> np.ndarray:
    """Whether each of ``points [N, P, 2]`` lies in the convex ``polygon [N, V, 2]`` (boundary included), whose
    vertices turn with ``orientation [N]`` (+1 counter-clockwise, -1 clockwise)."""
    edge = np.roll(polygon, -1, 1) - polygon  # [N, V, 2]
    rel = points[:, :, None, :] - polygon[:, None, :, :]  # [N, P, V, 2]
    cross = edge[:, None, :, 0] * rel[..., 1] - edge[:, None, :, 1] * rel[..., 0]
    scale = np.abs(edge).sum(-1).max(-1)[:, None, None] ** 2 + 1.0
    return (cross * orientation[:, None, None] >= -1e-12 * scale).all(-1)


def _crossings(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points ``[N, Va * Vb, 2]`` where the edges of polygons ``a [N, Va, 2]`` and ``b [N, Vb, 2]`` cross, and
    whether each pair crosses (parallel edges never do)."""
    p, r = a[:, :, None, :], (np.roll(a, -1, 1) - a)[:, :, None, :]
    q, s = b[:, None, :, :], (np.roll(b, -1, 1) - b)[:, None, :, :]
    denom = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / denom
        u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / denom
    valid = (denom != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    points = np.where(valid[..., None], p + np.where(valid, t, 0.0)[..., None] * r, 0.0)
    n = len(a)
    return points.reshape(n, -1, 2), valid.reshape(n, -1)


def convex_intersection_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Areas ``[N]`` of the intersections of convex polygons ``a [N, Va, 2]`` and ``b [N, Vb, 2]``, pair by pair."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) == 0:
        return np.zeros(0)
    turn_a = np.where(_signed_area(a) >= 0, 1.0, -1.0)
    turn_b = np.where(_signed_area(b) >= 0, 1.0, -1.0)
    crossings, crossing = _crossings(a, b)
    points = np.concatenate([a, b, crossings], 1)
    valid = np.concatenate([_inside(a, b, turn_b), _inside(b, a, turn_a), crossing], 1)
    count = valid.sum(1)
    center = np.where(valid[..., None], points, 0.0).sum(1) / np.maximum(count, 1)[:, None]
    rel = points - center[:, None, :]
    angle = np.where(valid, np.arctan2(rel[..., 1], rel[..., 0]), np.inf)
    order = np.argsort(angle, 1, kind="stable")
    rel = np.take_along_axis(rel, order[..., None], 1)
    valid = np.take_along_axis(valid, order, 1)
    rel = np.where(valid[..., None], rel, rel[:, :1])  # unused slots repeat the first point: no area
    nxt = np.roll(rel, -1, 1)
    area = (rel[..., 0] * nxt[..., 1] - rel[..., 1] * nxt[..., 0]).sum(1) / 2
    return np.where(count >= 3, np.abs(area), 0.0)


def _signed_area(points: np.ndarray) -> np.ndarray:
    """Signed areas ``[N]`` of polygons ``[N, V, 2]`` (positive counter-clockwise in x-right, y-up axes)."""
    x, y = points[..., 0], points[..., 1]
    return (x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1) / 2


def image_overlaps(a: np.ndarray, b: np.ndarray, measure: str = UNION) -> np.ndarray:
    """KITTI's image-box overlaps ``[A, B]`` of boxes ``a [A, 4]`` and ``b [B, 4]`` (x1, y1, x2, y2; no +1 pixel):
    0 where the boxes do not overlap, else intersection over union or (``FIRST``) over the area of ``a``'s box."""
    a, b = np.asarray(a, np.float64).reshape(-1, 1, 4), np.asarray(b, np.float64).reshape(1, -1, 4)
    w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        overlap = inter / (area_a if measure == FIRST else area_a + area_b - inter)
    return np.where((w > 0) & (h > 0), overlap, 0.0)


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of rows of ``a [A, ...]`` and ``b [B, ...]``, as two arrays ``[A * B, ...]``."""
    return np.repeat(a, len(b), 0), np.tile(b, (len(a),) + (1,) * (b.ndim - 1))


def bev_overlaps(boxes_a: dict[str, np.ndarray], boxes_b: dict[str, np.ndarray], measure: str = UNION) -> np.ndarray:
    """KITTI's bird's-eye-view overlaps ``[A, B]`` of two sets of boxes (``dims``, ``locations``, ``rotation_y``)."""
    inter, area_a, area_b = _bev_intersections(boxes_a, boxes_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        overlap = inter / (area_a if measure == FIRST else area_a + area_b - inter)
    return np.where(inter > 0, overlap, 0.0)


def box3d_overlaps(boxes_a: dict[str, np.ndarray], boxes_b: dict[str, np.ndarray], measure: str = UNION) -> np.ndarray:
    """KITTI's 3D overlaps ``[A, B]``: the bird's-eye-view intersection times the overlap of the heights
    (``[y - h, y]``, y down), over the union of the volumes or (``FIRST``) the volume of the first box."""
    inter, _, _ = _bev_intersections(boxes_a, boxes_b)
    dims_a, dims_b = np.asarray(boxes_a["dims"], np.float64), np.asarray(boxes_b["dims"], np.float64)
    y_a, y_b = np.asarray(boxes_a["locations"], np.float64)[:, 1:2], np.asarray(boxes_b["locations"], np.float64)[:, 1]
    h_a, h_b = dims_a[:, 0:1], dims_b[:, 0]
    height = np.maximum(0.0, np.minimum(y_a, y_b) - np.maximum(y_a - h_a, y_b - h_b))
    volume = inter * height
    vol_a, vol_b = dims_a.prod(1)[:, None], dims_b.prod(1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        overlap = volume / (vol_a if measure == FIRST else vol_a + vol_b - volume)
    return np.where(volume > 0, overlap, 0.0)


def _bev_intersections(
    boxes_a: dict[str, np.ndarray], boxes_b: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection areas ``[A, B]`` of the bird's-eye-view rectangles and their own areas ``[A, 1]``, ``[1, B]``."""
    rect_a = bev_rectangles(boxes_a["dims"], boxes_a["locations"], boxes_a["rotation_y"])
    rect_b = bev_rectangles(boxes_b["dims"], boxes_b["locations"], boxes_b["rotation_y"])
    first, second = _pairs(rect_a, rect_b)
    inter = convex_intersection_area(first, second).reshape(len(rect_a), len(rect_b))
    return inter, polygon_area(rect_a)[:, None], polygon_area(rect_b)[None, :]
