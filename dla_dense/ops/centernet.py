"""CenterNet (Zhou et al., arXiv 1904.07850) ``ctdet`` primitives: gaussian targets, decode and losses.

Each function computes what the matching function of xingyizhou/CenterNet computes, on the same layouts:
``gaussian_radius`` / ``draw_gaussian`` (``utils/image.py``), ``ctdet_decode`` (``models/decode.py``),
``focal_loss`` (``models/losses.py`` ``_neg_loss`` after ``models/utils.py`` ``_sigmoid``), ``reg_l1_loss``
(``RegL1Loss``) and the gather helpers (``models/utils.py``).
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F

RADIUS_MODES = ("centernet", "corrected")
#: Initial bias of a heatmap head's last layer: sigmoid(-2.19) = 0.1 (CenterNet's ``prior``).
HM_BIAS = -2.19

HeatmapT = TypeVar("HeatmapT", torch.Tensor, np.ndarray)


def gaussian_radius(det_size: tuple[float, float], min_overlap: float = 0.7, *, mode: str = "centernet") -> float:
    """Gaussian radius for a box of size ``(height, width)``: the smallest of three corner-shift radii.

    The three cases (as in CornerNet) are one corner in and one out, both corners inside, and both outside
    the box; each radius ``r`` solves ``a r^2 + b r + c = 0`` for IoU ``min_overlap``.

    ``mode="centernet"`` is CenterNet's (and the original CornerNet's) formula, bug included: it takes
    ``(b1 + sq1) / 2``, ``(b2 + sq2) / 2`` and ``(b3 + sq3) / 2``, i.e. the larger root of the first two
    cases and no division by ``2a``, so for all but tiny boxes the third case decides and the radius is
    larger than intended (CenterNet issues #116 and #273; PR #171 was not merged). The published CenterNet
    models were trained with it, so it is the default.

    ``mode="corrected"`` is the fix of CornerNet commit 3e71377: the smaller root ``(b - sq) / (2a)`` of
    the first two cases and ``(b3 + sq3) / (2 a3)`` of the third. Its radii are smaller; users report both
    better and worse accuracy with it.
    """
    if mode not in RADIUS_MODES:
        raise ValueError(f"gaussian_radius: unknown mode {mode!r}; use one of {RADIUS_MODES}")
    height, width = det_size

    a1 = 1
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    sq1 = math.sqrt(b1**2 - 4 * a1 * c1)

    a2 = 4
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    sq2 = math.sqrt(b2**2 - 4 * a2 * c2)

    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    sq3 = math.sqrt(b3**2 - 4 * a3 * c3)

    if mode == "centernet":
        r1 = (b1 + sq1) / 2
        r2 = (b2 + sq2) / 2
        r3 = (b3 + sq3) / 2
    else:
        r1 = (b1 - sq1) / (2 * a1)
        r2 = (b2 - sq2) / (2 * a2)
        r3 = (b3 + sq3) / (2 * a3)
    return min(r1, r2, r3)


def object_radius(h: float, w: float, *, mode: str = "centernet") -> int:
    """The gaussian radius of an object of ``h x w`` map pixels as the references draw it:
    ``max(0, int(gaussian_radius((ceil(h), ceil(w)), 0.7)))``."""
    return max(0, int(gaussian_radius((math.ceil(h), math.ceil(w)), mode=mode)))


def gaussian_2d(radius: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """``[2r+1, 2r+1]`` float64 gaussian with peak 1 and sigma ``(2r+1) / 6``; values below eps * peak are 0."""
    diameter = 2 * radius + 1
    sigma = diameter / 6
    t = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)
    g = torch.exp(-(t[None, :] * t[None, :] + t[:, None] * t[:, None]) / (2 * sigma * sigma))
    g[g < torch.finfo(torch.float64).eps * g.max()] = 0
    return g


def draw_gaussian(heatmap: HeatmapT, center: tuple[int, int], radius: int) -> HeatmapT:
    """Draw a gaussian of ``radius`` at ``center = (x, y)`` into ``heatmap [H, W]`` in place (element-wise max).

    CenterNet's ``draw_umich_gaussian``: sigma = diameter / 6, clipped at the map borders (a centre off the map
    draws only the part that overlaps it). A numpy heatmap is updated through a shared-memory tensor view.
    Returns ``heatmap``.
    """
    hm = torch.from_numpy(heatmap) if isinstance(heatmap, np.ndarray) else heatmap
    x, y = int(center[0]), int(center[1])
    radius = int(radius)
    height, width = hm.shape[-2:]
    x0, x1 = max(x - radius, 0), min(x + radius + 1, width)
    y0, y1 = max(y - radius, 0), min(y + radius + 1, height)
    if x0 < x1 and y0 < y1:
        g = gaussian_2d(radius, device=hm.device)
        g = g[y0 - y + radius : y1 - y + radius, x0 - x + radius : x1 - x + radius].to(hm.dtype)
        region = hm[y0:y1, x0:x1]
        torch.maximum(region, g, out=region)
    return heatmap


def gather_feat(feat: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """``feat [N, M, D]``, ``ind [N, K]`` (int64, values < M) -> ``[N, K, D]`` with row ``ind[n, k]`` of ``feat[n]``."""
    return feat.gather(1, ind.unsqueeze(2).expand(-1, -1, feat.shape[2]))


def transpose_and_gather_feat(feat: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """``feat [N, D, H, W]``, ``ind [N, K]`` (flat ``y * W + x``) -> ``[N, K, D]``, the D-vectors at those pixels."""
    n, d = feat.shape[:2]
    return gather_feat(feat.permute(0, 2, 3, 1).reshape(n, -1, d), ind)


def heatmap_peaks(
    heat: torch.Tensor, K: int, caller: str = "decode"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CenterNet's ``_nms`` + ``_topk`` on ``heat [N, C, H, W]``: the ``K`` best 3x3 peaks over all classes.

    Returns ``scores, inds, classes, ys, xs``, each ``[N, K]``: the score, flat index ``y * W + x``, class,
    row and column (int64) of each peak, best first. Peaks are pixels equal to their
    3x3 max-pooled value; the top ``K`` per class and then the top ``K`` of those ``C*K`` are kept, with
    ``torch.topk`` on the reference's layouts (so ties resolve the same way). Requires ``K <= H*W``.
    """
    n, c, h, w = heat.shape
    if not torch.jit.is_tracing() and h * w < K:
        raise ValueError(f"{caller}: K={K} is more than the {h}x{w} = {h * w} pixels of the heatmap; lower K")
    hmax = F.max_pool2d(heat, kernel_size=3, stride=1, padding=1)
    heat = heat * (hmax == heat).to(heat.dtype)
    class_scores, class_inds = torch.topk(heat.reshape(n, c, h * w), K)
    scores, order = torch.topk(class_scores.reshape(n, c * K), K)
    classes = torch.div(order, K, rounding_mode="floor")
    inds = class_inds.reshape(n, c * K).gather(1, order)
    return scores, inds, classes, torch.div(inds, w, rounding_mode="floor"), inds % w


