"""Classification data: an ImageFolder (``root/<split>/<class>/*.jpg``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

from ..errors import DLADenseError
from ..images import load_image


class ImageFolderDataset(Dataset):
    """Images in ``root/<split>/<class name>/``; items are ``{"image": transform(PIL), "label": int, "name"}``.

    Classes are the sorted sub-folder names (torchvision's ImageFolder convention).
    """

    def __init__(self, root: str | os.PathLike, split: str, transform: Callable | None = None) -> None:
        self.root = Path(root) / split
        self.transform = transform
        if not self.root.is_dir():
            raise DLADenseError(
                f"image folder not found: '{self.root}'; expected {self.root}/<class name>/<image files>"
            )
        try:
            self.classes, class_to_idx = find_classes(str(self.root))
            self.samples = make_dataset(str(self.root), class_to_idx, extensions=IMG_EXTENSIONS)
        except FileNotFoundError as e:
            raise DLADenseError(f"image folder '{self.root}' is unusable: {e}") from None
        self.classes = tuple(self.classes)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path, label = self.samples[index]
        image = load_image(path)
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "label": label, "name": os.path.relpath(path, self.root)}
