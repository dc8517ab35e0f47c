"""CenterNet's ``ddd`` training input (``datasets/sample/ddd.py``): the whole image fitted by its width to the input
size, with probability ``aug`` scaled by ``clip(1 + scale * N(0, 1), 1 - scale, 1 + scale)`` and shifted by
``clip(shift * N(0, 1), -2 shift, 2 shift)`` of the image size; no flip, no colour augmentation. The heads move
their fields with the same :class:`~dla_dense.ops.affine.Warp` and encode their targets; the item is marked
``augmented`` when it was scaled or shifted (CenterNet then trains no depth and size on it). SMOKE's input
(:class:`SmokeTrainTransform`) adds its mirroring and draws its shift and scale from SMOKE's steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ..ops.affine import Warp, get_affine_transform
from .det_transforms import TargetEncoder, TrainInput


class DddTrainTransform(TrainInput):
    """``item`` (a :class:`~dla_dense.data.kitti.KittiDataset` item) -> ``{"image": float32 [3, H, W], "image_id",
    "calib": [3, 4] of the output map, **targets}`` with ``input_size = (H, W)`` and targets at ``/ down_ratio``.
    The randomness comes from one numpy Generator, reseeded by :meth:`set_random_seed`."""

    def __init__(
        self,
        heads: TargetEncoder,
        *,
        input_size: tuple[int, int] = (384, 1280),
        down_ratio: int = 4,
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        bgr: bool = False,
        aug: float = 0.5,
        scale: float = 0.4,
        shift: float = 0.1,
        seed: int | None = None,
    ) -> None:
        normalise = {"mean": mean, "std": std, "bgr": bgr}
        super().__init__(heads, input_size=input_size, down_ratio=down_ratio, seed=seed, **normalise)
        self.aug, self.scale, self.shift = aug, scale, shift

    def crop(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        """The centre ``[2]`` and size ``[2]`` (W, H) of the crop of a ``height`` x ``width`` image, whether it
        was augmented (scaled or shifted) and whether the image is mirrored first (never)."""
        center = np.array([width / 2.0, height / 2.0])
        size = np.array([width, height], np.float64)
        augmented = bool(self.aug and self.rng.random() < self.aug)
        if augmented:
            size = size * np.clip(self.rng.normal() * self.scale + 1, 1 - self.scale, 1 + self.scale)
            center[0] += width * np.clip(self.rng.normal() * self.shift, -2 * self.shift, 2 * self.shift)
            center[1] += height * np.clip(self.rng.normal() * self.shift, -2 * self.shift, 2 * self.shift)
        return center, size, augmented, False

    def __call__(self, item: Mapping[str, Any]) -> dict[str, Any]:
        image = np.asarray(item["image"])
        height, width = image.shape[:2]
        in_h, in_w = self.input_size
        out_h, out_w = in_h // self.down_ratio, in_w // self.down_ratio
        center, size, augmented, flipped = self.crop(height, width)
        inp = self.network_input(image, get_affine_transform(center, size, (in_w, in_h)), flipped=flipped)
        warp = Warp(width=width, flipped=flipped, matrix=get_affine_transform(center, size, (out_w, out_h)))
        return self.sample(item, inp, warp, {"augmented": augmented, "rotated": False})


class SmokeTrainTransform(DddTrainTransform):
    """SMOKE's training input (``smoke/data/datasets/kitti.py``): the image mirrored with probability ``flip``
    (the crop centre mirrored to ``W - 1 - W/2``), then with probability ``aug`` shifted by one of ``-shift .. shift``
    (steps of 0.1) of the image size in each direction and scaled by one of ``1 - scale .. 1 + scale`` (steps of
    0.1), fitted by width to the input size; no colour augmentation."""

    def __init__(self, heads: TargetEncoder, *, flip: float = 0.5, aug: float = 0.3, shift: float = 0.2, **kwargs: Any):
        super().__init__(heads, aug=aug, shift=shift, **kwargs)
        self.flip = flip
        self.shifts = np.arange(-shift, shift + 0.1, 0.1)
        self.scales = np.arange(1 - self.scale, 1 + self.scale + 0.1, 0.1)

    def crop(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        center = np.array([width / 2.0, height / 2.0])
        size = np.array([width, height], np.float64)
        flipped = bool(self.flip and self.rng.random() < self.flip)
        if flipped:
            center[0] = width - center[0] - 1
        augmented = bool(self.aug and self.rng.random() < self.aug)
        if augmented:
            center[0] += width * self.rng.choice(self.shifts)
            center[1] += height * self.rng.choice(self.shifts)
            size = size * self.rng.choice(self.scales)
        return center, size, augmented, flipped
