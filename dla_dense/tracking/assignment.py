"""Assignment and box overlap as the trackers' references compute them."""

from __future__ import annotations

import lap
import numpy as np


def linear_assignment(cost: np.ndarray, thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``lap.lapjv(cost, extend_cost=True, cost_limit=thresh)`` on ``cost [N, M]``, as ByteTrack's and FairMOT's
    ``matching.linear_assignment``: the optimal assignment of the matrix extended by "unmatched" entries of
    cost ``thresh / 2`` (not "assign, then drop pairs above ``thresh``").

    Returns ``matches [P, 2]`` (row, column), the unmatched rows and the unmatched columns (int64).
    """
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = cost.shape
    if cost.size == 0:
        return np.empty((0, 2), np.int64), np.arange(rows), np.arange(cols)
    _, x, y = lap.lapjv(cost, extend_cost=True, cost_limit=thresh)
    matches = np.array([(i, j) for i, j in enumerate(x) if j >= 0], np.int64).reshape(-1, 2)
    return matches, np.flatnonzero(x < 0), np.flatnonzero(y < 0)


def greedy_assignment(dist: np.ndarray) -> np.ndarray:
    """CenterTrack's greedy matching: rows in order each take the column of smallest ``dist [N, M]`` not yet
    taken, if it is below 1e16. Returns ``matches [P, 2]`` (row, column)."""
    dist = np.array(dist, dtype=np.float64, copy=True)
    matches = []
    if dist.shape[1] == 0:
        return np.empty((0, 2), np.int64)
    for i in range(dist.shape[0]):
        j = int(dist[i].argmin())
        if dist[i, j] < 1e16:
            dist[:, j] = 1e18
            matches.append((i, j))
    return np.array(matches, np.int64).reshape(-1, 2)


def box_iou(a: np.ndarray, b: np.ndarray, *, plus_one: bool = True) -> np.ndarray:
    """IoU ``[N, M]`` of x1y1x2y2 boxes ``a [N, 4]`` and ``b [M, 4]``. ``plus_one``: the Fast R-CNN pixel
    convention of ``cython_bbox.bbox_overlaps`` (width ``x2 - x1 + 1``), which ByteTrack and FairMOT use;
    without: continuous boxes (TrackEval)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    one = 1.0 if plus_one else 0.0
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + one
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + one
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)
