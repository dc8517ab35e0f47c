"""Segmentation inference: whole-image or sliding-window, with multi-scale and flip test-time augmentation."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DLADenseError

IntPair = int | tuple[int, int]


def _pair(value: IntPair | None, name: str) -> tuple[int, int]:
    if value is None:
        raise DLADenseError(f"mode='slide' needs {name}, e.g. {name}=(1024, 1024)")
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise DLADenseError(f"{name} must be a positive int or (height, width), got {value!r}")
    return pair


def _forward(model: nn.Module, images: torch.Tensor, size_divisor: int) -> torch.Tensor:
    """Logits ``[N, C, H, W]`` for ``images [N, 3, H, W]``, zero-padding bottom/right to ``size_divisor``."""
    h, w = images.shape[-2:]
    pad_h, pad_w = -h % size_divisor, -w % size_divisor
    padded = F.pad(images, (0, pad_w, 0, pad_h)) if pad_h or pad_w else images
    logits = model(padded)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 4 or logits.shape[-2:] != padded.shape[-2:]:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise DLADenseError(
            f"the model returned {got} for input {tuple(padded.shape)}; a segmentation model must return "
            "logits [N, C, H, W] at input resolution"
        )
    return logits[..., :h, :w].float()


def _slide(
    model: nn.Module,
    images: torch.Tensor,
    crop_size: tuple[int, int],
    stride: tuple[int, int],
    size_divisor: int,
) -> torch.Tensor:
    """mmseg's ``slide_inference``: logits ``[N, C, H, W]`` averaged over overlapping crop windows.

    An image smaller than the crop is zero-padded bottom/right to the crop size first.
    """
    h, w = images.shape[-2:]
    (h_crop, w_crop), (h_stride, w_stride) = crop_size, stride
    pad_h, pad_w = max(h_crop - h, 0), max(w_crop - w, 0)
    if pad_h or pad_w:
        images = F.pad(images, (0, pad_w, 0, pad_h))
    h_img, w_img = images.shape[-2:]
    h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
    logits: torch.Tensor | None = None
    count = torch.zeros(1, 1, h_img, w_img, device=images.device)
    for h_idx in range(h_grids):
        for w_idx in range(w_grids):
            y2 = min(h_idx * h_stride + h_crop, h_img)
            x2 = min(w_idx * w_stride + w_crop, w_img)
            y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
            crop_logits = _forward(model, images[..., y1:y2, x1:x2], size_divisor)
            if logits is None:
                logits = crop_logits.new_zeros(*crop_logits.shape[:2], h_img, w_img)
            logits[..., y1:y2, x1:x2] += crop_logits
            count[..., y1:y2, x1:x2] += 1
    return (logits / count)[..., :h, :w]


def predict_seg(
    model: nn.Module,
    images: torch.Tensor,
    *,
    mode: str = "whole",
    crop_size: IntPair | None = None,
    stride: IntPair | None = None,
    scales: Sequence[float] = (1.0,),
    flip: bool = False,
    size_divisor: int = 32,
) -> torch.Tensor:
    """Softmax probabilities ``[N, C, H, W]`` for normalized ``images [N, 3, H, W]``.

    ``mode="whole"`` runs the full image, zero-padded bottom/right to a multiple of ``size_divisor``;
    ``mode="slide"`` averages the logits of ``crop_size`` windows placed every ``stride`` pixels (mmseg's
    ``slide_inference``). Each scale resizes the image bilinearly, predicts, resizes the logits back to
    ``H x W`` and applies softmax; ``flip`` adds the horizontally flipped image's prediction, flipped back.
    The result is the mean over scales and flips, float32 on the model's device (the images are moved
    there and cast to the model's dtype). The model runs in eval mode under ``torch.inference_mode()``;
    every module's ``training`` flag is restored afterwards. Padding is zeros (the mean colour once
    normalized).
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[0] == 0:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DLADenseError(f"images must be a tensor [N, 3, H, W] with N >= 1, got {got}")
    if mode not in ("whole", "slide"):
        raise DLADenseError(f"unknown inference mode {mode!r}; use 'whole' or 'slide'")
    if not isinstance(size_divisor, int) or size_divisor < 1:
        raise DLADenseError(f"size_divisor must be a positive int, got {size_divisor!r}")
    scales = tuple(scales)
    if not scales or not all(isinstance(s, (int, float)) and s > 0 for s in scales):
        raise DLADenseError(f"scales must be a non-empty sequence of positive numbers, got {scales!r}")
    if mode == "slide":
        crop, step = _pair(crop_size, "crop_size"), _pair(stride, "stride")
        if step[0] > crop[0] or step[1] > crop[1]:
            raise DLADenseError(f"stride {step} is larger than crop_size {crop}; windows would leave gaps")
        logits_of = partial(_slide, model, crop_size=crop, stride=step, size_divisor=size_divisor)
    else:
        logits_of = partial(_forward, model, size_divisor=size_divisor)

    param = next(model.parameters(), None)
    device, dtype = (param.device, param.dtype) if param is not None else (images.device, images.dtype)
    states = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.inference_mode():
            images = images.to(device=device, dtype=dtype)
            h, w = images.shape[-2:]
            probs = None
            for scale in scales:
                size = (max(round(h * scale), 1), max(round(w * scale), 1))
                scaled = images if size == (h, w) else F.interpolate(images, size, mode="bilinear")
                for flipped in (False, True) if flip else (False,):
                    x = scaled.flip(-1) if flipped else scaled
                    logits = logits_of(x)
                    if flipped:
                        logits = logits.flip(-1)
                    if size != (h, w):
                        logits = F.interpolate(logits, (h, w), mode="bilinear")
                    p = logits.softmax(dim=1)
                    probs = p if probs is None else probs + p
            return probs / (len(scales) * (2 if flip else 1))
    finally:
        for module, training in states.items():
            module.training = training
