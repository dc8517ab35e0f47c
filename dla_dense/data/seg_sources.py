"""The segmentation datasets a config can name (``data.dataset``), looked up in :data:`SEG_SOURCES`: how each
opens a split, names and colours its classes and writes a prediction as its label files."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import DLADenseError
from ..registry import Registry
from .cityscapes import CITYSCAPES_PALETTE, CityscapesSegDataset, class_subset
from .cityscapes_export import save_label_ids_png, train_ids_to_label_ids
from .folder import SegFolderDataset, default_palette

#: ``data.dataset`` -> the class of its source (the seg schema accepts these names).
SEG_SOURCES: Registry[type[SegSource]] = Registry("segmentation source")


class SegSource(ABC):
    """One kind of segmentation dataset, configured by a config's ``data`` section."""

    @abstractmethod
    def open(self, d: Any, split: str, transform: Callable | None) -> Dataset:
        """The dataset of ``split`` under ``d.root``."""

    @abstractmethod
    def classes(self, d: Any) -> tuple[str, ...]:
        """The class names (no data needed)."""

    @abstractmethod
    def palette(self, d: Any) -> tuple[tuple[int, int, int], ...]:
        """One RGB colour per class."""

    def label_ids(self, d: Any) -> tuple[int, ...] | None:
        """The dataset's label id of each class index, where its label files use other ids (None: the same)."""
        return None

    def save_prediction(self, d: Any, path: str | os.PathLike, pred: torch.Tensor) -> None:
        """Write a class-index map ``[H, W]`` as this dataset's label file."""
        Image.fromarray(pred.numpy().astype(np.uint8)).save(path)


@SEG_SOURCES.register("cityscapes")
class CityscapesSource(SegSource):
    """Cityscapes in its official layout; ``data.classes`` may pick a subset of the 19 classes."""

    def open(self, d: Any, split: str, transform: Callable | None) -> Dataset:
        return CityscapesSegDataset(d.root, split, transform=transform, classes=d.classes)

    def classes(self, d: Any) -> tuple[str, ...]:
        return class_subset(d.classes)[0]

    def palette(self, d: Any) -> tuple[tuple[int, int, int], ...]:
        return tuple(CITYSCAPES_PALETTE[t] for t in class_subset(d.classes)[1])

    def label_ids(self, d: Any) -> tuple[int, ...]:
        return tuple(int(v) for v in train_ids_to_label_ids(class_subset(d.classes)[1].reshape(1, -1))[0])

    def save_prediction(self, d: Any, path: str | os.PathLike, pred: torch.Tensor) -> None:
        """Cityscapes ``labelIds`` PNG, what the official evaluation and the test server read."""
        save_label_ids_png(Path(path), torch.from_numpy(class_subset(d.classes)[1])[pred])


@SEG_SOURCES.register("folder")
class FolderSource(SegSource):
    """Image and label folders (CamVid and your own data), classes listed in ``data.classes``."""

    def open(self, d: Any, split: str, transform: Callable | None) -> Dataset:
        if not d.classes:
            raise DLADenseError("data.classes must list the class names for a folder dataset")
        return SegFolderDataset(
            d.root,
            split,
            d.classes,
            palette=d.palette,
            img_dir=d.img_dir,
            ann_dir=d.ann_dir,
            img_suffix=d.img_suffix,
            ann_suffix=d.ann_suffix,
            transform=transform,
            ignore_index=d.ignore_index,
        )

    def classes(self, d: Any) -> tuple[str, ...]:
        return tuple(d.classes or ())

    def palette(self, d: Any) -> tuple[tuple[int, int, int], ...]:
        return tuple(d.palette) if d.palette else default_palette(len(self.classes(d)))
