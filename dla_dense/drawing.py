"""Readable pictures of predictions: one colour per class, labels on a filled background sized to the image
that do not cover each other, skeletons, and a legend beside segmentation overlays."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from matplotlib import colormaps, font_manager
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import draw_bounding_boxes, draw_keypoints

Colour = tuple[int, int, int]


def class_colours(count: int) -> list[Colour]:
    """``count`` distinct RGB colours, one per class (matplotlib's ``tab20``, then ``hsv`` steps)."""
    base = [tuple(int(round(255 * v)) for v in colormaps["tab20"](i)[:3]) for i in range(0, 20, 2)]
    base += [tuple(int(round(255 * v)) for v in colormaps["tab20"](i)[:3]) for i in range(1, 20, 2)]
    extra = [tuple(int(round(255 * v)) for v in colormaps["hsv"](i / max(1, count - 20))[:3]) for i in range(count)]
    return (base + extra)[:count]


def font_size_for(height: int, width: int) -> int:
    """Label text height in pixels for an image: 3.5 % of its longer side, between 11 and 40."""
    return int(np.clip(round(0.035 * max(height, width)), 11, 40))


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def _text_colour(background: Colour) -> Colour:
    luminance = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luminance > 140 else (255, 255, 255)


def _free_spot(rect: list[float], taken: list[list[float]], height: int) -> list[float]:
    """Move ``rect`` [x1, y1, x2, y2] down past the label rectangles it overlaps (at most 8 steps)."""
    for _ in range(8):
        hit = next((t for t in taken if rect[0] < t[2] and t[0] < rect[2] and rect[1] < t[3] and t[1] < rect[3]), None)
        if hit is None or hit[3] + (rect[3] - rect[1]) > height:
            break
        rect = [rect[0], hit[3], rect[2], hit[3] + rect[3] - rect[1]]
    return rect


def _ordered(boxes: np.ndarray) -> torch.Tensor:
    """``boxes [K, 4]`` as float32 x1y1x2y2 with ``x1 <= x2``, ``y1 <= y2`` (an early model's box may be inverted)."""
    b = torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4))
    return torch.cat([torch.minimum(b[:, :2], b[:, 2:]), torch.maximum(b[:, :2], b[:, 2:])], 1)


def draw_labels(image: np.ndarray, boxes: np.ndarray, texts: Sequence[str], colours: Sequence[Colour]) -> np.ndarray:
    """Draw ``texts`` on filled rectangles of ``colours`` at the top-left corner of ``boxes`` [K, 4] (above the
    box where there is room), each moved down past the labels already placed so that none covers another."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    height, width = image.shape[:2]
    font = _font(font_size_for(height, width))
    pad = max(1, font.size // 6)
    taken: list[list[float]] = []
    for (x1, y1, _, _), text, colour in zip(boxes.tolist(), texts, colours, strict=True):
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        w, h = right - left + 2 * pad, bottom - top + 2 * pad
        x = min(max(0.0, x1), max(0.0, width - w))
        y = y1 - h if y1 - h >= 0 else max(0.0, y1)
        rect = _free_spot([x, y, x + w, y + h], taken, height)
        taken.append(rect)
        draw.rectangle(rect, fill=colour)
        draw.text((rect[0] + pad - left, rect[1] + pad - top), text, fill=_text_colour(colour), font=font)
    return np.asarray(canvas)


def draw_detections(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    class_names: Sequence[str],
    *,
    keypoints: np.ndarray | None = None,
    skeleton: Sequence[tuple[int, int]] = (),
) -> np.ndarray:
    """RGB uint8 ``[H, W, 3]``: ``image`` with ``boxes`` [K, 4] (x1y1x2y2) in their class's colour, labels
    ``"<class> <score>"`` (:func:`draw_labels`) and, with ``keypoints`` [K, J, 2 or 3] (x, y[, score]), the joints
    joined by ``skeleton`` (torchvision's ``draw_bounding_boxes`` / ``draw_keypoints``)."""
    height, width = image.shape[:2]
    if not len(boxes):
        return image.copy()
    palette = class_colours(len(class_names))
    colours = [palette[int(c)] for c in labels]
    line = max(2, round(max(height, width) / 320))
    canvas = draw_bounding_boxes(
        torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1),
        _ordered(boxes),
        colors=colours,
        width=line,
    )
    if keypoints is not None and len(keypoints):
        points = torch.as_tensor(keypoints, dtype=torch.float32)
        for person, colour in zip(points, colours, strict=True):
            canvas = draw_keypoints(
                canvas,
                person[None, :, :2],
                connectivity=list(skeleton),
                colors=colour,
                radius=line + 1,
                width=line,
            )
    texts = [f"{class_names[int(c)]} {s:.2f}" for c, s in zip(labels, scores, strict=True)]
    return draw_labels(canvas.permute(1, 2, 0).numpy(), np.asarray(boxes), texts, colours)


