"""CenterNet inference (ctdet boxes, multi_pose keypoints): pre-process, forward (flip, several scales), decode,
back to image pixels."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.ops import batched_nms

from ..data.det_transforms import CenterNetEvalTransform, affine_boxes, affine_points, get_affine_transform
from ..ops import ctdet_decode, flip_lr, flip_lr_off, multi_pose_decode
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


Decoder = Callable[[dict[str, torch.Tensor], bool, int], torch.Tensor]


def ctdet_outputs(out: dict[str, torch.Tensor], flip: bool, k: int) -> torch.Tensor:
    """ctdet rows ``[K, 6]`` (box, score, class, output-map pixels) of one image's head maps; with ``flip`` the
    batch holds the image and its mirror: heatmap and sizes are averaged, offsets come from the first."""
    hm, wh, reg = out["hm"].float().sigmoid(), out["wh"].float(), out["reg"].float()
    if flip:
        hm = (hm[:1] + hm[1:].flip(-1)) / 2
        wh = (wh[:1] + wh[1:].flip(-1)) / 2
        reg = reg[:1]
    return ctdet_decode(hm, wh, reg, K=k)[0]


def multi_pose_outputs(flip_pairs: Sequence[tuple[int, int]]) -> Decoder:
    """The multi_pose decoder of :func:`detect` for a schema's ``flip_pairs``: rows ``[K, 4 + 1 + 2J + 1]``.

    With ``flip`` (CenterNet's flip test) ``hm``, ``wh``, ``hm_hp`` and the joint offsets ``hps`` are averaged
    with the mirrored pass (joint channels swapped by ``flip_lr`` / ``flip_lr_off``), ``reg`` and
    ``hp_offset`` come from the unflipped pass.
    """

    def decode(out: dict[str, torch.Tensor], flip: bool, k: int) -> torch.Tensor:
        hm, wh, hps = out["hm"].float().sigmoid(), out["wh"].float(), out["hps"].float()
        reg, hm_hp, hp_offset = out["reg"].float(), out["hm_hp"].float().sigmoid(), out["hp_offset"].float()
        if flip:
            hm = (hm[:1] + hm[1:].flip(-1)) / 2
            wh = (wh[:1] + wh[1:].flip(-1)) / 2
            hps = (hps[:1] + flip_lr_off(hps[1:], flip_pairs)) / 2
            hm_hp = (hm_hp[:1] + flip_lr(hm_hp[1:], flip_pairs)) / 2
            reg, hp_offset = reg[:1], hp_offset[:1]
        return multi_pose_decode(hm, wh, hps, reg, hm_hp, hp_offset, K=k)[0]

    return decode


@torch.no_grad()
def detect(
    model: nn.Module,
    image: np.ndarray,
    *,
    transform: CenterNetEvalTransform,
    scales: tuple[float, ...] = (1.0,),
    flip: bool = False,
    max_dets: int = 100,
    nms_iou: float = 0.5,
    decode: Decoder = ctdet_outputs,
) -> torch.Tensor:
    """Detections in pixels of ``image`` (uint8 RGB ``[H, W, 3]``): ``[K, 6]`` rows (x1, y1, x2, y2, score,
    class), or with ``decode=multi_pose_outputs(pairs)`` ``[K, 4 + 1 + 2J + 1]`` rows with the joints' x, y
    between score and class.

    Per scale the image is resized, pre-processed by ``transform``, run (with its mirror when ``flip``) and
    decoded like CenterNet, at most one candidate per heatmap pixel (small images). Several scales are merged
    with class-wise NMS (torchvision) and the ``max_dets`` best are kept. :func:`detect_batch` does the same
    for several images.
    """
    options = {"scales": scales, "flip": flip, "max_dets": max_dets, "nms_iou": nms_iou, "decode": decode}
    return detect_batch(model, [image], transform=transform, **options)[0]


@torch.no_grad()
def detect_batch(
    model: nn.Module,
    images: Sequence[np.ndarray],
    *,
    transform: CenterNetEvalTransform,
    scales: tuple[float, ...] = (1.0,),
    flip: bool = False,
    max_dets: int = 100,
    nms_iou: float = 0.5,
    decode: Decoder = ctdet_outputs,
    timer: StageTimer = NULL_TIMER,
) -> list[torch.Tensor]:
    """:func:`detect` of each of ``images``; images of one size share a forward pass (a batch of N, or 2N with
    their mirrors). ``timer`` gets the pre-process, inference and post-process time."""
    import cv2

    device = next(model.parameters()).device
    per_image: list[list[torch.Tensor]] = [[] for _ in images]
    for scale in scales:
        with timer.stage("preprocess"):
            items = []
            for image in images:
                size = (int(image.shape[1] * scale), int(image.shape[0] * scale))
                items.append(transform({"image": image if scale == 1.0 else cv2.resize(image, size), "image_id": 0}))
        for group in same_shape([item["image"] for item in items]):
            with timer.stage("preprocess"):
                x = torch.stack([items[i]["image"] for i in group]).to(device)
                if flip:
                    x = torch.cat([x, x.flip(-1)])
            with timer.stage("inference"):
                out = model(x)
            with timer.stage("postprocess"):
                k = min(max_dets, out["hm"].shape[-2] * out["hm"].shape[-1])
                n = len(group)
                for j, i in enumerate(group):
                    rows = [j, n + j] if flip else [j]
                    dets = decode({name: v[rows] for name, v in out.items()}, flip, k).cpu()
                    per_image[i].append(_to_image(dets, items[i]["meta"], scale))
    with timer.stage("postprocess"):
        return [_merge(torch.cat(dets), len(scales) > 1, max_dets, nms_iou) for dets in per_image]


def _to_image(dets: torch.Tensor, meta: Mapping[str, Any], scale: float) -> torch.Tensor:
    """Rows in output-map pixels -> pixels of the original image (boxes, and joints when there are any)."""
    dets[:, :4] = torch.from_numpy(transform_preds(dets[:, :4], meta)) / scale
    if dets.shape[1] > 6:
        joints = dets[:, 5:-1].reshape(len(dets), -1, 2)
        dets[:, 5:-1] = torch.from_numpy(transform_points(joints, meta)).reshape(len(dets), -1) / scale
    return dets


def _merge(dets: torch.Tensor, several_scales: bool, max_dets: int, nms_iou: float) -> torch.Tensor:
    """Class-wise NMS across scales, then the ``max_dets`` best by score."""
    if several_scales:
        dets = dets[batched_nms(dets[:, :4], dets[:, 4], dets[:, -1].long(), nms_iou)]
    return dets[dets[:, 4].argsort(descending=True)[:max_dets]]