def box_fields(
    xs: torch.Tensor, ys: torch.Tensor, inds: torch.Tensor, wh: torch.Tensor, reg: torch.Tensor | None
) -> torch.Tensor:
    """Boxes ``[N, K, 4]`` (x1, y1, x2, y2, output-map pixels) at peaks ``xs``, ``ys`` ``[N, K]`` (integer pixels
    in ``wh``'s dtype, flat index ``inds``): centre ``(x + reg_x, y + reg_y)`` (``(x + 0.5, y + 0.5)`` when
    ``reg`` is None), size from ``wh [N, 2, H, W]``, as CenterNet's ``ctdet_decode``."""
    xs, ys = xs.unsqueeze(2), ys.unsqueeze(2)
    if reg is None:
        xs = xs + 0.5
        ys = ys + 0.5
    else:
        offsets = transpose_and_gather_feat(reg, inds)
        xs = xs + offsets[:, :, 0:1]
        ys = ys + offsets[:, :, 1:2]
    sizes = transpose_and_gather_feat(wh, inds)
    return torch.cat(
        [xs - sizes[..., 0:1] / 2, ys - sizes[..., 1:2] / 2, xs + sizes[..., 0:1] / 2, ys + sizes[..., 1:2] / 2],
        dim=2,
    )


def ctdet_decode(heat: torch.Tensor, wh: torch.Tensor, reg: torch.Tensor | None = None, K: int = 100) -> torch.Tensor:
    """CenterNet ``ctdet_decode``: ``heat [N, C, H, W]`` (after sigmoid), ``wh``/``reg [N, 2, H, W]`` -> ``[N, K, 6]``.

    Rows are ``(x1, y1, x2, y2, score, class)`` in output-map pixels, best score first (the reference's layout;
    dla_dense itself decodes into named fields through its heads). Peaks are those of :func:`heatmap_peaks`;
    boxes those of :func:`box_fields`. Requires ``K <= H*W``.
    """
    scores, inds, classes, ys, xs = heatmap_peaks(heat, K, "ctdet_decode")
    boxes = box_fields(xs.to(wh.dtype), ys.to(wh.dtype), inds, wh, reg)
    return torch.cat([boxes, scores.unsqueeze(2), classes.to(scores.dtype).unsqueeze(2)], dim=2)


