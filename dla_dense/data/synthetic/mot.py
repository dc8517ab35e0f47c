"""Deterministic synthetic videos in the MOT Challenge layout (the tracking demo and test data).

Each sequence shows 3..8 objects of two classes that look alike within a class (pedestrians: upright figures,
MOT class 1; cars: wide boxes with wheels, MOT class 3) over a textured background. They move with changing
speeds, some faster than a quarter of their width per frame (where IoU-only association breaks), cross each
other in depth order (the hidden one's visibility drops) and enter and leave the frame. ``gt/gt.txt`` holds
``frame, id, left, top, width, height, 1, class, visibility`` for every object with a part inside the frame
(boxes may leave the image).

With ``appearance`` (the re-identification demo) every identity wears one of nine looks (a colour and a pattern,
drawn from the same set for both classes, so several identities share a look and a look is no class label), a
static pillar hides the objects passing behind it for several frames, and an object that leaves may come back
through the same edge a few frames later with its identity: where motion alone loses the object, its look can
find it again.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ._sets import write_once

MARKER = ".synthetic_mot_done"
_VERSION = 1
#: MOT class id and (width, height) range in pixels of each class, for a 288-pixel-wide frame.
_CLASSES = {"pedestrian": (1, (12, 18), (30, 44)), "car": (3, (38, 52), (18, 26))}
_PALETTE = {"pedestrian": ((60, 60, 200), (70, 50, 190)), "car": ((40, 160, 220), (50, 150, 210))}
#: The looks of the re-identification demo (BGR colour, pattern), shared by both classes.
_LOOKS = [(c, p) for c in ((40, 40, 210), (210, 120, 30), (40, 190, 60)) for p in ("plain", "band", "half")]


def _spawn(rng: np.random.Generator, width: int, height: int, inside: bool, appearance: bool = False) -> dict:
    name = "pedestrian" if rng.random() < 0.6 else "car"
    _, (w0, w1), (h0, h1) = _CLASSES[name]
    scale = width / 288
    w, h = rng.uniform(w0, w1) * scale, rng.uniform(h0, h1) * scale
    fast = rng.random() < 0.3
    speed = rng.uniform(0.3, 0.6) * w if fast else rng.uniform(0.05, 0.2) * w
    if inside:
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        angle = rng.uniform(0, 2 * np.pi)
    else:  # enter through the left or right edge
        left = rng.random() < 0.5
        x, y = (-w + 1 if left else width - 1), rng.uniform(0, height - h)
        angle = rng.uniform(-0.5, 0.5) + (0 if left else np.pi)
    if name == "car":
        angle = 0.0 if np.cos(angle) >= 0 else np.pi  # cars drive horizontally
    velocity = speed * np.array([np.cos(angle), np.sin(angle)])
    colour, pattern = (
        _LOOKS[int(rng.integers(len(_LOOKS)))] if appearance else (_PALETTE[name][int(rng.integers(2))], "plain")
    )
    return {
        "name": name,
        "box": np.array([x, y, w, h]),
        "v": velocity,
        "depth": rng.random(),
        "colour": colour,
        "pattern": pattern,
    }


def _pattern(image: np.ndarray, obj: dict, x0: int, y0: int, x1: int, y1: int) -> None:
    """The second colour of ``obj``'s look: a band across the middle or the lower half, in the colour's inverse."""
    if obj["pattern"] == "plain":
        return
    inverse = tuple(255 - c for c in obj["colour"])
    if obj["pattern"] == "band":
        mid, half = (y0 + y1) // 2, max(1, (y1 - y0) // 8)
        cv2.rectangle(image, (x0, mid - half), (x1, mid + half), inverse, -1)
    else:
        cv2.rectangle(image, (x0, (y0 + y1) // 2), (x1, y1), inverse, -1)


def _draw(mask: np.ndarray, image: np.ndarray | None, obj: dict) -> None:
    x, y, w, h = obj["box"]
    x0, y0, x1, y1 = (int(round(v)) for v in (x, y, x + w, y + h))
    target = [mask] if image is None else [mask, image]
    for canvas in target:
        colour = 1 if canvas is mask else obj["colour"]
        if obj["name"] == "pedestrian":
            head = max(2, int(w * 0.35))
            cx = (x0 + x1) // 2
            cv2.circle(canvas, (cx, y0 + head), head, colour, -1)
            cv2.rectangle(canvas, (x0, y0 + 2 * head), (x1, y1), colour, -1)
            if canvas is not mask:
                _pattern(canvas, obj, x0, y0 + 2 * head, x1, y1)
        else:
            cv2.rectangle(canvas, (x0, y0), (x1, y1 - max(2, int(h * 0.25))), colour, -1)
            if canvas is not mask:
                _pattern(canvas, obj, x0, y0, x1, y1 - max(2, int(h * 0.25)))
            r = max(2, int(h * 0.22))
            wheel = 0 if canvas is mask else (30, 30, 30)
            for wx in (x0 + r + 1, x1 - r - 1):
                cv2.circle(canvas, (wx, y1 - r), r, wheel if canvas is not mask else 1, -1)


def _sequence(
    rng: np.random.Generator, frames: int, height: int, width: int, appearance: bool = False
) -> tuple[list[np.ndarray], np.ndarray]:
    background = rng.integers(90, 150, (height // 8 + 1, width // 8 + 1, 3)).astype(np.uint8)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_CUBIC)
    objects = [_spawn(rng, width, height, True, appearance) for _ in range(int(rng.integers(3, 7)))]
    pillar = None
    if appearance:  # a static occluder, a fifth to a quarter of the frame wide, in front of everything
        pillar_width = int(rng.uniform(0.2, 0.25) * width)
        left = int(rng.uniform(0.25, 0.75) * width) - pillar_width // 2
        pillar = (left, left + pillar_width)
    away: list[tuple[int, dict]] = []  # (frame it comes back, object) of objects that left and return
    next_id = 1
    for obj in objects:
        obj["id"], next_id = next_id, next_id + 1
    images, rows = [], []
    for frame in range(1, frames + 1):
        for back in [a for a in away if a[0] == frame]:
            away.remove(back)
            objects.append(back[1])
        if len(objects) < 8 and (len(objects) < 3 or rng.random() < 0.12):
            obj = _spawn(rng, width, height, False, appearance)
            obj["id"], next_id = next_id, next_id + 1
            objects.append(obj)
        image = background.copy()
        image = np.clip(image.astype(np.int16) + rng.integers(-6, 7, image.shape), 0, 255).astype(np.uint8)
        owner = np.full((height, width), -1, np.int32)
        for k, obj in sorted(enumerate(objects), key=lambda item: item[1]["depth"]):
            mask = np.zeros((height, width), np.uint8)
            _draw(mask, image, obj)
            owner[mask > 0] = k
        if pillar is not None:
            image[:, pillar[0] : pillar[1]] = (105, 105, 105)
            image[:, pillar[0] : pillar[0] + 2] = image[:, pillar[1] - 2 : pillar[1]] = (70, 70, 70)
            owner[:, pillar[0] : pillar[1]] = -1
        for k, obj in enumerate(objects):
            x, y, w, h = obj["box"]
            full = np.zeros((height + 2 * 64, width + 2 * 64), np.uint8)
            shifted = dict(obj, box=np.array([x + 64, y + 64, w, h]))
            _draw(full, None, shifted)
            area = max(int(full.sum()), 1)
            visible = int((owner == k).sum()) / area
            if visible > 0:
                cls = _CLASSES[obj["name"]][0]
                rows.append([frame, obj["id"], x, y, w, h, 1, cls, round(min(visible, 1.0), 3)])
        images.append(image)
        for obj in objects:
            if rng.random() < 0.12:  # speed changes
                obj["v"] = obj["v"] * rng.uniform(0.5, 1.8)
            obj["box"][:2] += obj["v"]
            x, y, w, h = obj["box"]
            if obj["name"] == "pedestrian" and (y < 0 or y + h > height):
                obj["v"][1] = -obj["v"][1]
        inside = [o for o in objects if -o["box"][2] < o["box"][0] < width and -o["box"][3] < o["box"][1] < height]
        for obj in objects:
            left = all(obj is not o for o in inside)
            if appearance and left and rng.random() < 0.6:  # comes back through the same edge
                _turn_back(obj, width, height, rng.uniform(0.6, 1.2))
                away.append((frame + int(rng.integers(4, 12)), obj))
        objects = inside
    return images, np.array(rows, np.float64).reshape(-1, 9)


def _turn_back(obj: dict, width: int, height: int, factor: float) -> None:
    """Put ``obj``, which has just left the frame, on the edge it left by, moving inwards ``factor`` times as fast."""
    box, v = obj["box"], obj["v"] * factor
    for axis, size in ((0, width), (1, height)):
        if box[axis] >= size:
            box[axis], v[axis] = size - 1, -abs(v[axis])
        elif box[axis] <= -box[axis + 2]:
            box[axis], v[axis] = -box[axis + 2] + 1, abs(v[axis])
    obj["v"] = v


def synthetic_video(
    seed: int, frames: int, height: int, width: int, *, appearance: bool = False
) -> tuple[list[np.ndarray], np.ndarray]:
    """One synthetic sequence as the demo's: ``frames`` RGB uint8 images ``[height, width, 3]`` and its ground
    truth ``[M, 9]`` in ``gt.txt`` columns (object sizes scale with ``width``)."""
    images, rows = _sequence(np.random.default_rng(seed), frames, height, width, appearance)
    return [np.ascontiguousarray(image[..., ::-1]) for image in images], rows


def _write_set(folder: Path, params: dict) -> None:
    height, width = params["size"]
    for split, count, offset in (("train", params["num_train"], 0), ("val", params["num_val"], 1000)):
        for index in range(count):
            rng = np.random.default_rng([params["seed"], offset + index])
            images, rows = _sequence(rng, params["frames"], height, width, params.get("appearance", False))
            seq = folder / split / f"SYN-{index + 1:02d}"
            (seq / "img1").mkdir(parents=True)
            (seq / "gt").mkdir()
            for frame, image in enumerate(images, 1):
                cv2.imwrite(str(seq / "img1" / f"{frame:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            lines = [
                f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},1,{int(r[7])},{r[8]:.3f}"
                for r in rows
            ]
            (seq / "gt" / "gt.txt").write_text("\n".join(lines) + "\n")
            (seq / "seqinfo.ini").write_text(
                f"[Sequence]\nname=SYN-{index + 1:02d}\nimDir=img1\nframeRate=10\nseqLength={len(images)}\n"
                f"imWidth={width}\nimHeight={height}\nimExt=.jpg\n"
            )


def make_synthetic_mot(
    root: str | os.PathLike,
    *,
    num_train: int = 6,
    num_val: int = 3,
    frames: int = 40,
    size: tuple[int, int] = (160, 288),
    seed: int = 0,
    appearance: bool = False,
) -> Path:
    """Write ``num_train`` / ``num_val`` synthetic sequences of ``frames`` frames of ``size`` (H, W) under
    ``root/train`` and ``root/val`` in the MOT layout (classes pedestrian = 1, car = 3) and return ``root``;
    ``appearance``: the re-identification variant (see the module docstring). The same parameters always give the
    same files; an existing complete set is kept, a partial one replaced."""
    params = {
        "version": _VERSION,
        "num_train": int(num_train),
        "num_val": int(num_val),
        "frames": int(frames),
        "size": [int(size[0]), int(size[1])],
        "seed": int(seed),
    }
    if appearance:
        params["appearance"] = True
    return write_once(Path(root), params, marker=MARKER, write=lambda f: _write_set(f, params), what="synthetic MOT")