def add_legend(image: np.ndarray, entries: Sequence[tuple[str, Colour]]) -> np.ndarray:
    """``image`` with a white panel on its right listing ``entries`` (name, colour) as colour swatches and
    names, in as many columns as the image height needs."""
    if not entries:
        return image
    height = image.shape[0]
    font = _font(font_size_for(*image.shape[:2]))
    row = round(font.size * 1.5)
    per_column = max(1, (height - row // 2) // row)
    columns = [entries[i : i + per_column] for i in range(0, len(entries), per_column)]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    column_width = row + max(probe.textlength(name, font=font) for name, _ in entries) + font.size
    panel = Image.new("RGB", (int(column_width * len(columns)) + font.size // 2, height), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    for c, column in enumerate(columns):
        x = int(c * column_width) + font.size // 2
        for r, (name, colour) in enumerate(column):
            y = row // 2 + r * row
            draw.rectangle([x, y, x + font.size, y + font.size], fill=tuple(colour), outline=(0, 0, 0))
            draw.text((x + round(font.size * 1.4), y + font.size // 2), name, fill=(0, 0, 0), font=font, anchor="lm")
    return np.concatenate([image, np.asarray(panel)], axis=1)


def draw_text_block(image: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """``image`` with ``lines`` on a white panel in its top-left corner (text sized to the image)."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    font = _font(font_size_for(*image.shape[:2]))
    pad, row = max(2, font.size // 3), round(font.size * 1.3)
    width = max(draw.textlength(line, font=font) for line in lines) if lines else 0
    draw.rectangle([0, 0, width + 2 * pad, row * len(lines) + 2 * pad], fill=(255, 255, 255))
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * row), line, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)


def track_colour(track_id: int) -> Colour:
    """A stable colour of a track id (the same id has the same colour in every frame)."""
    palette = class_colours(20)
    return palette[(int(track_id) * 7) % len(palette)]


def draw_tracks(
    image: np.ndarray,
    boxes: np.ndarray,
    track_ids: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    trails: dict[int, list[tuple[float, float]]] | None = None,
) -> np.ndarray:
    """RGB uint8 ``[H, W, 3]``: ``image`` with ``boxes [K, 4]`` in the colour of their track, labels ``"<class>
    #<id>"`` and each track's recent centres (``trails``: id -> points, oldest first) as a line."""
    height, width = image.shape[:2]
    line = max(2, round(max(height, width) / 320))
    canvas = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(canvas)
    for track_id, points in (trails or {}).items():
        if len(points) > 1:
            draw.line([tuple(p) for p in points], fill=track_colour(track_id), width=line)
    image = np.array(canvas)  # a writable copy: torch.from_numpy warns on PIL's read-only buffer
    if not len(boxes):
        return image
    colours = [track_colour(i) for i in track_ids]
    drawn = draw_bounding_boxes(
        torch.from_numpy(image).permute(2, 0, 1),
        _ordered(boxes),
        colors=colours,
        width=line,
    )
    texts = [f"{class_names[int(c)]} #{int(i)}" for c, i in zip(labels, track_ids, strict=True)]
    return draw_labels(drawn.permute(1, 2, 0).numpy(), np.asarray(boxes), texts, colours)
