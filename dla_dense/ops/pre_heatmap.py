"""CenterTrack's ``pre_hm`` input: the previous frame's objects drawn as one heatmap with CenterTrack's
disturbances (``dataset/generic_dataset.py``, ``_get_pre_dets``). The random draws come from ``rng``
(``numpy.random.RandomState`` or ``Generator``: ``standard_normal()`` and ``random()``) in the reference's order.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .centernet import draw_gaussian, object_radius


class Draws(Protocol):
    """The random draws the disturbances use (``np.random.RandomState`` and ``Generator`` both have them)."""

    def standard_normal(self) -> float: ...

    def random(self) -> float: ...


def pre_heatmap(
    boxes: np.ndarray,
    input_size: tuple[int, int],
    *,
    down_ratio: int = 4,
    hm_disturb: float = 0.0,
    lost_disturb: float = 0.0,
    fp_disturb: float = 0.0,
    rng: Draws | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The previous frame's objects ``boxes [M, 4]`` (x1y1x2y2, input pixels) drawn as ``pre_hm [1, H, W]``
    (``input_size = (H, W)``), with their centres for the tracking target.

    Each box is clipped to the input; a box left with ``h <= 0`` or ``w <= 0`` is skipped (no draw, no draws).
    Else its centre ``ct0`` is jittered by ``N(0, 1) * hm_disturb * (w, h)``; it is lost (peak 0) when
    ``U(0, 1) <= lost_disturb``; a gaussian of the input-resolution radius and peak ``1`` (``0`` when lost) is
    drawn at ``int(ct)``; with probability ``fp_disturb`` a second one at ``ct0 + N(0, 1) * 0.05 * (w, h)``.

    Returns ``pre_hm``, ``centers [M', 2]`` (output pixels: ``ct0 / down_ratio``, or the jittered ``ct /
    down_ratio`` of a lost object) and ``kept [M']``, the indices into ``boxes`` of those centres.
    """
    height, width = input_size
    hm = np.zeros((1, height, width), dtype=np.float32)
    disturbed = hm_disturb > 0 or lost_disturb > 0 or fp_disturb > 0
    if disturbed and rng is None:
        raise ValueError("pre_heatmap: disturbances need an rng")
    centers, kept = [], []
    for i, box in enumerate(np.asarray(boxes, dtype=np.float32).reshape(-1, 4)):
        b = box.copy()
        b[[0, 2]] = np.clip(b[[0, 2]], 0, width - 1)
        b[[1, 3]] = np.clip(b[[1, 3]], 0, height - 1)
        h, w = b[3] - b[1], b[2] - b[0]
        if not (h > 0 and w > 0):
            continue
        radius = object_radius(h, w)
        ct = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], dtype=np.float32)
        ct0 = ct.copy()
        conf = 1
        if rng is not None:
            ct[0] = ct[0] + rng.standard_normal() * hm_disturb * w
            ct[1] = ct[1] + rng.standard_normal() * hm_disturb * h
            conf = 1 if rng.random() > lost_disturb else 0
        centers.append((ct0 if conf else ct) / down_ratio)
        kept.append(i)
        _draw(hm[0], ct.astype(np.int32), radius, conf)
        if rng is not None and rng.random() < fp_disturb:
            ct2 = ct0.copy()
            ct2[0] = ct2[0] + rng.standard_normal() * 0.05 * w
            ct2[1] = ct2[1] + rng.standard_normal() * 0.05 * h
            _draw(hm[0], ct2.astype(np.int32), radius, conf)
    return hm, np.asarray(centers, np.float32).reshape(-1, 2), np.asarray(kept, np.int64)


def _draw(heatmap: np.ndarray, center: np.ndarray, radius: int, peak: int) -> None:
    """``draw_umich_gaussian(heatmap, center, radius, k=peak)``: peak 0 leaves the map as it is."""
    if peak:
        draw_gaussian(heatmap, (int(center[0]), int(center[1])), radius)
