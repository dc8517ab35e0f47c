"""Deterministic synthetic street scenes written in the KITTI object layout (the 3D demo's and the tests' data).

Each image is a camera at a random height (1.4-1.9 m) with a random focal length and principal point (a full
``P2`` with KITTI-like translation) above a textured ground plane; 1-6 cuboids of Cars, Pedestrians and Cyclists
(and sometimes a Van) stand on the ground at 5-40 m with random yaw, shaded per face and drawn far to near, so
nearer ones occlude farther ones. Labels are KITTI's: the 2D box is the projected cuboid clipped to the image,
truncation the part of that box outside the image, occlusion 0-2 from the visible fraction of the object's pixels,
``alpha = rotation_y - atan2(x, z)``; a far, small object becomes a ``DontCare`` region.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ...ops.boxes3d import bev_overlaps, box3d_corners
from ...ops.ddd import project
from ..kitti_format import KittiObjects, format_kitti_objects
from ..kitti_tracking import format_tracking_labels
from ._sets import write_once

MARKER = ".synthetic_kitti_done"
TRACKING_MARKER = ".synthetic_kitti_tracking_done"
_VERSION = 1
#: Speed range (m per frame) of each drawn type when it moves through a video.
SPEEDS = {"Car": (0.3, 0.9), "Pedestrian": (0.03, 0.08), "Cyclist": (0.12, 0.3), "Van": (0.3, 0.8)}
#: Mean (h, w, l) in metres and colour (RGB) of each drawn type.
TYPES = {
    "Car": ((1.53, 1.63, 3.88), (200, 40, 40)),
    "Pedestrian": ((1.76, 0.66, 0.84), (40, 160, 60)),
    "Cyclist": ((1.74, 0.60, 1.76), (50, 70, 210)),
    "Van": ((2.20, 1.90, 5.00), (210, 180, 40)),
}
_TYPE_P = np.array([0.55, 0.2, 0.17, 0.08])
#: The default focal lengths, as fractions of the image width (KITTI's is 0.58).
DEFAULT_FOCAL = (0.5, 0.65)
#: The faces of a cuboid (corner indices of :func:`~dla_dense.ops.boxes3d.box3d_corners`), front first.
FACES = ((0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7), (4, 5, 6, 7), (0, 1, 2, 3))
_SHADE = (1.0, 0.75, 0.6, 0.8, 0.9, 0.5)


def _camera(
    rng: np.random.Generator, height: int, width: int, focal_range: tuple[float, float]
) -> tuple[np.ndarray, float]:
    """A random ``P2`` ``[3, 4]`` for an image of ``height`` x ``width`` (focal length ``focal_range`` times the
    width) and the camera's height above ground."""
    focal = width * rng.uniform(*focal_range)
    cx, cy = width / 2 + width * rng.uniform(-0.03, 0.03), height * rng.uniform(0.42, 0.52)
    p2 = np.array([[focal, 0, cx, 0.06 * focal], [0, focal, cy, rng.uniform(-0.5, 0.5)], [0, 0, 1, 0.005]])
    return p2, float(rng.uniform(1.4, 1.9))


def _background(rng: np.random.Generator, height: int, width: int, p2: np.ndarray, cam_h: float) -> np.ndarray:
    """Sky above the horizon, a noisy ground with lane-like stripes below."""
    horizon = int(np.clip(p2[1, 2], 1, height - 1))
    image = np.empty((height, width, 3), np.float32)
    sky = np.linspace(200, 150, horizon)[:, None, None] * np.array([0.8, 0.9, 1.0])
    image[:horizon] = sky
    rows = np.arange(horizon, height)[:, None, None]
    image[horizon:] = (90 + 40 * (rows - horizon) / max(1, height - horizon)) * np.array([1.0, 0.97, 0.9])
    image += rng.normal(0, 6, image.shape)
    for x in (-3.5, 0.0, 3.5):  # stripes on the ground from 3 m to 60 m
        near, far = project(np.array([[x, cam_h, 3.0], [x, cam_h, 60.0]]), p2)
        cv2.line(image, tuple(int(v) for v in near), tuple(int(v) for v in far), (230, 230, 220), 1, cv2.LINE_AA)
    return image


