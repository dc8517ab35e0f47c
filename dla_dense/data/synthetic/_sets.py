"""Writing a synthetic set once (a marker file records the parameters of a complete set) and the splits of a
synthetic COCO-format set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...errors import DLADenseError
from .._atomic import write_folder_atomically

#: Each split's key in the random seed of its images: ``[seed, key, index]``.
SPLIT_KEY = {"train": 0, "val": 1}
#: ``(rng) -> (image RGB uint8 [H, W, 3], [annotation fields of each object])``.
Render = Callable[[np.random.Generator], tuple[np.ndarray, list[dict[str, Any]]]]


def is_complete(root: Path, marker: str, params: dict[str, Any]) -> bool:
    """Whether ``root`` holds a complete set written with ``params`` (its ``marker`` file says so)."""
    try:
        return json.loads((root / marker).read_text()) == params
    except (OSError, ValueError):
        return False


def write_once(root: Path, params: dict[str, Any], *, marker: str, write: Callable[[Path], None], what: str) -> Path:
    """``root`` holding the set of ``params``: kept when complete, else written by ``write(folder)`` into a
    temporary folder, then ``marker`` (``json.dumps(params)``), and renamed (an older or partial set is replaced);
    a file, or a folder holding anything but such a set, is refused."""
    if is_complete(root, marker, params):
        return root
    if root.exists() and not root.is_dir():
        raise DLADenseError(f"cannot write the {what} to '{root}': it is a file; choose a folder")
    if root.is_dir() and any(root.iterdir()) and not (root / marker).is_file():
        raise DLADenseError(
            f"'{root}' already holds files that are not a {what} set (no {marker}); "
            "choose another folder or empty this one"
        )

    def write_set(folder: Path) -> None:
        write(folder)
        (folder / marker).write_text(json.dumps(params))

    return write_folder_atomically(root, write_set, lambda folder: is_complete(folder, marker, params), what)


def write_coco_splits(
    out: Path,
    params: dict[str, Any],
    *,
    split_paths: Callable[[Path, str], tuple[Path, Path]],
    render: Render,
    categories: list[dict[str, Any]],
    description: str,
) -> None:
    """Write ``params["num_train"]`` and ``params["num_val"]`` images of ``params["size"]`` (H, W) into ``out`` as
    a COCO-format set. Image ``index`` of a split is ``render(rng)`` with the generator seeded
    ``[params["seed"], SPLIT_KEY[split], index]``, saved as ``NNNNNN.png`` in the split's image folder; its objects'
    annotation fields (``category_id``, ``bbox``, ``area``, ...) get ids in order. ``split_paths(out, split)`` gives
    ``(annotation file, image folder)``."""
    height, width = params["size"]
    (out / "annotations").mkdir(parents=True)
    for split in ("train", "val"):
        ann_file, img_dir = split_paths(out, split)
        img_dir.mkdir(parents=True)
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for index in range(params[f"num_{split}"]):
            image, objects = render(np.random.default_rng([params["seed"], SPLIT_KEY[split], index]))
            file_name = f"{index:06d}.png"
            Image.fromarray(image).save(img_dir / file_name)
            images.append({"id": index + 1, "file_name": file_name, "height": height, "width": width})
            annotations += [{"id": len(annotations) + i + 1, "image_id": index + 1, **o} for i, o in enumerate(objects)]
        info = {"description": description, "version": str(params["version"])}
        coco = {"info": info, "images": images, "annotations": annotations, "categories": categories}
        ann_file.write_text(json.dumps(coco))
