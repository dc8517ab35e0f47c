"""Cityscapes semantic segmentation in the official folder layout, with the 19 train ids."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cityscapesscripts.helpers.labels import labels as _CITYSCAPES_LABELS
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..errors import DLADenseError
from ..images import load_image

logger = logging.getLogger(__name__)

IGNORE_INDEX = 255
IMG_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"

_TRAIN_LABELS = sorted(
    (label for label in _CITYSCAPES_LABELS if 0 <= label.trainId < IGNORE_INDEX), key=lambda lb: lb.trainId
)
#: The 19 evaluated class names, indexed by train id.
CITYSCAPES_CLASSES: tuple[str, ...] = tuple(label.name for label in _TRAIN_LABELS)
#: The official colour of each train id.
CITYSCAPES_PALETTE: tuple[tuple[int, int, int], ...] = tuple(tuple(label.color) for label in _TRAIN_LABELS)


def _id_to_train_id() -> np.ndarray:
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for label in _CITYSCAPES_LABELS:
        if 0 <= label.id < 256 and 0 <= label.trainId < IGNORE_INDEX:
            lut[label.id] = label.trainId
    return lut


#: Lookup table [256] uint8: Cityscapes label id -> train id, 255 for every id not evaluated.
ID_TO_TRAIN_ID: np.ndarray = _id_to_train_id()


def class_subset(classes: Sequence[str] | None) -> tuple[tuple[str, ...], np.ndarray]:
    """Names and train ids ``[K]`` of a subset of the 19 classes (all of them for None).

    Raises :class:`DLADenseError` naming an unknown or repeated class.
    """
    if classes is None:
        return CITYSCAPES_CLASSES, np.arange(len(CITYSCAPES_CLASSES))
    for name in classes:
        if name not in CITYSCAPES_CLASSES:
            raise DLADenseError(f"'{name}' is not a Cityscapes class; choose from: {', '.join(CITYSCAPES_CLASSES)}")
    if len(set(classes)) != len(classes):
        raise DLADenseError(f"data.classes lists a class twice: {list(classes)}")
    return tuple(classes), np.array([CITYSCAPES_CLASSES.index(n) for n in classes])


_DOWNLOAD_HINT = (
    "download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from "
    "https://www.cityscapes-dataset.com/downloads/ and unzip into {root}, "
    "or run the demo instead: python tools/train_seg.py configs/demo_dla34.py"
)


class PairedSegDataset(Dataset):
    """Shared part of the segmentation datasets: parallel lists ``images``, ``labels`` and ``names``."""

    images: list[Path]
    labels: list[Path]
    names: list[str]
    transform: Callable[..., dict] | None

    def _check_pairs(self, hint: str = "") -> None:
        for image, label in zip(self.images, self.labels, strict=True):
            if not label.is_file():
                raise DLADenseError(f"label missing for image '{image}': expected '{label}'{hint}")

    def _warn_orphan_labels(self, label_files: Iterable[Path]) -> None:
        """Log one warning naming the count and the first of ``label_files`` that belong to no image."""
        paired = set(self.labels)
        orphans = sorted(p for p in label_files if p not in paired)
        if orphans:
            logger.warning(
                "%d label file(s) without an image are left out, e.g. '%s' (expected its image at the same "
                "relative path under the image folder)",
                len(orphans),
                orphans[0],
            )

    def __len__(self) -> int:
        return len(self.images)

    def image_path(self, index: int) -> Path:
        """Path of the image file of item ``index``."""
        return self.images[index]

    def label_path(self, index: int) -> Path:
        """Path of the label PNG of item ``index``."""
        return self.labels[index]

    def _read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Image ``[H, W, 3]`` uint8 RGB and raw label ``[H, W]`` uint8 of item ``index``, sizes checked."""
        image = np.asarray(load_image(self.images[index]))
        label = load_label(self.labels[index], image_path=self.images[index], image_size=image.shape[:2])
        return image, label