def _objects(rng: np.random.Generator, cam_h: float, depth_range: tuple[float, float], spread: float) -> list[dict]:
    """1-6 objects on the ground at depths ``depth_range``, up to ``spread`` times 0.45 of their depth to either
    side, apart from each other in the bird's-eye view."""
    found: list[dict] = []
    for _ in range(int(rng.integers(1, 7)) * 4):
        if len(found) >= 6:
            break
        kind = list(TYPES)[rng.choice(len(TYPES), p=_TYPE_P)]
        dims = np.array(TYPES[kind][0]) * rng.uniform(0.9, 1.1, 3)
        z = rng.uniform(*depth_range)
        box = {
            "type": kind,
            "dims": dims,
            "location": np.array([rng.uniform(-0.45, 0.45) * z * spread, cam_h, z]),
            "rotation_y": float(rng.uniform(-np.pi, np.pi)),
        }
        geometry = {"dims": box["dims"][None], "locations": box["location"][None], "rotation_y": [box["rotation_y"]]}
        if any(
            bev_overlaps(
                geometry, {"dims": o["dims"][None], "locations": o["location"][None], "rotation_y": [o["rotation_y"]]}
            )[0, 0]
            > 0
            for o in found
        ):
            continue
        found.append(box)
    return found


def _render(image: np.ndarray, objects: list[dict], p2: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Draw ``objects`` far to near into ``image``; returns the id map (object index + 1) and each object's
    projected corners ``[8, 2]``."""
    height, width = image.shape[:2]
    ids = np.zeros((height, width), np.int32)
    corners2d = []
    order = sorted(range(len(objects)), key=lambda i: -objects[i]["location"][2])
    for i in range(len(objects)):
        o = objects[i]
        corners = box3d_corners(o["dims"][None], o["location"][None], [o["rotation_y"]])[0]
        corners2d.append(project(corners, p2))
    for i in order:
        o = objects[i]
        corners = box3d_corners(o["dims"][None], o["location"][None], [o["rotation_y"]])[0]
        faces = sorted(range(len(FACES)), key=lambda f: -corners[list(FACES[f])][:, 2].mean())
        colour = np.array(TYPES[o["type"]][1], np.float32)
        for f in faces:
            polygon = np.round(corners2d[i][list(FACES[f])]).astype(np.int32)
            cv2.fillPoly(image, [polygon], tuple(float(c) for c in colour * _SHADE[f]), cv2.LINE_AA)
            cv2.fillPoly(ids, [polygon], i + 1)
        front = np.round(corners2d[i][[0, 1, 5, 4]]).astype(np.int32)
        cv2.polylines(image, [front], True, (250, 250, 250), 1, cv2.LINE_AA)  # the heading face, outlined
    return ids, corners2d


def _labels(
    objects: list[dict], ids: np.ndarray, corners2d: list[np.ndarray], p2: np.ndarray
) -> tuple[KittiObjects, list[int]]:
    """KITTI labels of the drawn ``objects`` (left out: those off the image or lower than 6 px) and the index of
    each labelled object."""
    height, width = ids.shape
    types, rows, kept = [], [], []
    for i, o in enumerate(objects):
        full = np.concatenate([corners2d[i].min(0), corners2d[i].max(0)])
        box = np.clip(full, 0, [width - 1, height - 1, width - 1, height - 1])
        box_area = (box[2] - box[0]) * (box[3] - box[1])
        if box[3] - box[1] < 6 or box[2] - box[0] < 2:
            continue
        truncated = 1.0 - box_area / max((full[2] - full[0]) * (full[3] - full[1]), 1e-6)
        mask = np.zeros_like(ids, np.uint8)
        hull = cv2.convexHull(np.round(corners2d[i]).astype(np.int32))
        cv2.fillPoly(mask, [hull], 1)
        visible = (ids == i + 1).sum() / max(mask.sum(), 1)
        occluded = 0 if visible > 0.8 else 1 if visible > 0.4 else 2
        x, _, z = o["location"]
        alpha = (o["rotation_y"] - np.arctan2(x, z) + np.pi) % (2 * np.pi) - np.pi
        kind = o["type"]
        dims, location, ry = o["dims"], o["location"], o["rotation_y"]
        if z > 35 and box[3] - box[1] < 15:  # far and small: a region not to be scored
            kind, alpha, dims, location, ry = "DontCare", -10.0, -np.ones(3), -1000 * np.ones(3), -10.0
            truncated, occluded = -1.0, -1
        types.append(kind)
        rows.append([truncated, occluded, alpha, *box, *dims, *location, ry, 1.0])
        kept.append(i)
    return KittiObjects.from_rows(types, np.array(rows).reshape(len(rows), 15)), kept


def _calib_text(p2: np.ndarray) -> str:
    """A KITTI calib file whose ``P2`` is ``p2`` (P0, P1, P3 the same camera; identity rectification)."""
    line = " ".join(f"{v:.12e}" for v in p2.reshape(-1))
    eye = " ".join(f"{v:.12e}" for v in np.eye(3).reshape(-1))
    zero = " ".join(f"{v:.12e}" for v in np.hstack([np.eye(3), np.zeros((3, 1))]).reshape(-1))
    lines = [f"P0: {line}", f"P1: {line}", f"P2: {line}", f"P3: {line}", f"R0_rect: {eye}", f"Tr_velo_to_cam: {zero}"]
    return "\n".join([*lines, f"Tr_imu_to_velo: {zero}"]) + "\n"


def _write_set(folder: Path, params: dict) -> None:
    height, width = params["size"]
    training = folder / "training"
    for sub in ("image_2", "label_2", "calib"):
        (training / sub).mkdir(parents=True)
    rng = np.random.default_rng(params["seed"])
    count = params["num_train"] + params["num_val"]
    focal_range, depth_range = tuple(params["focal_range"]), tuple(params["depth_range"])
    spread = (DEFAULT_FOCAL[0] + DEFAULT_FOCAL[1]) / (focal_range[0] + focal_range[1])
    for index in range(count):
        p2, cam_h = _camera(rng, height, width, focal_range)
        image = _background(rng, height, width, p2, cam_h)
        objects = _objects(rng, cam_h, depth_range, spread)
        ids, corners2d = _render(image, objects, p2)
        name = f"{index:06d}"
        rgb = np.clip(image, 0, 255).astype(np.uint8)
        cv2.imwrite(str(training / "image_2" / f"{name}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        labels, _ = _labels(objects, ids, corners2d, p2)
        text = "".join(line.rsplit(" ", 1)[0] + "\n" for line in format_kitti_objects(labels).splitlines())
        (training / "label_2" / f"{name}.txt").write_text(text)
        (training / "calib" / f"{name}.txt").write_text(_calib_text(p2))
    sets = folder / "ImageSets"
    sets.mkdir()
    (sets / "train.txt").write_text("".join(f"{i:06d}\n" for i in range(params["num_train"])))
    (sets / "val.txt").write_text("".join(f"{i:06d}\n" for i in range(params["num_train"], count)))


def _params(
    counts: dict[str, int],
    size: tuple[int, int],
    seed: int,
    focal_range: tuple[float, float],
    depth_range: tuple[float, float],
) -> dict[str, Any]:
    """What a set's marker records: the version, ``counts`` (of images, or of videos and frames), the image size, the
    seed and the camera and depth ranges."""
    numbers = {name: int(count) for name, count in counts.items()}
    ranges = {"focal_range": [float(v) for v in focal_range], "depth_range": [float(v) for v in depth_range]}
    return {"version": _VERSION, **numbers, "size": [int(size[0]), int(size[1])], "seed": int(seed), **ranges}


def make_synthetic_kitti(
    root: str | os.PathLike,
    *,
    num_train: int = 200,
    num_val: int = 40,
    size: tuple[int, int] = (128, 416),
    seed: int = 0,
    focal_range: tuple[float, float] = DEFAULT_FOCAL,
    depth_range: tuple[float, float] = (5.0, 40.0),
) -> Path:
    """Write a synthetic KITTI object set of images ``size`` (H, W) under ``root`` and return ``root``:
    ``training/{image_2,label_2,calib}/NNNNNN.*`` and ``ImageSets/{train,val}.txt`` (ids 0.. for training, then
    validation). Focal lengths are ``focal_range`` times the width (KITTI's camera: 0.58), objects stand at
    ``depth_range`` metres, spread sideways in proportion to the field of view. The same parameters always give
    the same files; a complete set is kept, an older or partial one
    replaced atomically, a folder holding anything else refused."""
    params = _params({"num_train": num_train, "num_val": num_val}, size, seed, focal_range, depth_range)
    return write_once(Path(root), params, marker=MARKER, write=lambda f: _write_set(f, params), what="synthetic KITTI")


def _tracking_text(frame: int, labels: KittiObjects, kept: list[int]) -> str:
    """The ``label_02`` lines of one frame's ``labels`` (track id: the object's index, -1 for DontCare), with
    KITTI tracking's integer truncation: 0 inside the image, 1 partly out, 2 mostly out."""
    dont_care = np.array([t == "DontCare" for t in labels.types], bool)
    levels = np.where(labels.truncated < 0.01, 0, np.where(labels.truncated < 0.5, 1, 2))
    leveled = replace(labels, truncated=np.where(dont_care, -1, levels).astype(np.float64))
    ids = np.where(dont_care, -1, np.array(kept, np.int64))
    return format_tracking_labels(np.full(len(labels), frame), ids, leveled)


def _write_videos(folder: Path, params: dict) -> None:
    height, width = params["size"]
    training = folder / "training"
    for sub in ("image_02", "label_02", "calib"):
        (training / sub).mkdir(parents=True)
    rng = np.random.default_rng(params["seed"])
    focal_range, depth_range = tuple(params["focal_range"]), tuple(params["depth_range"])
    spread = (DEFAULT_FOCAL[0] + DEFAULT_FOCAL[1]) / (focal_range[0] + focal_range[1])
    for video in range(params["videos"]):
        seq = f"{video:04d}"
        p2, cam_h = _camera(rng, height, width, focal_range)
        background = _background(rng, height, width, p2, cam_h)
        objects = _objects(rng, cam_h, depth_range, spread)
        for o in objects:
            o["speed"] = rng.uniform(*SPEEDS[o["type"]]) * rng.choice([-1.0, 1.0])
        (training / "image_02" / seq).mkdir()
        lines = []
        for frame in range(params["frames"]):
            image = background + rng.normal(0, 2, background.shape)
            ids, corners2d = _render(image, objects, p2)
            rgb = np.clip(image, 0, 255).astype(np.uint8)
            cv2.imwrite(str(training / "image_02" / seq / f"{frame:06d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            labels, kept = _labels(objects, ids, corners2d, p2)
            lines.append(_tracking_text(frame, labels, kept))
            for o in objects:  # along the heading, on the ground
                o["location"] = o["location"] + o["speed"] * np.array(
                    [np.cos(o["rotation_y"]), 0, -np.sin(o["rotation_y"])]
                )
        (training / "label_02" / f"{seq}.txt").write_text("".join(lines))
        (training / "calib" / f"{seq}.txt").write_text(_calib_text(p2))


def make_synthetic_kitti_tracking(
    root: str | os.PathLike,
    *,
    videos: int = 8,
    frames: int = 40,
    size: tuple[int, int] = (128, 416),
    seed: int = 0,
    focal_range: tuple[float, float] = DEFAULT_FOCAL,
    depth_range: tuple[float, float] = (5.0, 40.0),
) -> Path:
    """Write synthetic KITTI tracking videos of ``frames`` images ``size`` (H, W) under ``root`` and return
    ``root``: ``training/{image_02/<seq>/NNNNNN.png, label_02/<seq>.txt, calib/<seq>.txt}``. Each video is one
    camera (as :func:`make_synthetic_kitti` draws them) watching its objects move along their heading at their
    type's speed, forwards or backwards; an object keeps its track id while it is drawn. The same parameters always
    give the same files, written once and atomically (as :func:`make_synthetic_kitti`)."""
    params = _params({"videos": videos, "frames": frames}, size, seed, focal_range, depth_range)
    return write_once(
        Path(root),
        params,
        marker=TRACKING_MARKER,
        write=lambda f: _write_videos(f, params),
        what="synthetic KITTI tracking",
    )
