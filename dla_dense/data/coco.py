"""COCO-format detection data (``instances_*.json`` + an image folder), read through pycocotools.

Any category set works: categories map to contiguous labels ``0..C-1`` in category-id order (or in the
order of ``classes``). Boxes are x1, y1, x2, y2 in input-image pixels; scoring is in
:mod:`dla_dense.evaluation.coco`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools.coco import COCO
from torch.utils.data import Dataset

from ..errors import DLADenseError
from ..images import load_image

logger = logging.getLogger(__name__)


_REQUIRED_KEYS = ("images", "annotations", "categories")
_ENTRY_KEYS = {
    "images": ("id", "file_name"),
    "annotations": ("id", "image_id", "category_id", "bbox"),
    "categories": ("id", "name"),
}


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


#: What each field must hold, where present: (test, words for the error).
_INT = (is_integer, "an integer")
_NUMBER = (lambda v: is_number(v) and math.isfinite(v), "a finite number")
_FIELD_TYPES = {
    "images": {
        "id": _INT,
        "file_name": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
        "height": (lambda v: _INT[0](v) and v > 0, "a positive integer"),
        "width": (lambda v: _INT[0](v) and v > 0, "a positive integer"),
    },
    "annotations": {
        "id": _INT,
        "image_id": _INT,
        "category_id": _INT,
        "iscrowd": (lambda v: v in (0, 1) and not isinstance(v, float), "0 or 1"),
        "area": _NUMBER,
    },
    "categories": {"id": _INT, "name": (lambda v: isinstance(v, str), "a string")},
}


def check_entries(path: Path, data: dict[str, Any]) -> None:
    """Raise for a list entry of ``data`` that lacks a required field or holds a field of the wrong type,
    and for ids that repeat within ``images`` or ``categories``."""
    for key, fields in _ENTRY_KEYS.items():
        if not isinstance(data[key], list):
            raise DLADenseError(f"'{path}': '{key}' must be a list")
        for index, entry in enumerate(data[key]):
            absent = [name for name in fields if not isinstance(entry, dict) or name not in entry]
            if absent:
                raise DLADenseError(
                    f"'{path}': {key}[{index}] lacks {', '.join(repr(n) for n in absent)}; "
                    f"every entry of '{key}' needs {', '.join(fields)}"
                )
            for name, (valid, words) in _FIELD_TYPES[key].items():
                if name in entry and not valid(entry[name]):
                    raise DLADenseError(f"'{path}': {key}[{index}] has {name}={entry[name]!r}; it must be {words}")
        if key != "annotations":
            ids = [entry["id"] for entry in data[key]]
            if len(set(ids)) != len(ids):
                repeated = next(i for i in ids if ids.count(i) > 1)
                raise DLADenseError(f"'{path}': id {repeated} appears more than once in '{key}'; ids must be unique")


def chosen_categories(
    categories: Sequence[dict[str, Any]], classes: Sequence[str] | None, source: str | os.PathLike
) -> list[dict[str, Any]]:
    """The categories trained as labels 0, 1, ...: all of them by id, or those ``classes`` names, in that order
    (one line for a name that is not a category of ``source`` or a name given twice)."""
    ordered = sorted(categories, key=lambda cat: cat["id"])
    if classes is None:
        return ordered
    by_name = {cat["name"]: cat for cat in ordered}
    unknown = [name for name in classes if name not in by_name]
    if unknown:
        names = ", ".join(map(str, by_name)) or "none"
        raise DLADenseError(f"class {unknown[0]!r} is not a category of '{source}'; categories: {names}")
    if len(set(classes)) != len(classes):
        raise DLADenseError(f"classes must be distinct, got {list(classes)}")
    return [by_name[name] for name in classes]


def load_coco_json(ann_file: str | os.PathLike) -> COCO:
    """Read a COCO instances json into a pycocotools ``COCO`` object, with one-line errors for bad files.

    Annotations without ``area`` get ``w * h`` and those without ``iscrowd`` get 0 (COCOeval needs both).
    """
    path = Path(ann_file)
    if not path.is_file():
        raise DLADenseError(
            f"annotation file not found: '{path}'; pass the path of a COCO instances json "
            "(e.g. annotations/instances_val2017.json)"
        )
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise DLADenseError(
            f"'{path}' is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}; fix or re-export the file"
        ) from None
    except UnicodeDecodeError:
        raise DLADenseError(f"'{path}' is not a UTF-8 text file; pass a COCO instances json") from None
    if not isinstance(data, dict):
        raise DLADenseError(f"'{path}' is not a COCO instances json: the top level must be an object")
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise DLADenseError(
            f"'{path}' is not a COCO detection file: missing {', '.join(repr(k) for k in missing)} "
            "(a COCO instances json needs 'images', 'annotations' and 'categories')"
        )
    check_entries(path, data)
    image_ids = {img["id"] for img in data["images"]}
    cat_ids = {cat["id"] for cat in data["categories"]}
    for ann in data["annotations"]:
        if ann["image_id"] not in image_ids:
            raise DLADenseError(
                f"'{path}': annotation {ann['id']} refers to image id {ann['image_id']}, not in 'images'"
            )
        if ann["category_id"] not in cat_ids:
            raise DLADenseError(
                f"'{path}': annotation {ann['id']} has category_id {ann['category_id']}, not in 'categories'"
            )
        bbox = ann["bbox"]
        # non-finite values pass here: such boxes are dropped and counted with the other unusable ones
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(is_number(v) for v in bbox):
            raise DLADenseError(f"'{path}': annotation {ann['id']} has bbox {bbox!r}; expected [x, y, width, height]")
        if "area" not in ann:
            ann["area"] = float(bbox[2]) * float(bbox[3])
        ann.setdefault("iscrowd", 0)
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _missing_images(img_dir: Path, file_names: Sequence[str]) -> list[str]:
    present = {entry.name for entry in os.scandir(img_dir) if entry.is_file()}
    return [name for name in file_names if name not in present and not (img_dir / name).is_file()]


class CocoDetDataset(Dataset):
    """COCO-format detection: ``ann_file`` (instances json) with images under ``img_dir``.

    ``classes``: category names to use, in label order (default: every category, by category id); annotations
    of other categories are left out. Crowd annotations are ignored; images without boxes are kept. Boxes with
    zero/negative size or entirely outside their image are dropped and boxes partly outside are clipped; both
    are counted (``num_dropped``, ``num_clipped``) and reported once as a logged warning.

    An item is ``{"image": HxWx3 uint8 RGB numpy, "boxes": float32 [M, 4] (x1, y1, x2, y2, input-image pixels),
    "labels": int64 [M], "identities": int64 [M] (from video-COCO ``track_id``, else -1), "image_id": int,
    "name": file_name}``, or ``transform(item)`` when a transform is given.
    """

    def __init__(
        self,
        ann_file: str | os.PathLike,
        img_dir: str | os.PathLike,
        *,
        transform: Callable[[dict[str, Any]], Any] | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        self.ann_file = Path(ann_file)
        self.img_dir = Path(img_dir)
        self.transform = transform
        self.coco = load_coco_json(self.ann_file)
        if not self.img_dir.is_dir():
            raise DLADenseError(
                f"image folder not found: '{self.img_dir}'; pass the folder holding the images of '{self.ann_file}'"
            )
        chosen = chosen_categories(self.coco.dataset["categories"], classes, self.ann_file)
        if not chosen:
            raise DLADenseError(f"'{self.ann_file}' has no categories; add them to its 'categories' list")
        #: Class names, indexed by label.
        self.classes: tuple[str, ...] = tuple(str(cat["name"]) for cat in chosen)
        #: Original COCO category id of each label.
        self.cat_ids: tuple[int, ...] = tuple(int(cat["id"]) for cat in chosen)
        self.cat_id_to_label = {cat_id: label for label, cat_id in enumerate(self.cat_ids)}

        images = self.coco.dataset["images"]
        if not images:
            raise DLADenseError(
                f"'{self.ann_file}' lists no images; check that it is the annotation file of this split"
            )
        missing = _missing_images(self.img_dir, [img["file_name"] for img in images])
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DLADenseError(
                f"image '{missing[0]}' listed in '{self.ann_file}' is missing from '{self.img_dir}'{more}; "
                "check the image folder or remove the entry from the json"
            )
        self.image_ids: list[int] = [int(img["id"]) for img in images]
        self.file_names: list[str] = [str(img["file_name"]) for img in images]
        self.image_sizes: list[tuple[int, int]] = [self._image_size(img) for img in images]
        self.num_dropped = self.num_clipped = 0
        self._boxes: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []
        #: The annotations behind each image's boxes, in box order (for subclasses that read more of them).
        self._anns: list[list[dict]] = []
        for image_id, size in zip(self.image_ids, self.image_sizes, strict=True):
            boxes, labels, kept = self._read_boxes(self.coco.imgToAnns.get(image_id, []), size)
            self._boxes.append(boxes)
            self._labels.append(labels)
            self._anns.append(kept)
        self._identities, self.num_identities = self._read_identities()
        if self.num_dropped or self.num_clipped:
            logger.warning(
                "%s: dropped %d boxes with zero/negative size or outside their image, clipped %d boxes "
                "partly outside their image",
                self.ann_file,
                self.num_dropped,
                self.num_clipped,
            )

    def _image_size(self, img: Mapping[str, Any]) -> tuple[int, int]:
        if "height" in img and "width" in img:
            return int(img["height"]), int(img["width"])
        path = self.img_dir / img["file_name"]
        try:
            with Image.open(path) as im:
                return im.height, im.width
        except OSError as e:
            raise DLADenseError(f"cannot read image '{path}': not a valid image file ({e})") from None

    def _read_boxes(self, anns: list[dict], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        height, width = size
        boxes, labels, kept = [], [], []
        for ann in anns:
            label = self.cat_id_to_label.get(ann["category_id"])
            if ann.get("iscrowd", 0) or label is None:
                continue
            x, y, w, h = (float(v) for v in ann["bbox"])
            box = np.array([x, y, x + w, y + h], dtype=np.float64)
            clipped = np.clip(box, 0, [width, height, width, height])
            if not (np.isfinite(box).all() and w > 0 and h > 0 and clipped[2] > clipped[0] and clipped[3] > clipped[1]):
                self.num_dropped += 1
                continue
            if (clipped != box).any():
                self.num_clipped += 1
            boxes.append(clipped)
            labels.append(label)
            kept.append(ann)
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64), kept

    def _read_identities(self) -> tuple[list[np.ndarray], int]:
        """Each image's box identities ``[M]`` (re-identification): every (``video_id``, ``track_id``) of the
        annotations (video-COCO) gets one index in order of first appearance; -1 without a ``track_id``."""
        index: dict[tuple[int, int], int] = {}
        out = []
        for image_id, anns in zip(self.image_ids, self._anns, strict=True):
            video = int(self.coco.imgs[image_id].get("video_id", 0))
            tracks = [int(a.get("track_id", -1)) for a in anns]
            out.append(np.array([index.setdefault((video, t), len(index)) if t >= 0 else -1 for t in tracks], np.int64))
        return out, len(index)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.image_ids)

    def image_path(self, index: int) -> Path:
        """Path of the image file of item ``index``."""
        return self.img_dir / self.file_names[index]

    def __getitem__(self, index: int) -> Any:
        item = self.raw_item(index)
        return self.transform(item) if self.transform is not None else item

    def raw_item(self, index: int) -> dict[str, Any]:
        """Item ``index`` before the transform (see the class docstring)."""
        path = self.image_path(index)
        image = np.asarray(load_image(path))
        height, width = self.image_sizes[index]
        if image.shape[:2] != (height, width):
            raise DLADenseError(
                f"image '{path}' is {image.shape[1]}x{image.shape[0]} but '{self.ann_file}' says {width}x{height}; "
                "fix its width/height in the json"
            )
        return {
            "image": image,
            "boxes": self._boxes[index].copy(),
            "labels": self._labels[index].copy(),
            "identities": self._identities[index].copy(),
            "image_id": self.image_ids[index],
            "name": self.file_names[index],
        }
