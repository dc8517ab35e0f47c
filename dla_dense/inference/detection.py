"""CenterNet-family inference: pre-process, forward (flip, several scales), decode by the heads into named fields,
back to image pixels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.ops import batched_nms

from ..data.det_transforms import CenterNetEvalTransform, affine_boxes, affine_points, get_affine_transform
from ..heads import CenterNetHeads, Fields, ToImage
from .timing import NULL_TIMER, StageTimer, same_shape


def transform_preds(
    boxes: np.ndarray | torch.Tensor, meta: Mapping[str, Any], down_ratio: int | None = None
) -> np.ndarray:
    """Map boxes [K, 4] (x1, y1, x2, y2) from output-map coordinates back to original image pixels through
    the inverse test affine (CenterNet's ``ctdet_post_process``); returns float32 [K, 4].

    ``meta`` is one image's meta from :class:`CenterNetEvalTransform` (numpy, tensors or numbers). The map size
    is ``meta["out_width"/"out_height"]``, or the input size ``// down_ratio`` when ``down_ratio`` is given (a
    model whose stride differs from the transform's ``down_ratio``).
    """
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if down_ratio is None:
        out_w, out_h = int(meta["out_width"]), int(meta["out_height"])
    else:
        out_w, out_h = int(meta["input_width"]) // down_ratio, int(meta["input_height"]) // down_ratio
    center = np.asarray(meta["c"], dtype=np.float64)
    scale = np.asarray(meta["s"], dtype=np.float64)
    trans = get_affine_transform(center, scale, (out_w, out_h), inverse=True)
    return affine_boxes(boxes, trans).astype(np.float32)


def transform_points(points: np.ndarray | torch.Tensor, meta: Mapping[str, Any]) -> np.ndarray:
    """Map points ``[..., 2]`` (x, y) from output-map coordinates back to image pixels, as
    :func:`transform_preds` maps boxes (CenterNet's ``multi_pose_post_process``); returns float32."""
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().numpy()
    center = np.asarray(meta["c"], dtype=np.float64)
    scale = np.asarray(meta["s"], dtype=np.float64)
    trans = get_affine_transform(center, scale, (int(meta["out_width"]), int(meta["out_height"])), inverse=True)
    return affine_points(np.asarray(points, dtype=np.float64), trans).astype(np.float32)


@torch.no_grad()
def detect(model: nn.Module, image: np.ndarray, **options: Any) -> Fields:
    """Detections in pixels of ``image`` (uint8 RGB ``[H, W, 3]``), best first, as named fields: ``boxes [K, 4]``
    (x1, y1, x2, y2), ``scores [K]``, ``labels [K]`` and what the other ``heads`` decode (``keypoints [K, J, 2]``).

    ``options`` are :func:`detect_batch`'s: ``heads``, ``transform``, ``scales``, ``flip``, ``max_dets``,
    ``nms_iou``. Per scale the image is resized, pre-processed by ``transform``, run (with its mirror when ``flip``)
    and decoded by ``heads`` like CenterNet, at most one candidate per heatmap pixel (small images). Several scales
    are merged with class-wise NMS (torchvision) and the ``max_dets`` best are kept. :func:`detect_batch` does
    the same for several images.
    """
    return detect_batch(model, [image], **options)[0]


@torch.no_grad()
def detect_batch(
    model: nn.Module,
    images: Sequence[np.ndarray],
    *,
    heads: CenterNetHeads,
    transform: CenterNetEvalTransform,
    scales: tuple[float, ...] = (1.0,),
    flip: bool = False,
    max_dets: int = 100,
    nms_iou: float = 0.5,
    timer: StageTimer = NULL_TIMER,
    fields: Sequence[Mapping[str, Any]] | None = None,
) -> list[Fields]:
    """:func:`detect` of each of ``images``; images of one size share a forward pass (a batch of N, or 2N with
    their mirrors). ``timer`` gets the pre-process, inference and post-process time; ``fields``: each image's own
    named fields (e.g. ``calib``), handed to the heads that map their detections back to the image."""
    import cv2

    device = next(model.parameters()).device
    per_image: list[list[Fields]] = [[] for _ in images]
    for scale in scales:
        with timer.stage("preprocess"):
            items = []
            for i, image in enumerate(images):
                size = (int(image.shape[1] * scale), int(image.shape[0] * scale))
                own = fields[i] if fields else {}
                items.append(transform({"image": image if scale == 1.0 else cv2.resize(image, size), **own}))
        for group in same_shape([item["image"] for item in items]):
            with timer.stage("preprocess"):
                x = torch.stack([items[i]["image"] for i in group]).to(device)
                if flip:
                    x = torch.cat([x, x.flip(-1)])
            with timer.stage("inference"):
                out = model(x)
            with timer.stage("postprocess"):
                first = next(iter(out.values()))
                k = min(max_dets, first.shape[-2] * first.shape[-1])
                n = len(group)
                for j, i in enumerate(group):
                    rows = [j, n + j] if flip else [j]
                    found = heads.decode({name: v[rows] for name, v in out.items()}, flip=flip, k=k)
                    found = {name: v.cpu() for name, v in found.items()}
                    back = to_image_mapping(items[i]["meta"], scale, fields[i] if fields else None)
                    per_image[i].append(heads.to_image(found, back))
    with timer.stage("postprocess"):
        return [_merge(found, len(scales) > 1, max_dets, nms_iou) for found in per_image]


def to_image_mapping(meta: Mapping[str, Any], scale: float = 1.0, fields: Mapping[str, Any] | None = None) -> ToImage:
    """Output-map pixels -> pixels of the original image, for one image's test ``meta`` at test ``scale``, with the
    image's own ``fields``."""
    boxes, points = (lambda b: transform_preds(b, meta)), (lambda p: transform_points(p, meta))
    return ToImage(boxes=boxes, points=points, scale=scale, fields=dict(fields or {}))


def _merge(parts: list[Fields], several_scales: bool, max_dets: int, nms_iou: float) -> Fields:
    """The detections of every scale joined, class-wise NMS across scales, then the ``max_dets`` best by score."""
    found = {name: torch.cat([part[name] for part in parts]) for name in parts[0]}
    keep = torch.arange(len(found["scores"]))
    if several_scales:
        keep = batched_nms(found["boxes"], found["scores"], found["labels"], nms_iou)
    keep = keep[found["scores"][keep].argsort(descending=True)[:max_dets]]
    return {name: value[keep] for name, value in found.items()}
