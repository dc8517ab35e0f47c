"""Deterministic synthetic people: stick figures in COCO's 17-joint person schema, written as a COCO keypoints set.

Each image holds 1..``max_people`` figures 24-128 px tall (at a 256-pixel side) with random torso lean and
limb angles, seen from the front or the back (so left and right joints swap sides in the image), on the
textured backgrounds of the shapes set with distractor lines. Joints outside the image have visibility 0,
some drawn joints are marked 1 (labelled, occluded) as COCO does, the rest 2. A box is the extent of the
figure's joints and head (COCO xywh); ``area`` is half the box, about what a person's mask covers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..keypoints import COCO_PERSON_KEYPOINTS
from ._sets import write_coco_splits, write_once
from .shapes import background, contrasting_colour

MARKER = ".synthetic_people_done"
_VERSION = 1
#: COCO's person skeleton (1-based joint pairs), as in ``person_keypoints_*.json``.
COCO_PERSON_SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9), (8, 10), (9, 11),
    (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip
_HEIGHT_RANGE = (24.0, 128.0)  # figure height in pixels for a 256-pixel image side
_OCCLUDED = 0.1  # share of drawn joints marked visibility 1


def synthetic_people_split(root: str | os.PathLike, split: str) -> tuple[Path, Path]:
    """``(annotation json, image folder)`` of ``split`` ('train' or 'val') in a synthetic people set."""
    root = Path(root)
    return root / "annotations" / f"person_keypoints_{split}.json", root / "images" / split


def _unit(angle: float) -> np.ndarray:
    return np.array([np.sin(angle), -np.cos(angle)])  # angle 0 points up the image


def stick_figure(rng: np.random.Generator, height: float, foot: np.ndarray) -> np.ndarray:
    """Joints ``[17, 2]`` (x, y) of a figure ``height`` pixels tall standing at ``foot`` (COCO joint order)."""
    lean = rng.normal(0, 0.15)
    up, side = _unit(lean), _unit(lean + np.pi / 2)
    if rng.random() < 0.5:  # seen from the back: the figure's left is on the image's left
        side = -side
    hip = foot - up * 0.48 * height
    neck = hip + up * 0.3 * height
    head = neck + up * 0.12 * height
    joints = np.zeros((17, 2))
    joints[0] = head + side * rng.normal(0, 0.01) * height  # nose
    joints[1], joints[2] = (
        head + up * 0.02 * height + side * 0.03 * height,
        head + up * 0.02 * height - side * 0.03 * height,
    )
    joints[3], joints[4] = head + side * 0.055 * height, head - side * 0.055 * height
    joints[5], joints[6] = neck + side * 0.11 * height, neck - side * 0.11 * height
    joints[11], joints[12] = hip + side * 0.08 * height, hip - side * 0.08 * height
    for s, (shoulder, elbow, wrist) in zip((1, -1), ((5, 7, 9), (6, 8, 10)), strict=True):
        upper = lean + np.pi + s * rng.uniform(0.1, 1.6)
        joints[elbow] = joints[shoulder] + _unit(upper) * 0.17 * height
        joints[wrist] = joints[elbow] + _unit(upper + s * rng.uniform(-0.3, 1.8)) * 0.15 * height
    for s, (hip_j, knee, ankle) in zip((1, -1), ((11, 13, 15), (12, 14, 16)), strict=True):
        thigh = lean + np.pi + s * rng.uniform(-0.15, 0.5)
        joints[knee] = joints[hip_j] + _unit(thigh) * 0.24 * height
        joints[ankle] = joints[knee] + _unit(thigh - s * rng.uniform(-0.1, 0.6)) * 0.24 * height
    return joints


def render_people(rng: np.random.Generator, height: int, width: int, max_people: int) -> tuple[np.ndarray, list]:
    """An RGB uint8 image ``[H, W, 3]`` and its people ``[(keypoints [17*3], bbox xywh, area), ...]``."""
    scale = min(height, width) / 256
    image = background(rng, height, width)
    canvas = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    people = []
    for _ in range(int(rng.integers(1, max_people + 1))):
        tall = rng.uniform(*_HEIGHT_RANGE) * scale
        foot = np.array([rng.uniform(-0.05, 1.05) * width, rng.uniform(0.3, 1.15) * height])
        joints = stick_figure(rng, tall, foot)
        colour = tuple(int(v) for v in contrasting_colour(rng, image.reshape(-1, 3).mean(0)))
        thickness = max(1, int(round(tall / 22)))
        for a, b in COCO_PERSON_SKELETON:
            if a > 5 or b > 5:  # the face is drawn as a head, not as lines
                draw.line([*joints[a - 1], *joints[b - 1]], fill=colour, width=thickness)
        head, radius = joints[0], 0.075 * tall
        draw.ellipse(
            [head[0] - radius, head[1] - radius, head[0] + radius, head[1] + radius], outline=colour, width=thickness
        )
        inside = (joints[:, 0] >= 0) & (joints[:, 0] < width) & (joints[:, 1] >= 0) & (joints[:, 1] < height)
        if inside.sum() < 3:
            continue
        visibility = np.where(inside, np.where(rng.random(17) < _OCCLUDED, 1, 2), 0)
        keypoints = np.concatenate([np.where(inside[:, None], joints, 0), visibility[:, None]], 1)
        extent = np.concatenate([joints[inside], [head - radius, head + radius]])
        x1, y1 = np.clip(extent.min(0), 0, [width, height])
        x2, y2 = np.clip(extent.max(0), 0, [width, height])
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        bbox = [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]
        people.append(([round(float(v), 2) for v in keypoints.reshape(-1)], bbox, 0.5 * bbox[2] * bbox[3]))
    return np.asarray(canvas), people


def _params(num_train: int, num_val: int, size: tuple[int, int], max_people: int, seed: int) -> dict:
    return {
        "version": _VERSION,
        "num_train": int(num_train),
        "num_val": int(num_val),
        "size": [int(size[0]), int(size[1])],
        "max_people": int(max_people),
        "seed": int(seed),
    }


def _write_set(out: Path, params: dict) -> None:
    height, width = params["size"]

    def render(rng: np.random.Generator) -> tuple[np.ndarray, list[dict[str, Any]]]:
        image, people = render_people(rng, height, width, params["max_people"])
        return image, [
            {
                "category_id": 1,
                "bbox": bbox,
                "area": area,
                "iscrowd": 0,
                "keypoints": keypoints,
                "num_keypoints": int(sum(v > 0 for v in keypoints[2::3])),
            }
            for keypoints, bbox, area in people
        ]

    category = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(COCO_PERSON_KEYPOINTS),
        "skeleton": [list(edge) for edge in COCO_PERSON_SKELETON],
    }
    write_coco_splits(
        out,
        params,
        split_paths=synthetic_people_split,
        render=render,
        categories=[category],
        description="dla_dense synthetic people",
    )


def make_synthetic_people(
    root: str | os.PathLike,
    *,
    num_train: int = 800,
    num_val: int = 80,
    size: tuple[int, int] = (256, 256),
    max_people: int = 4,
    seed: int = 0,
) -> Path:
    """Write a synthetic people keypoint set of images ``size`` (H, W) under ``root`` and return ``root``.

    Layout: ``root/images/{train,val}/NNNNNN.png`` and ``root/annotations/person_keypoints_{train,val}.json``
    (COCO, category 1 ``person`` with COCO's joint names and skeleton). The same parameters always give the
    same files; an existing complete set is kept, a partial or older one replaced atomically, and a folder
    holding anything else is refused.
    """
    root = Path(root)
    params = _params(num_train, num_val, size, max_people, seed)
    return write_once(
        root, params, marker=MARKER, write=lambda folder: _write_set(folder, params), what="synthetic people"
    )
