"""Image/label folder pairs for segmentation (CamVid-style): label PNGs hold class indices."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DLADenseError
from .cityscapes import PairedSegDataset, to_item

logger = logging.getLogger(__name__)


def default_palette(num_classes: int) -> tuple[tuple[int, int, int], ...]:
    """``num_classes`` distinct RGB colours, the PASCAL VOC colour map (bit-interleaved class index)."""
    palette = []
    for index in range(num_classes):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette.append((r, g, b))
    return tuple(palette)


class SegFolderDataset(PairedSegDataset):
    """Pairs ``root/{img_dir}/{split}/<name>{img_suffix}`` and ``root/{ann_dir}/{split}/<name>{ann_suffix}``.

    Label PNGs (mode L or P) hold class indices ``0..len(classes)-1`` or ``ignore_index``; any other value
    becomes ``ignore_index`` and is reported once per dataset (a logged warning naming the file and values;
    ``invalid_label_pixels`` counts them). Items are ``{"image": Tensor[3, H, W], "label": Tensor[H, W]
    int64, "name": "<name>"}``, with ``transform`` applied as in :class:`CityscapesSegDataset`.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str,
        classes: Sequence[str],
        *,
        palette: Sequence[tuple[int, int, int]] | None = None,
        img_dir: str = "images",
        ann_dir: str = "labels",
        img_suffix: str = ".png",
        ann_suffix: str = ".png",
        transform: Callable[..., dict] | None = None,
        ignore_index: int = 255,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.classes = tuple(classes)
        self.ignore_index = ignore_index
        self.transform = transform
        if not 0 < len(self.classes) <= ignore_index <= 255:
            raise DLADenseError(
                f"dataset '{self.root}': need 1..{ignore_index} classes and ignore_index in "
                f"[num_classes, 255], got {len(self.classes)} classes and ignore_index {ignore_index}"
            )
        self.palette = tuple(palette) if palette is not None else default_palette(len(self.classes))
        if len(self.palette) != len(self.classes):
            raise DLADenseError(
                f"dataset '{self.root}': palette has {len(self.palette)} colours for {len(self.classes)} classes"
            )
        if not self.root.is_dir():
            raise DLADenseError(
                f"dataset not found at '{self.root}': expected {img_dir}/{split}/<name>{img_suffix} "
                f"and {ann_dir}/{split}/<name>{ann_suffix}; check the path"
            )
        split_dir = self.root / img_dir / split
        if not split_dir.is_dir():
            raise DLADenseError(
                f"image folder '{split_dir}' does not exist: expected {img_dir}/{split}/<name>{img_suffix} "
                f"under '{self.root}'; check the root, split and img_dir"
            )
        self.images = sorted(split_dir.rglob(f"*{img_suffix}"))
        if not self.images:
            raise DLADenseError(f"no *{img_suffix} images in '{split_dir}'; check the split and img_suffix")
        self.names = [p.relative_to(split_dir).as_posix()[: -len(img_suffix)] for p in self.images]
        self.labels = [self.root / ann_dir / split / f"{name}{ann_suffix}" for name in self.names]
        self._check_pairs()
        self._warn_orphan_labels((self.root / ann_dir / split).rglob(f"*{ann_suffix}"))
        self.invalid_label_pixels = 0

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, label = self._read(index)
        invalid = (label >= len(self.classes)) & (label != self.ignore_index)
        if invalid.any():
            if self.invalid_label_pixels == 0:
                logger.warning(
                    "label '%s' holds %d pixel(s) with value(s) %s outside the %d classes (0..%d) and not "
                    "ignore_index %d; they are treated as ignore_index (reported once per dataset)",
                    self.labels[index],
                    int(invalid.sum()),
                    ", ".join(str(v) for v in np.unique(label[invalid])),
                    len(self.classes),
                    len(self.classes) - 1,
                    self.ignore_index,
                )
            self.invalid_label_pixels += int(invalid.sum())
            label = np.where(invalid, np.uint8(self.ignore_index), label)
        return to_item(image, label, self.names[index], self.transform)