def focal_loss(pred: torch.Tensor, gt: torch.Tensor, *, logits: bool = True) -> torch.Tensor:
    """CornerNet/CenterNet penalty-reduced focal loss (alpha 2, beta 4) of ``pred`` vs ``gt``, both ``[N, C, H, W]``.

    ``pred`` is the raw heatmap output (logits) by default; it goes through ``sigmoid`` and the clamp to
    ``[1e-4, 1 - 1e-4]`` of CenterNet's ``_sigmoid`` (which the reference applies in its loss wrapper, in
    place). With ``logits=False``, ``pred`` is taken as probabilities and only clamped, which leaves the
    output of ``_sigmoid`` unchanged. Positives are ``gt == 1``; the sum is divided by their number, and with
    no positives the loss is the (undivided) negative term. Half-precision inputs are computed in float32.
    """
    pred = pred.to(torch.promote_types(pred.dtype, torch.float32))
    if logits:
        pred = pred.sigmoid()
    pred = pred.clamp(min=1e-4, max=1 - 1e-4)
    pos = gt.eq(1).to(pred.dtype)
    neg = gt.lt(1).to(pred.dtype)
    neg_weights = torch.pow(1 - gt, 4)
    pos_loss = (torch.log(pred) * torch.pow(1 - pred, 2) * pos).sum()
    neg_loss = (torch.log(1 - pred) * torch.pow(pred, 2) * neg_weights * neg).sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1)


def reg_l1_loss(output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet ``RegL1Loss``: L1 between ``output [N, D, H, W]`` at ``ind [N, K]`` and ``target [N, K, D]``.

    Only objects with ``mask [N, K]`` set count. The summed error is divided by ``mask`` expanded over D,
    summed, plus 1e-4, i.e. by ``D * num_objects``: it is the mean per coordinate, not per object.
    """
    pred = transpose_and_gather_feat(output, ind)
    mask = mask.unsqueeze(2).expand_as(pred).to(pred.dtype)
    loss = F.l1_loss(pred * mask, target * mask, reduction="sum")
    return loss / (mask.sum() + 1e-4)


def fast_focal_loss(
    logits: torch.Tensor, gt: torch.Tensor, ind: torch.Tensor, mask: torch.Tensor, cat: torch.Tensor
) -> torch.Tensor:
    """CenterTrack's ``FastFocalLoss`` of heatmap ``logits [N, C, H, W]`` against ``gt [N, C, H, W]``.

    The prediction is ``sigmoid`` clamped to ``[1e-4, 1 - 1e-4]``. The negative term ``log(1 - p) p^2 (1 -
    gt)^4`` is summed over all pixels; the positive term ``log(p) (1 - p)^2`` is gathered at each object's
    centre ``ind [N, M]`` for its class ``cat [N, M]`` where ``mask [N, M]`` is set (objects sharing a pixel
    count once each); the sum is divided by ``mask.sum()`` (the negative term alone when there is no object).
    Unlike :func:`focal_loss`, pixels with ``gt == 1`` that are not an object's centre (ignore regions) count
    in neither term.
    """
    pred = logits.float().sigmoid().clamp(min=1e-4, max=1 - 1e-4)
    neg_loss = (torch.log(1 - pred) * torch.pow(pred, 2) * torch.pow(1 - gt, 4)).sum()
    pos_pred = transpose_and_gather_feat(pred, ind).gather(2, cat.unsqueeze(2))
    pos_loss = (torch.log(pos_pred) * torch.pow(1 - pos_pred, 2) * mask.unsqueeze(2)).sum()
    num_pos = mask.sum()
    if num_pos == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos


def weighted_l1_loss(output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterTrack's ``RegWeightedL1Loss``: L1 between ``output [N, D, H, W]`` at ``ind [N, M]`` and ``target
    [N, M, D]`` under the per-component ``mask [N, M, D]``, summed and divided by ``mask.sum() + 1e-4``."""
    pred = transpose_and_gather_feat(output.float(), ind)
    loss = F.l1_loss(pred * mask, target * mask, reduction="sum")
    return loss / (mask.sum() + 1e-4)
