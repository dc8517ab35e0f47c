"""Deterministic synthetic shapes written as a COCO detection set (the detection demo and test data).

Each image has 0..``max_shapes`` filled shapes (circle, square, triangle, cross, star, ring) of random size,
colour, rotation and position on a textured, noisy background with a few thin distractor lines. Shapes may
overlap but never hide most of another. A box is the tight box of the shape's drawn pixels (COCO xywh);
``area`` is its pixel count.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ...errors import DLADenseError
from ._sets import write_coco_splits, write_once

#: The shapes that can be drawn (pass a subset as ``classes``).
SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star", "ring")
MARKER = ".synthetic_shapes_done"
_VERSION = 1
_EMPTY_FRACTION = 0.08
_SIZE_RANGE = (16.0, 100.0)  # shape size in pixels for a 256-pixel image side
_MAX_OVERLAP = 0.35  # intersection / smaller box area allowed between two shapes


def synthetic_shapes_split(root: str | os.PathLike, split: str) -> tuple[Path, Path]:
    """``(annotation json, image folder)`` of ``split`` ('train' or 'val') in a synthetic shapes set."""
    root = Path(root)
    return root / "annotations" / f"instances_{split}.json", root / "images" / split


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def _shape_mask(
    rng: np.random.Generator, shape: str, centre: np.ndarray, size: float, hw: tuple[int, int]
) -> np.ndarray:
    """Boolean [H, W] mask of one shape of overall extent ``size`` around ``centre``."""
    mask = Image.new("L", (hw[1], hw[0]), 0)
    draw = ImageDraw.Draw(mask)
    r = size / 2
    if shape in ("circle", "ring"):
        draw.ellipse([*(centre - r), *(centre + r)], fill=255)
        if shape == "ring":
            inner = r * rng.uniform(0.45, 0.65)
            draw.ellipse([*(centre - inner), *(centre + inner)], fill=0)
        return np.asarray(mask) > 0
    if shape == "square":
        points = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * (r / np.sqrt(1.3))
        angle = np.deg2rad(rng.uniform(-15, 15))
    elif shape == "triangle":
        t = np.deg2rad(90 + np.array([0, 120, 240]))
        points = np.stack([np.cos(t), np.sin(t)], 1) * r
        angle = rng.uniform(0, 2 * np.pi)
    elif shape == "cross":
        a, b = r, r * rng.uniform(0.25, 0.38)
        points = np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b], [b, a], [-b, a], [-b, b], [-a, b]])
        points = np.concatenate([points, [[-a, -b], [-b, -b]]])
        angle = np.deg2rad(rng.uniform(-15, 15))
    else:
        t = np.deg2rad(-90 + 36 * np.arange(10))
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        points = np.stack([np.cos(t) * radii, np.sin(t) * radii], 1)
        angle = rng.uniform(0, 2 * np.pi)
    draw.polygon([tuple(p) for p in (_rotate(points, angle) + centre).tolist()], fill=255)
    return np.asarray(mask) > 0


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Float [H, W, 3] in [0, 255]: smooth colour gradient, blotchy or striped texture and a few thin lines."""
    image = cv2.resize(rng.uniform(20, 235, (3, 3, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        cells = int(rng.integers(6, 20))
        blotches = cv2.resize(rng.normal(0, 1, (cells, cells)), (w, h), interpolation=cv2.INTER_CUBIC)
        image += blotches[:, :, None] * rng.uniform(10, 30) * rng.uniform(0.5, 1.0, 3)
    else:
        angle, period = rng.uniform(0, np.pi), rng.uniform(6, 30)
        yy, xx = np.mgrid[0:h, 0:w]
        stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        image += stripes[:, :, None] * rng.uniform(5, 20)
    canvas = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(0, 4))):
        ends = rng.uniform(0, 1, 4) * [w, h, w, h]
        draw.line(ends.tolist(), fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=int(rng.integers(1, 3)))
    return np.asarray(canvas, dtype=np.float64)


def contrasting_colour(rng: np.random.Generator, region_mean: np.ndarray) -> np.ndarray:
    best, best_dist = None, -1.0
    for _ in range(10):
        colour = rng.integers(0, 256, 3).astype(np.float64)
        dist = float(np.linalg.norm(colour - region_mean))
        if dist >= 100:
            return colour
        if dist > best_dist:
            best, best_dist = colour, dist
    return best


def _overlap(box: np.ndarray, other: np.ndarray) -> float:
    iw = min(box[2], other[2]) - max(box[0], other[0])
    ih = min(box[3], other[3]) - max(box[1], other[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((box[2] - box[0]) * (box[3] - box[1]), (other[2] - other[0]) * (other[3] - other[1]))
    return iw * ih / smaller


def render_shapes(
    rng: np.random.Generator, height: int, width: int, classes: Sequence[str], max_shapes: int
) -> tuple[np.ndarray, list[tuple[int, list[int], int]]]:
    """One image ``[H, W, 3]`` uint8 RGB and its shapes as ``(class index, [x, y, w, h], pixel area)``."""
    image = background(rng, height, width)
    scale = min(height, width) / 256
    count = 0 if rng.random() < _EMPTY_FRACTION else int(rng.integers(1, max_shapes + 1))
    boxes: list[np.ndarray] = []
    shapes = []
    for _ in range(count):
        cls = int(rng.integers(len(classes)))
        for _try in range(20):
            size = min(np.exp(rng.uniform(*np.log(_SIZE_RANGE))) * scale, 0.45 * min(height, width))
            centre = rng.uniform(0.35 * size, [width - 0.35 * size, height - 0.35 * size])
            mask = _shape_mask(rng, classes[cls], centre, size, (height, width))
            ys, xs = np.nonzero(mask)
            if len(xs) < 16:
                continue
            box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            if all(_overlap(box, other) <= _MAX_OVERLAP for other in boxes):
                break
        else:
            continue
        image[mask] = contrasting_colour(rng, image[mask].mean(0))
        boxes.append(box)
        x1, y1, x2, y2 = (int(v) for v in box)
        shapes.append((cls, [x1, y1, x2 - x1, y2 - y1], int(mask.sum())))
    image += rng.normal(0, rng.uniform(2, 6), image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), shapes


def _params(num_train: int, num_val: int, size: tuple[int, int], classes: Sequence[str], max_shapes: int, seed: int):
    return {
        "version": _VERSION,
        "num_train": int(num_train),
        "num_val": int(num_val),
        "size": [int(size[0]), int(size[1])],
        "classes": list(classes),
        "max_shapes": int(max_shapes),
        "seed": int(seed),
    }


def _write_set(out: Path, params: dict) -> None:
    height, width = params["size"]
    classes = params["classes"]

    def render(rng: np.random.Generator) -> tuple[np.ndarray, list[dict[str, Any]]]:
        image, shapes = render_shapes(rng, height, width, classes, params["max_shapes"])
        return image, [{"category_id": c + 1, "bbox": bbox, "area": area, "iscrowd": 0} for c, bbox, area in shapes]

    write_coco_splits(
        out,
        params,
        split_paths=synthetic_shapes_split,
        render=render,
        categories=[{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(classes)],
        description="dla_dense synthetic shapes",
    )


def make_synthetic_shapes(
    root: str | os.PathLike,
    *,
    num_train: int = 400,
    num_val: int = 80,
    size: tuple[int, int] = (256, 256),
    classes: Sequence[str] = ("circle", "square", "triangle", "cross"),
    max_shapes: int = 6,
    seed: int = 0,
) -> Path:
    """Write a synthetic shapes detection set of images ``size`` (H, W) under ``root`` and return ``root``.

    Layout: ``root/images/{train,val}/NNNNNN.png`` and ``root/annotations/instances_{train,val}.json`` (COCO,
    one category per class, ids 1..C in ``classes`` order; some images have no shapes). The same parameters
    always give the same files. When ``root`` already holds this set nothing is written; an older or partial
    set is replaced atomically (written to a temporary folder, then renamed), so an interrupted run never
    leaves half a set. A ``root`` holding anything else is left untouched.
    """
    unknown = [name for name in classes if name not in SHAPE_CLASSES]
    if unknown or not classes:
        raise DLADenseError(
            f"unknown shape class {unknown[0]!r}; choose from {', '.join(SHAPE_CLASSES)}"
            if unknown
            else f"no shape classes given; choose from {', '.join(SHAPE_CLASSES)}"
        )
    if len(set(classes)) != len(classes):
        raise DLADenseError(f"shape classes must be distinct, got {list(classes)}")
    root = Path(root)
    params = _params(num_train, num_val, size, classes, max_shapes, seed)
    return write_once(
        root, params, marker=MARKER, write=lambda folder: _write_set(folder, params), what="synthetic shapes"
    )
