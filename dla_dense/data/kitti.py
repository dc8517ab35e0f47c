"""KITTI object data read directly from its layout: ``<root>/training/{image_2,label_2,calib}/NNNNNN.*`` (and
``testing/{image_2,calib}``), with the split's image ids in ``<root>/<image_sets>/<split>.txt`` (CenterNet's
``ImageSets_3dop`` / ``ImageSets_subcnn``, SMOKE's ``ImageSets``).

The trained classes are CenterNet's (Pedestrian, Car, Cyclist: heatmap channels 0, 1, 2). Neighbour types are
ignore regions in their class's channel (Van and Truck in Car's, Person_sitting in Pedestrian's), ``DontCare`` in
every channel; Tram and Misc are background. Truncation and occlusion are kept (the evaluation's difficulty levels).
Each image's camera matrix ``P2`` comes from its calib file; an image without one gets CenterTrack's default camera
(focal 1200 at the image centre), and the reader says so once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from ..errors import DLADenseError
from ..images import load_image
from ..ops.ddd import default_calib
from .kitti_format import KittiObjects, read_kitti_calib, read_kitti_objects

logger = logging.getLogger(__name__)

#: The trained classes, in CenterNet's heatmap order.
KITTI_CLASSES = ("Pedestrian", "Car", "Cyclist")
#: Types drawn as ignore regions in the channel of a trained class (CenterNet's ``ddd`` ``cat_ids``).
NEIGHBOURS = {"Van": "Car", "Truck": "Car", "Person_sitting": "Pedestrian"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_split(root: Path, image_sets: str, split: str) -> list[str]:
    """The image ids (``000123``) of ``split`` listed in ``root/image_sets/split.txt``."""
    path = root / image_sets / f"{split}.txt"
    if not path.is_file():
        found = sorted(p.name for p in (root / image_sets).glob("*.txt")) if (root / image_sets).is_dir() else []
        hint = (
            f"it has {', '.join(found)}"
            if found
            else f"put the split files (train.txt, val.txt) in {root / image_sets}"
        )
        raise DLADenseError(f"KITTI split '{split}': no file {path}; {hint}")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise DLADenseError(f"KITTI split file {path} lists no image; one id (e.g. 000042) per line")
    return ids


def training_fields(objects: KittiObjects, classes: Sequence[str] = KITTI_CLASSES) -> dict[str, np.ndarray]:
    """The heads' fields of one image's labelled ``objects``: the trained classes' ``boxes [M, 4]``, ``labels [M]``,
    ``alpha``, ``dims`` (h, w, l), ``locations``, ``rotation_y``, ``truncated``, ``occluded``; and ``ignore_boxes``
    / ``ignore_labels`` (the class channel, -1 for all) of neighbour types and DontCare regions."""
    names = list(classes)
    keep = np.array([t in names for t in objects.types], bool)
    trained = objects.select(keep)
    ignore_labels = [
        -1 if t == "DontCare" else names.index(NEIGHBOURS[t])
        for t in objects.types
        if t == "DontCare" or NEIGHBOURS.get(t) in names
    ]
    ignored = objects.select(np.array([t == "DontCare" or NEIGHBOURS.get(t) in names for t in objects.types], bool))
    return {
        "boxes": trained.boxes.astype(np.float32),
        "labels": np.array([names.index(t) for t in trained.types], np.int64),
        "alpha": trained.alpha,
        "dims": trained.dims.astype(np.float32),
        "locations": trained.locations.astype(np.float32),
        "rotation_y": trained.rotation_y,
        "truncated": trained.truncated,
        "occluded": trained.occluded,
        "ignore_boxes": ignored.boxes.astype(np.float32),
        "ignore_labels": np.array(ignore_labels, np.int64),
    }


class KittiDataset(Dataset):
    """The images of a KITTI object split: ``item = {"image": H x W x 3 uint8 RGB, "image_id": int, "name",
    "orig_size": (H, W), "calib": [3, 4], **training_fields}`` (no objects on the ``test`` split), through
    ``transform`` when given. :meth:`ground_truth` gives an image's full labels for evaluation."""

    def __init__(
        self,
        root: str | os.PathLike,
        split: str,
        *,
        image_sets: str = "ImageSets_3dop",
        classes: Sequence[str] = KITTI_CLASSES,
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.classes = tuple(classes)
        self.transform = transform
        self.folder = self.root / ("testing" if split == "test" else "training")
        if not (self.folder / "image_2").is_dir():
            raise DLADenseError(
                f"KITTI data: no folder {self.folder / 'image_2'}; the object layout is <root>/training/image_2, "
                "label_2, calib (download data_object_image_2, label_2 and calib) or make the demo set"
            )
        self.names = read_split(self.root, image_sets, split)
        self.labelled = split != "test"
        self._said_default = False

    def __len__(self) -> int:
        return len(self.names)

    def image_path(self, index: int) -> Path:
        """The image file of item ``index``."""
        stem = self.folder / "image_2" / self.names[index]
        for suffix in IMAGE_SUFFIXES:
            if stem.with_suffix(suffix).is_file():
                return stem.with_suffix(suffix)
        raise DLADenseError(f"KITTI image {self.names[index]} of split '{self.split}': no file {stem}.png")

    def calib(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """The camera matrix ``P2`` of item ``index`` (the default camera of an image of ``size`` (H, W) when the
        image has no calib file)."""
        path = self.folder / "calib" / f"{self.names[index]}.txt"
        if path.is_file():
            return read_kitti_calib(path)
        if not self._said_default:
            logger.warning(
                "KITTI data: no calib file %s (and maybe others); using the default camera (focal 1200 px at the "
                "image centre) for images without one",
                path,
            )
            self._said_default = True
        return default_calib(size[1], size[0])

    def ground_truth(self, index: int) -> KittiObjects:
        """Every labelled object of item ``index`` (all types, DontCare included)."""
        path = self.folder / "label_2" / f"{self.names[index]}.txt"
        if not path.is_file():
            raise DLADenseError(f"KITTI labels of image {self.names[index]}: no file {path}")
        return read_kitti_objects(path)

    def __getitem__(self, index: int) -> Any:
        image = np.asarray(load_image(self.image_path(index)).convert("RGB"))
        size = image.shape[:2]
        item: dict[str, Any] = {
            "image": image,
            "image_id": int(self.names[index]) if self.names[index].isdigit() else index,
            "name": self.names[index],
            "orig_size": size,
            "calib": self.calib(index, size),
        }
        if self.labelled:
            item.update(training_fields(self.ground_truth(index), self.classes))
        return self.transform(item) if self.transform is not None else item
