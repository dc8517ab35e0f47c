"""CenterNet detection inference: pre-process, forward (flip, several scales), ctdet decode, back to pixels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.ops import batched_nms

from ..data.det_transforms import CenterNetEvalTransform, affine_boxes, get_affine_transform
from ..ops import ctdet_decode


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
) -> torch.Tensor:
    """Detections ``[K, 6]`` (x1, y1, x2, y2, score, class) in pixels of ``image`` (uint8 RGB ``[H, W, 3]``).

    Per scale the image is resized, pre-processed by ``transform`` and decoded like CenterNet: with ``flip``
    the heatmap and sizes are averaged with the flipped pass, the offsets come from the unflipped one.
    Several scales are merged with class-wise NMS (torchvision) and the ``max_dets`` best are kept.
    """
    import cv2

    device = next(model.parameters()).device
    all_dets = []
    for scale in scales:
        scaled = (
            image if scale == 1.0 else cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
        )
        item = transform({"image": scaled, "image_id": 0})
        x = item["image"].unsqueeze(0).to(device)
        if flip:
            x = torch.cat([x, x.flip(-1)])
        out = model(x)
        hm, wh, reg = out["hm"].float().sigmoid(), out["wh"].float(), out["reg"].float()
        if flip:
            hm = (hm[:1] + hm[1:].flip(-1)) / 2
            wh = (wh[:1] + wh[1:].flip(-1)) / 2
            reg = reg[:1]
        dets = ctdet_decode(hm, wh, reg, K=min(max_dets, hm.shape[-2] * hm.shape[-1]))[0].cpu()
        boxes = torch.from_numpy(transform_preds(dets[:, :4], item["meta"])) / scale
        all_dets.append(torch.cat([boxes, dets[:, 4:]], dim=1))
    dets = torch.cat(all_dets)
    if len(scales) > 1:
        keep = batched_nms(dets[:, :4], dets[:, 4], dets[:, 5].long(), nms_iou)
        dets = dets[keep]
    order = dets[:, 4].argsort(descending=True)[:max_dets]
    return dets[order]
