"""CenterTrack's training inputs and targets of one frame pair (``dataset/generic_dataset.py``).

:func:`pre_heatmap` renders the previous frame's objects into the ``pre_hm`` input with CenterTrack's
disturbances (``_get_pre_dets``); :func:`centertrack_box_targets`, :func:`tracking_targets` and
:func:`amodal_targets` are the ``hm``/``reg``/``wh``, ``tracking`` and ``ltrb_amodal`` parts of
``_add_instance``. All coordinates are pixels of the map they are drawn on; the random draws come from ``rng``
(``numpy.random.RandomState`` or ``Generator``: ``standard_normal()`` and ``random()``) in the reference's order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from ..ops.centernet import draw_gaussian, gaussian_radius


class Draws(Protocol):
    """The random draws the disturbances use (``np.random.RandomState`` and ``Generator`` both have them)."""

    def standard_normal(self) -> float: ...

    def random(self) -> float: ...


def _radius(h: float, w: float) -> int:
    return max(0, int(gaussian_radius((math.ceil(h), math.ceil(w)))))


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
        radius = _radius(h, w)
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


def centertrack_box_targets(
    boxes: np.ndarray,
    labels: Sequence[int],
    ignore: Sequence[bool],
    *,
    output_size: tuple[int, int],
    num_classes: int,
    max_objs: int,
) -> dict[str, torch.Tensor]:
    """``hm``, ``ind``, ``cat``, ``mask``, ``reg``/``reg_mask`` and ``wh``/``wh_mask`` of CenterTrack's
    ``_add_instance`` for output-map ``boxes [M, 4]`` (already warped, not clipped) and 0-based ``labels [M]``.

    Only the first ``max_objs`` boxes are used; slot ``k`` is box ``k``. A box with ``ignore[k]`` (an ignore
    region or crowd) sets ``hm`` of its class (all classes when its label is -1) to 1 inside its clipped box
    and is not a positive. Positives are clipped to the map and skipped when ``h`` or ``w`` is <= 0 after
    clipping; radius and gaussians as CenterNet's. The per-component masks (``reg_mask``, ``wh_mask``
    ``[max_objs, 2]``) are those of CenterTrack's weighted L1 loss.
    """
    height, width = output_size
    hm = np.zeros((num_classes, height, width), np.float32)
    ind = np.zeros(max_objs, np.int64)
    cat = np.zeros(max_objs, np.int64)
    mask = np.zeros(max_objs, np.float32)
    reg = np.zeros((max_objs, 2), np.float32)
    wh = np.zeros((max_objs, 2), np.float32)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    for k in range(min(len(boxes), max_objs)):
        b = boxes[k].copy()
        b[[0, 2]] = np.clip(b[[0, 2]], 0, width - 1)
        b[[1, 3]] = np.clip(b[[1, 3]], 0, height - 1)
        label = int(labels[k])
        if ignore[k]:
            rows, cols = slice(int(b[1]), int(b[3]) + 1), slice(int(b[0]), int(b[2]) + 1)
            region = hm[:, rows, cols] if label < 0 else hm[label, rows, cols]
            np.maximum(region, 1, out=region)
            continue
        h, w = b[3] - b[1], b[2] - b[0]
        if h <= 0 or w <= 0:
            continue
        ct = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], dtype=np.float32)
        ct_int = ct.astype(np.int32)
        cat[k], mask[k] = label, 1
        wh[k] = w, h
        ind[k] = ct_int[1] * width + ct_int[0]
        reg[k] = ct - ct_int
        draw_gaussian(hm[label], (int(ct_int[0]), int(ct_int[1])), _radius(h, w))
    component = np.repeat(mask[:, None], 2, 1)
    out = {"hm": hm, "ind": ind, "cat": cat, "mask": mask, "reg": reg, "reg_mask": component, "wh": wh}
    out["wh_mask"] = component.copy()
    return {k: torch.from_numpy(v) for k, v in out.items()}


def _centers(targets: dict[str, torch.Tensor], width: int) -> torch.Tensor:
    """The integer centre ``[max_objs, 2]`` (x, y) of every slot, from ``ind``."""
    ind = targets["ind"]
    return torch.stack([ind % width, torch.div(ind, width, rounding_mode="floor")], 1).float()


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
    ct_int = _centers(targets, output_size[1])
    pre_ids = list(pre_ids)
    for k in mask.nonzero().flatten().tolist():
        if int(track_ids[k]) >= 0 and int(track_ids[k]) in pre_ids:
            pre = torch.from_numpy(np.asarray(pre_centers[pre_ids.index(int(track_ids[k]))], np.float32))
            tracking[k] = pre - ct_int[k]
            tracking_mask[k] = 1
    return {"tracking": tracking, "tracking_mask": tracking_mask}


def amodal_targets(
    targets: dict[str, torch.Tensor], boxes: np.ndarray, *, output_size: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """``ltrb_amodal`` / ``ltrb_amodal_mask [max_objs, 4]``: the unclipped output-map box of each positive slot
    minus its integer centre, ``(x1 - cx, y1 - cy, x2 - cx, y2 - cy)`` (signed)."""
    mask = targets["mask"]
    ltrb = torch.zeros(len(mask), 4)
    ltrb_mask = torch.zeros(len(mask), 4)
    ct_int = _centers(targets, output_size[1])
    boxes = torch.from_numpy(np.asarray(boxes, np.float32).reshape(-1, 4))
    for k in mask.nonzero().flatten().tolist():
        ltrb[k] = boxes[k] - ct_int[k].repeat(2)
        ltrb_mask[k] = 1
    return {"ltrb_amodal": ltrb, "ltrb_amodal_mask": ltrb_mask}
