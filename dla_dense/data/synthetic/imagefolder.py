"""A synthetic ImageFolder of four shapes (``root/{train,val}/<shape>/*.png``) for the classification demo."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .._atomic import write_folder_atomically

SHAPES = ("circle", "square", "triangle", "cross")


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, fill) -> None:
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    else:
        t = r / 3
        draw.rectangle([cx - r, cy - t, cx + r, cy + t], fill=fill)
        draw.rectangle([cx - t, cy - r, cx + t, cy + r], fill=fill)


def _draw_sample(rng: np.random.Generator, size: int, shape: str) -> Image.Image:
    """One ``size`` x ``size`` RGB image: a ``shape`` in a contrasting colour on a noisy plain background."""
    background = rng.integers(0, 256, 3)
    noise = rng.normal(0, 20, (size, size, 3))
    image = Image.fromarray(np.clip(background + noise, 0, 255).astype(np.uint8))
    fill = tuple(int(v) for v in (background + rng.choice([-1, 1]) * rng.integers(70, 150, 3)) % 256)
    r = rng.uniform(0.2, 0.35) * size
    cx, cy = rng.uniform(r, size - r, 2)
    _draw_shape(ImageDraw.Draw(image), shape, cx, cy, r, fill)
    return image


def make_synthetic_imagefolder(
    root: str | os.PathLike, *, num_train: int = 40, num_val: int = 12, size: int = 64, seed: int = 0
) -> Path:
    """Write one shape per image (circle, square, triangle, cross) as ``root/{train,val}/<shape>/*.png``.

    ``num_train``/``num_val`` are images per class. Deterministic for a given ``seed``; skipped when
    ``root`` already holds the same set; written to a temporary folder and renamed, never half-written.
    """
    root = Path(root)
    params = {"num_train": num_train, "num_val": num_val, "size": size, "seed": seed, "classes": list(SHAPES)}
    if (root / ".synthetic_done").is_file() and json.loads((root / ".synthetic_done").read_text()) == params:
        return root

    def write(folder: Path) -> None:
        rng = np.random.default_rng(seed)
        for split, count in (("train", num_train), ("val", num_val)):
            for shape in SHAPES:
                (folder / split / shape).mkdir(parents=True)
                for i in range(count):
                    _draw_sample(rng, size, shape).save(folder / split / shape / f"{shape}_{i:04d}.png")
        (folder / ".synthetic_done").write_text(json.dumps(params))

    def complete(folder: Path) -> bool:
        marker = folder / ".synthetic_done"
        return marker.is_file() and json.loads(marker.read_text()) == params

    return write_folder_atomically(root, write, complete, "synthetic image folder")