class CityscapesSegDataset(PairedSegDataset):
    """Cityscapes fine annotations: ``root/leftImg8bit/{split}/{city}/*_leftImg8bit.png`` with
    ``root/gtFine/{split}/{city}/*_gtFine_labelIds.png``.

    An item is ``{"image": Tensor[3, H, W], "label": Tensor[H, W] int64 train ids (255 = ignore),
    "name": "<city>/<stem>"}``. ``classes`` may name a subset of the 19 classes: labels are then indices
    into it (``train_ids[i]`` is the train id of class i) and every other class is ignored. ``transform``
    is called as ``transform(image=HxWx3 uint8, mask=HxW uint8)`` (see :mod:`dla_dense.data.transforms`);
    without one the image is a uint8 tensor.
    """

    ignore_index = IGNORE_INDEX

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        transform: Callable[..., dict] | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.transform = transform
        self.classes, self.train_ids = class_subset(classes)
        self.palette = tuple(CITYSCAPES_PALETTE[t] for t in self.train_ids)
        subset_of_train_id = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        subset_of_train_id[self.train_ids] = np.arange(len(self.train_ids))
        self.id_to_label = subset_of_train_id[ID_TO_TRAIN_ID]
        image_dir = self.root / "leftImg8bit"
        label_dir = self.root / "gtFine"
        if not image_dir.is_dir() or not label_dir.is_dir():
            raise DLADenseError(
                f"Cityscapes not found at '{self.root}': expected leftImg8bit/<split>/<city>/*{IMG_SUFFIX} "
                f"and gtFine/<split>/<city>/*{LABEL_SUFFIX}; " + _DOWNLOAD_HINT.format(root=self.root)
            )
        split_dir = image_dir / split
        if not split_dir.is_dir():
            found = sorted(p.name for p in image_dir.iterdir() if p.is_dir())
            raise DLADenseError(
                f"Cityscapes split '{split}' not found: '{split_dir}' does not exist; "
                f"splits present: {', '.join(found) or 'none'}"
            )
        self.images = sorted(split_dir.glob(f"*/*{IMG_SUFFIX}"))
        if not self.images:
            raise DLADenseError(
                f"Cityscapes split '{split}' is empty: no <city>/*{IMG_SUFFIX} files in '{split_dir}'; "
                + _DOWNLOAD_HINT.format(root=self.root)
            )
        self.names = [f"{p.parent.name}/{p.name[: -len(IMG_SUFFIX)]}" for p in self.images]
        self.labels = [label_dir / split / f"{name}{LABEL_SUFFIX}" for name in self.names]
        self._check_pairs("; unzip gtFine_trainvaltest.zip into the same root")
        self._warn_orphan_labels((label_dir / split).glob(f"*/*{LABEL_SUFFIX}"))

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, ids = self._read(index)
        return to_item(image, self.id_to_label[ids], self.names[index], self.transform)


def load_label(path: Path, *, image_path: Path, image_size: tuple[int, int]) -> np.ndarray:
    """Read a single-channel 8-bit label PNG as an HxW uint8 array; it must have ``image_size`` (H, W)."""
    if not path.is_file():
        raise DLADenseError(f"label not found: '{path}' (for image '{image_path}'); check the dataset folder")
    try:
        with Image.open(path) as img:
            img.load()
            mode, size = img.mode, img.size
            label = np.array(img) if mode in ("L", "P") else None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DLADenseError(f"cannot read label '{path}': not a valid image file ({e})") from None
    if label is None:
        raise DLADenseError(
            f"label '{path}' has image mode {mode}; expected a single-channel 8-bit PNG of class ids "
            "(mode L or P), not a colour rendering"
        )
    if label.shape != tuple(image_size):
        h, w = image_size
        raise DLADenseError(
            f"size mismatch: image '{image_path}' is {w}x{h} but its label '{path}' is {size[0]}x{size[1]}; "
            "a label must have its image's size"
        )
    return label


def to_item(image: np.ndarray, label: np.ndarray, name: str, transform: Callable[..., dict] | None) -> dict[str, Any]:
    """Apply ``transform`` to an HxWx3 uint8 image and HxW mask and build the dataset item dict."""
    if transform is None:
        image_t = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        label_t = torch.from_numpy(np.array(label))
    else:
        out = transform(image=image, mask=label)
        image_t, label_t = out["image"], torch.as_tensor(out["mask"])
    return {"image": image_t, "label": label_t.long(), "name": name}
