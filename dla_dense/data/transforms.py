"""Segmentation transforms (albumentations) after the ucbdrive/dla ``segment.py`` training recipe.

The composed transforms take ``image`` (HxWx3 uint8 RGB numpy) and ``mask`` (HxW integer numpy) and return
``image`` as a float tensor [3, H, W] and ``mask`` as a tensor [H, W] of the mask's dtype. Training
randomness is reproducible per sample with ``transform.set_random_seed(seed)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import albumentations as A
import cv2
from albumentations.pytorch import ToTensorV2
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


def build_seg_train_transform(
    *,
    crop_size: tuple[int, int],
    scale_range: tuple[float, float] | None = (0.5, 2.0),
    rotate: float = 10.0,
    color_jitter: float = 0.3,
    hflip: bool = True,
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    ignore_index: int = 255,
) -> A.Compose:
    """Random rotate → random scale → pad → random crop → colour jitter → flip → normalize → tensor.

    ``crop_size`` is (height, width) of the output. ``scale_range`` is the (min, max) resize factor,
    ``rotate`` the maximum angle in degrees, ``color_jitter`` the brightness/contrast/saturation strength;
    ``None``/``0``/``False`` switches a step off. Areas outside the image after rotation and padding are
    0 in the image and ``ignore_index`` in the mask; the mask is always resampled with nearest neighbour.
    """
    crop_h, crop_w = crop_size
    steps: list[A.BasicTransform] = []
    if rotate:
        steps.append(
            A.Rotate(
                limit=(-rotate, rotate),
                interpolation=cv2.INTER_LINEAR,
                mask_interpolation=cv2.INTER_NEAREST,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=ignore_index,
                p=1.0,
            )
        )
    if scale_range:
        low, high = scale_range
        steps.append(
            A.RandomScale(
                scale_limit=(low - 1.0, high - 1.0),
                interpolation=cv2.INTER_LINEAR,
                mask_interpolation=cv2.INTER_NEAREST,
                area_for_downscale="image",
                p=1.0,
            )
        )
    steps += [
        A.PadIfNeeded(
            min_height=crop_h,
            min_width=crop_w,
            border_mode=cv2.BORDER_CONSTANT,
            fill=0,
            fill_mask=ignore_index,
        ),
        A.RandomCrop(height=crop_h, width=crop_w),
    ]
    if color_jitter:
        steps.append(
            A.ColorJitter(brightness=color_jitter, contrast=color_jitter, saturation=color_jitter, hue=0.0, p=1.0)
        )
    if hflip:
        steps.append(A.HorizontalFlip(p=0.5))
    steps += [A.Normalize(mean=tuple(mean), std=tuple(std)), ToTensorV2()]
    return A.Compose(steps)


def build_seg_eval_transform(
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN, std: Sequence[float] = IMAGENET_DEFAULT_STD
) -> A.Compose:
    """Normalize and convert to tensors; the image keeps its size."""
    return A.Compose([A.Normalize(mean=tuple(mean), std=tuple(std)), ToTensorV2()])
