"""The classification path: timm's DLA with global pooling and fc, preprocessing and top-k."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache

import torch
from PIL import Image
from timm.data import ImageNetInfo, create_transform, resolve_data_config
from torch import nn

from ..backbones import create_imagenet_model
from ..images import load_image, upright
from ..weights import WeightsSource


def create_classifier(name: str, *, pretrained: WeightsSource = False, num_classes: int = 1000) -> nn.Module:
    """timm's full DLA classifier ``name``: ``model(x [N, 3, H, W]) -> logits [N, num_classes]``.

    ``pretrained`` is False, True (timm's hub) or a weights path. With ``num_classes != 1000`` the
    pretrained ``fc`` is left out and a new one is initialised (fine-tuning).
    """
    return create_imagenet_model(name, pretrained=pretrained, num_classes=num_classes)


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, short form (text before the first comma, e.g. ``Samoyed``)."""
    info = ImageNetInfo()
    return tuple(info.index_to_description(i).split(",")[0] for i in range(info.num_classes()))


def preprocess(model: nn.Module, image: Image.Image) -> torch.Tensor:
    """Apply the model's evaluation transform (timm's data config: resize, centre crop, normalise).

    Returns ``[1, 3, H, W]`` (224x224 for the DLA ImageNet models).
    """
    config = resolve_data_config({}, model=model)
    return create_transform(**config)(image).unsqueeze(0)


@torch.inference_mode()
def classify(
    model: nn.Module,
    image: Image.Image | str | os.PathLike,
    topk: int = 5,
    labels: Sequence[str] | None = None,
) -> list[tuple[str, float]]:
    """Top-``topk`` ``(label, probability)`` pairs for one image, highest probability first.

    ``image`` is a PIL image or a path. The model is put in eval mode and run on its own device.
    ``labels`` default to the ImageNet short names for a 1000-class model, else to class indices.
    """
    image = upright(image) if isinstance(image, Image.Image) else load_image(image, exif_transpose=True)
    model.eval()
    device = next(model.parameters()).device
    probs = model(preprocess(model, image).to(device)).softmax(dim=-1)[0].float().cpu()
    if labels is None:
        labels = imagenet_labels() if probs.numel() == 1000 else [str(i) for i in range(probs.numel())]
    values, indices = probs.topk(min(topk, probs.numel()))
    return [(labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]
