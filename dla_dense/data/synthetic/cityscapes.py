"""Deterministic synthetic street scenes written in the Cityscapes layout (the demo and test data).

Each scene has sky, buildings with windows, a perspective road with lane marks, sidewalks, trees, cars,
persons and poles with traffic signs, plus an 'unlabeled' bonnet strip at the bottom. Label PNGs hold real
Cityscapes label ids, so :class:`~dla_dense.data.cityscapes.CityscapesSegDataset` reads them unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
from cityscapesscripts.helpers.labels import name2label
from PIL import Image, ImageDraw

from ...errors import DLADenseError
from .._atomic import write_folder_atomically
from ..cityscapes import IMG_SUFFIX, LABEL_SUFFIX
from ._sets import SPLIT_KEY

#: The Cityscapes classes drawn in every scene.
SYNTHETIC_CLASSES: tuple[str, ...] = (
    "road",
    "sidewalk",
    "building",
    "pole",
    "traffic sign",
    "vegetation",
    "sky",
    "person",
    "car",
)
MARKER = ".synthetic_done"
_VERSION = 1
_CITIES = {"train": ("synthburg", "pixelton"), "val": ("randomstadt",)}

_ID = {name: name2label[name].id for name in (*SYNTHETIC_CLASSES, "unlabeled")}
_GRAIN = {
    "road": 7.0,
    "sidewalk": 9.0,
    "building": 6.0,
    "vegetation": 16.0,
    "sky": 2.0,
    "car": 4.0,
    "person": 6.0,
    "pole": 3.0,
    "traffic sign": 3.0,
    "unlabeled": 3.0,
}
#: Texture noise amplitude (grey levels) per label id.
_NOISE = np.zeros(256, np.float32)
_NOISE[[_ID[name] for name in _GRAIN]] = list(_GRAIN.values())


def _jitter(rng: np.random.Generator, base: tuple[int, int, int], spread: float) -> tuple[int, int, int]:
    colour = np.clip(np.asarray(base) + rng.normal(0.0, spread, 3), 0, 255)
    return tuple(int(c) for c in colour)


def _pick(rng: np.random.Generator, bases: list[tuple[int, int, int]], spread: float) -> tuple[int, int, int]:
    return _jitter(rng, bases[rng.integers(len(bases))], spread)


class _Canvas:
    """Draws each shape into the RGB image and the label-id image at once."""

    def __init__(self, h: int, w: int, background: np.ndarray) -> None:
        self.image = Image.fromarray(background)
        self.label = Image.new("L", (w, h), _ID["sky"])
        self.img_draw = ImageDraw.Draw(self.image)
        self.lbl_draw = ImageDraw.Draw(self.label)

    def polygon(self, points, colour, cls: str | None) -> None:
        self.img_draw.polygon(points, fill=colour)
        if cls is not None:
            self.lbl_draw.polygon(points, fill=_ID[cls])

    def rect(self, box, colour, cls: str | None) -> None:
        box = (box[0], box[1], max(box[0], box[2]), max(box[1], box[3]))
        self.img_draw.rectangle(box, fill=colour)
        if cls is not None:
            self.lbl_draw.rectangle(box, fill=_ID[cls])

    def ellipse(self, box, colour, cls: str | None) -> None:
        box = (box[0], box[1], max(box[0], box[2]), max(box[1], box[3]))
        self.img_draw.ellipse(box, fill=colour)
        if cls is not None:
            self.lbl_draw.ellipse(box, fill=_ID[cls])


def _smooth_field(rng: np.random.Generator, h: int, w: int, cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise [h, w] in about [-1, 1]."""
    return cv2.resize(rng.uniform(-1.0, 1.0, cells).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def render_scene(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One random street scene: an RGB image [H, W, 3] uint8 and Cityscapes label ids [H, W] uint8."""
    h, w = height, width
    horizon = int(h * rng.uniform(0.36, 0.5))

    if rng.random() < 0.3:
        sky_top = sky_bottom = _jitter(rng, (175, 178, 182), 18)
    else:
        sky_top = _jitter(rng, (70, 120, 200), 20)
        sky_bottom = _jitter(rng, (170, 200, 230), 15)
    ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    sky = np.asarray(sky_top, np.float32) * (1 - ramp) + np.asarray(sky_bottom, np.float32) * ramp
    canvas = _Canvas(h, w, np.broadcast_to(sky, (h, w, 3)).astype(np.uint8))

    building_bases = [(120, 120, 125), (190, 175, 150), (150, 80, 60), (215, 210, 200), (90, 95, 110)]
    x = int(-rng.uniform(0, 0.1) * w)
    while x < w:
        bw = int(w * rng.uniform(0.08, 0.24))
        if rng.random() < 0.85:
            top = max(2, int(horizon - h * rng.uniform(0.12, 0.42)))
            canvas.rect((x, top, x + bw, horizon + 2), _pick(rng, building_bases, 12), "building")
            window = _jitter(rng, (50, 60, 75) if rng.random() < 0.6 else (160, 190, 210), 15)
            size = max(2, bw // 8)
            for wy in range(top + size, horizon - size, 2 * size):
                for wx in range(x + size, x + bw - size, 2 * size):
                    canvas.rect((wx, wy, wx + size - 1, wy + size - 1), window, None)
        x += bw + int(rng.uniform(0, 0.05) * w)

    tree_bases = [(60, 110, 45), (85, 130, 50), (110, 125, 60), (45, 85, 40)]
    for _ in range(rng.integers(2, 7)):
        cx, r = rng.uniform(0, w), h * rng.uniform(0.05, 0.16)
        cy = horizon - r * rng.uniform(0.4, 1.3)
        canvas.rect((cx - r * 0.08, cy, cx + r * 0.08, horizon + 2), _jitter(rng, (90, 70, 50), 15), "vegetation")
        leaves = _pick(rng, tree_bases, 12)
        for _ in range(rng.integers(3, 6)):
            ox, oy, rr = rng.normal(0, r * 0.4), rng.normal(0, r * 0.3), r * rng.uniform(0.5, 0.9)
            canvas.ellipse((cx + ox - rr, cy + oy - rr, cx + ox + rr, cy + oy + rr), leaves, "vegetation")

    sidewalk = _pick(rng, [(165, 160, 155), (185, 175, 160), (150, 120, 110), (130, 130, 135)], 12)
    canvas.rect((0, horizon, w, h), sidewalk, "sidewalk")
    vx = w * rng.uniform(0.35, 0.65)
    top_half = w * rng.uniform(0.01, 0.03)
    bottom_c, bottom_half = w * rng.uniform(0.4, 0.6), w * rng.uniform(0.3, 0.55)
    road = _pick(rng, [(85, 85, 90), (110, 108, 105), (70, 72, 80)], 10)

    def road_edges(t: float) -> tuple[float, float, float]:
        """Left edge, right edge and y of the road at depth t (0 = horizon, 1 = bottom)."""
        c = vx + (bottom_c - vx) * t
        half = top_half + (bottom_half - top_half) * t
        return c - half, c + half, horizon + (h - horizon) * t

    road_points = [(vx - top_half, horizon), (vx + top_half, horizon)]
    canvas.polygon(road_points + [(bottom_c + bottom_half, h), (bottom_c - bottom_half, h)], road, "road")
    mark = _jitter(rng, (235, 235, 225) if rng.random() < 0.8 else (225, 200, 80), 8)
    for k in range(8):
        t0, t1 = (k / 8) ** 1.6, ((k + 0.5) / 8) ** 1.6
        l0, r0, y0 = road_edges(t0)
        l1, r1, y1 = road_edges(t1)
        c0, c1 = (l0 + r0) / 2, (l1 + r1) / 2
        hw0, hw1 = 0.3 + 1.5 * t0, 0.3 + 1.5 * t1
        canvas.polygon([(c0 - hw0, y0), (c0 + hw0, y0), (c1 + hw1, y1), (c1 - hw1, y1)], mark, None)

    objects = []
    for _ in range(rng.integers(1, 5)):
        objects.append(("car", rng.uniform(0.12, 0.95)))
    for _ in range(rng.integers(1, 5)):
        objects.append(("person", rng.uniform(0.08, 0.9)))
    for _ in range(rng.integers(1, 4)):
        objects.append(("pole", rng.uniform(0.1, 0.8)))
    for kind, t in sorted(objects, key=lambda o: o[1]):
        left, right, y = road_edges(t)
        if kind == "car":
            _draw_car(canvas, rng, left, right, y)
        elif kind == "person":
            _draw_person(canvas, rng, left, right, y, t, w, h)
        else:
            _draw_pole(canvas, rng, left, right, y, t, w, h)

    hood = max(1, int(h * rng.uniform(0.01, 0.05)))
    canvas.rect((0, h - hood, w, h), _jitter(rng, (40, 40, 45), 10), "unlabeled")

    image = np.asarray(canvas.image, np.float32)
    label = np.asarray(canvas.label)
    light = 1.0 + 0.18 * _smooth_field(rng, h, w, (3, 5))
    if rng.random() < 0.6:
        x0, x1 = sorted(rng.uniform(-0.2, 1.2, 2) * w)
        skew = rng.uniform(-0.3, 0.3) * w
        shadow = np.zeros((h, w), np.uint8)
        pts = np.array([[x0, horizon], [x1, horizon], [x1 + skew, h], [x0 + skew, h]], np.int32)
        cv2.fillPoly(shadow, [pts], 1)
        light *= 1.0 - shadow * np.float32(rng.uniform(0.2, 0.45))
    light *= np.float32(rng.uniform(0.75, 1.2))
    image *= light[..., None] * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    grain = np.sqrt(_NOISE[label] ** 2 + np.float32(rng.uniform(1.5, 5.0)) ** 2)
    image += (rng.standard_normal((h, w), dtype=np.float32) * grain)[..., None]
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (3, 3), 0)
    return np.clip(image, 0, 255).astype(np.uint8), label.copy()


def _draw_car(canvas: _Canvas, rng: np.random.Generator, left: float, right: float, y: float) -> None:
    cw = (right - left) * rng.uniform(0.28, 0.42)
    cx = rng.uniform(left + cw / 2, right - cw / 2)
    ch = cw * rng.uniform(0.5, 0.65)
    body = _pick(rng, [(180, 30, 30), (30, 60, 150), (220, 220, 220), (30, 30, 35), (140, 140, 150)], 20)
    x0, x1, top = cx - cw / 2, cx + cw / 2, y - ch
    wheel = ch * 0.22
    canvas.ellipse((x0 + cw * 0.08, y - 2 * wheel, x0 + cw * 0.08 + 2 * wheel, y), (20, 20, 20), "car")
    canvas.ellipse((x1 - cw * 0.08 - 2 * wheel, y - 2 * wheel, x1 - cw * 0.08, y), (20, 20, 20), "car")
    canvas.rect((x0, top + ch * 0.4, x1, y - wheel), body, "car")
    cabin = [
        (x0 + cw * 0.18, top + ch * 0.42),
        (x0 + cw * 0.27, top),
        (x1 - cw * 0.27, top),
        (x1 - cw * 0.18, top + ch * 0.42),
    ]
    canvas.polygon(cabin, body, "car")
    glass = _jitter(rng, (60, 75, 90), 12)
    canvas.polygon(
        [
            (x0 + cw * 0.22, top + ch * 0.4),
            (x0 + cw * 0.29, top + ch * 0.07),
            (x1 - cw * 0.29, top + ch * 0.07),
            (x1 - cw * 0.22, top + ch * 0.4),
        ],
        glass,
        None,
    )
    lamp = max(1.0, cw * 0.06)
    canvas.rect((x0 + cw * 0.04, top + ch * 0.5, x0 + cw * 0.04 + lamp, top + ch * 0.5 + lamp), (230, 60, 40), None)
    canvas.rect((x1 - cw * 0.04 - lamp, top + ch * 0.5, x1 - cw * 0.04, top + ch * 0.5 + lamp), (230, 60, 40), None)


def _sidewalk_x(rng: np.random.Generator, left: float, right: float, w: int, margin: float) -> float:
    if rng.random() < 0.5 and left - margin > 0:
        return rng.uniform(max(0.0, left - 6 * margin), left - margin)
    if right + margin < w:
        return rng.uniform(right + margin, min(float(w), right + 6 * margin))
    return rng.uniform(0, max(1.0, left - margin))


def _draw_person(
    canvas: _Canvas, rng: np.random.Generator, left: float, right: float, y: float, t: float, w: int, h: int
) -> None:
    ph = h * 0.5 * (0.15 + t) * rng.uniform(0.85, 1.1)
    pw = ph * rng.uniform(0.18, 0.26)
    px = _sidewalk_x(rng, left, right, w, pw)
    head = ph * 0.09
    legs = _pick(rng, [(40, 40, 60), (70, 60, 50), (30, 30, 30)], 12)
    coat = _pick(rng, [(150, 30, 40), (40, 90, 150), (200, 180, 60), (60, 60, 60), (220, 220, 215)], 20)
    canvas.ellipse((px - pw * 0.35, y - ph * 0.5, px + pw * 0.35, y), legs, "person")
    canvas.ellipse((px - pw / 2, y - ph * 0.82, px + pw / 2, y - ph * 0.4), coat, "person")
    skin = _pick(rng, [(230, 190, 160), (170, 120, 90), (110, 75, 55)], 10)
    canvas.ellipse((px - head, y - ph, px + head, y - ph + 2 * head), skin, "person")


def _draw_pole(
    canvas: _Canvas, rng: np.random.Generator, left: float, right: float, y: float, t: float, w: int, h: int
) -> None:
    height = h * (0.2 + 0.8 * t) * rng.uniform(0.7, 1.0)
    pw = max(1.0, w * 0.012 * (0.3 + t))
    px = _sidewalk_x(rng, left, right, w, 2 * pw)
    metal = _pick(rng, [(110, 110, 115), (50, 70, 55), (40, 40, 40)], 10)
    canvas.rect((px - pw / 2, y - height, px + pw / 2, y), metal, "pole")
    s = max(2.0, height * rng.uniform(0.14, 0.2))
    sy = y - height - s * 0.3
    colour = _pick(rng, [(200, 30, 30), (30, 80, 180), (230, 200, 40), (235, 235, 235)], 12)
    shape = rng.integers(3)
    if shape == 0:
        canvas.ellipse((px - s / 2, sy, px + s / 2, sy + s), colour, "traffic sign")
        canvas.ellipse((px - s / 4, sy + s / 4, px + s / 4, sy + 3 * s / 4), (240, 240, 240), None)
    elif shape == 1:
        canvas.polygon([(px - s / 2, sy + s), (px + s / 2, sy + s), (px, sy)], colour, "traffic sign")
    else:
        canvas.rect((px - s / 2, sy, px + s / 2, sy + s * 0.8), colour, "traffic sign")
        canvas.rect((px - s / 4, sy + s * 0.2, px + s / 4, sy + s * 0.6), (245, 245, 245), None)


def _params(root: Path, num_train: int, num_val: int, size: tuple[int, int], seed: int) -> dict:
    """The generator parameters as stored in the marker file; raises DLADenseError for invalid ones."""
    if not 1 <= num_train < 10**6 or not 0 <= num_val < 10**6:
        raise DLADenseError(
            f"synthetic set '{root}': need 1 <= num_train < 10**6 and 0 <= num_val < 10**6, "
            f"got {num_train} and {num_val}"
        )
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        height = width = 0
    if min(height, width) < 32:
        raise DLADenseError(f"synthetic set '{root}': size must be (height, width), both >= 32, got {size!r}")
    if seed < 0:
        raise DLADenseError(f"synthetic set '{root}': seed must be >= 0, got {seed}")
    return {
        "version": _VERSION,
        "num_train": int(num_train),
        "num_val": int(num_val),
        "size": [height, width],
        "seed": int(seed),
    }


def _file_stems(params: dict) -> list[tuple[str, str]]:
    """(split, "<city>/<city>_000000_<index>") of every scene, in index order."""
    stems = []
    for split in ("train", "val"):
        cities = _CITIES[split]
        for index in range(params[f"num_{split}"]):
            city = cities[index % len(cities)]
            stems.append((split, f"{city}/{city}_000000_{index:06d}"))
    return stems


def _is_complete(root: Path, params: dict) -> bool:
    try:
        if json.loads((root / MARKER).read_text()) != params:
            return False
    except (OSError, ValueError):
        return False
    return all(
        (root / "leftImg8bit" / split / f"{stem}{IMG_SUFFIX}").is_file()
        and (root / "gtFine" / split / f"{stem}{LABEL_SUFFIX}").is_file()
        for split, stem in _file_stems(params)
    )


def synthetic_cityscapes_exists(
    root: str | os.PathLike,
    *,
    num_train: int = 200,
    num_val: int = 40,
    size: tuple[int, int] = (128, 256),
    seed: int = 0,
) -> bool:
    """True when ``root`` holds the complete set that :func:`make_synthetic_cityscapes` writes for these
    parameters."""
    root = Path(root)
    return _is_complete(root, _params(root, num_train, num_val, size, seed))


def _is_synthetic(root: Path) -> bool:
    """True when ``root`` holds only (part of) a synthetic set, so replacing it loses nothing else."""
    if (root / MARKER).is_file():
        return True
    cities = {c for names in _CITIES.values() for c in names}
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if parts[0] not in ("leftImg8bit", "gtFine"):
            return False
        if len(parts) >= 3 and parts[2] not in cities:
            return False
        if len(parts) > 4 or (len(parts) == 4 and not path.name.endswith((IMG_SUFFIX, LABEL_SUFFIX))):
            return False
    return True


def _write_set(out: Path, params: dict) -> None:
    height, width = params["size"]
    for split in ("train", "val"):
        (out / "leftImg8bit" / split).mkdir(parents=True)
        (out / "gtFine" / split).mkdir(parents=True)
    for split, stem in _file_stems(params):
        index = int(stem.rsplit("_", 1)[1])
        rng = np.random.default_rng([params["seed"], SPLIT_KEY[split], index])
        image, label = render_scene(rng, height, width)
        image_path = out / "leftImg8bit" / split / f"{stem}{IMG_SUFFIX}"
        label_path = out / "gtFine" / split / f"{stem}{LABEL_SUFFIX}"
        image_path.parent.mkdir(exist_ok=True)
        label_path.parent.mkdir(exist_ok=True)
        Image.fromarray(image).save(image_path, compress_level=1)
        Image.fromarray(label).save(label_path, compress_level=1)
    (out / MARKER).write_text(json.dumps(params))


def make_synthetic_cityscapes(
    root: str | os.PathLike,
    *,
    num_train: int = 200,
    num_val: int = 40,
    size: tuple[int, int] = (128, 256),
    seed: int = 0,
) -> Path:
    """Write ``num_train`` + ``num_val`` synthetic scenes of ``size`` (H, W) under ``root`` in the Cityscapes
    layout (train: 2 cities, val: 1 city) and return ``root`` as a Path.

    The same parameters always give the same files. When ``root`` already holds this set nothing is written;
    an older or partial synthetic set is replaced atomically (written to a temporary folder, then renamed),
    so an interrupted run never leaves half a set. A ``root`` holding anything else is left untouched.
    """
    root = Path(root)
    params = _params(root, num_train, num_val, size, seed)
    if _is_complete(root, params):
        return root
    if root.exists() and not root.is_dir():
        raise DLADenseError(f"cannot write the synthetic set to '{root}': it is a file; choose a folder")
    if root.is_dir() and not _is_synthetic(root):
        raise DLADenseError(
            f"'{root}' already holds files that are not a synthetic set (no {MARKER}); "
            "choose another folder or empty this one"
        )
    return write_folder_atomically(
        root, lambda folder: _write_set(folder, params), lambda folder: _is_complete(folder, params), "synthetic set"
    )
