"""KITTI tracking data read directly from its layout: ``<root>/training/image_02/<seq>/NNNNNN.png``,
``training/label_02/<seq>.txt`` (one object per line: frame, track id, then a KITTI object label with integer
truncation 0/1/2) and ``training/calib/<seq>.txt`` (one camera per sequence), and ``testing/image_02``,
``testing/calib`` (the zips of the benchmark unpacked into one folder).

Splits: ``train`` (every training sequence), ``train_half`` / ``val_half`` (CenterTrack's halves of each training
sequence: frames ``[0, n // 2 - 1]`` and ``[n // 2, n - 1]``, renumbered from 1) and ``test``. Objects as
CenterTrack's conversion: Pedestrian, Car and Cyclist are the trained classes; Van and Truck are ignore regions of
Car, Person (sitting) of Pedestrian, DontCare of every class; Tram and Misc are background. Each frame carries the
3D fields of its objects (``alpha``, ``dims``, ``locations``, ``rotation_y``) and its sequence's camera ``calib``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DLADenseError
from .kitti import IMAGE_SUFFIXES, KITTI_CLASSES, NEIGHBOURS
from .kitti_format import KITTI_TYPES, KittiObjects, parse_kitti_objects, read_kitti_calib
from .video import Frame

#: KITTI tracking's type names beyond the object benchmark's: ``Person`` is a person sitting.
TRACKING_TYPES = (*KITTI_TYPES, "Person")
#: Types drawn as ignore regions in a trained class's channel (CenterTrack's ``cat_ids``).
TRACKING_NEIGHBOURS = {**NEIGHBOURS, "Person": "Pedestrian"}
LABEL_LAYOUT = "frame track_id type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y"


@dataclass(frozen=True)
class KittiTrackTruth:
    """One sequence's labels for scoring: ``frames [R]`` (0-based in the split), ``track_ids [R]``, the labelled
    ``objects`` row by row and the split's ``length``."""

    frames: np.ndarray
    track_ids: np.ndarray
    objects: KittiObjects
    length: int

    def text(self) -> str:
        """The sequence's ``label_02`` lines (frames 0-based within the split, as CenterTrack's half labels)."""
        return format_tracking_labels(self.frames, self.track_ids, self.objects)


def format_tracking_labels(frames: np.ndarray, track_ids: np.ndarray, objects: KittiObjects) -> str:
    """``label_02`` lines of ``objects`` in ``frames`` with ``track_ids`` (truncation and occlusion as integers)."""
    o = objects
    return "".join(
        f"{int(f)} {int(t)} {name} {int(tr)} {int(oc)} {a:.6f} "
        + " ".join(f"{x:.6f}" for x in (*box, *dims, *loc, ry))
        + "\n"
        for f, t, name, tr, oc, a, box, dims, loc, ry in zip(
            frames,
            track_ids,
            o.types,
            o.truncated,
            o.occluded,
            o.alpha,
            o.boxes,
            o.dims,
            o.locations,
            o.rotation_y,
            strict=True,
        )
    )


def kitti_tracking_split(split: str) -> tuple[str, str | None]:
    """``(folder, half)`` of a split name: ``train_half`` / ``val_half`` are the halves of ``training``."""
    if split in ("test", "testing"):
        return "testing", None
    if split in ("train", "training"):
        return "training", None
    if split in ("train_half", "val_half"):
        return "training", split.removesuffix("_half")
    raise DLADenseError(f"KITTI tracking split '{split}': use train, train_half, val_half or test")


def parse_tracking_labels(path: Path) -> tuple[np.ndarray, np.ndarray, KittiObjects]:
    """``(frames [R], track_ids [R], objects)`` of a ``label_02`` file, checked line by line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DLADenseError(f"cannot read the KITTI tracking labels '{path}' ({e})") from None
    frames, tracks, objects = [], [], []  # objects: each line's KITTI object label, "" for a blank line
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            objects.append("")  # kept, so that the object parser's errors name the file's line numbers
            continue
        where = f"{path}, line {number}"
        if len(parts) not in (17, 18):
            raise DLADenseError(f"{where}: {len(parts)} columns; a KITTI tracking label line has 17 ({LABEL_LAYOUT})")
        if parts[2] not in TRACKING_TYPES:
            raise DLADenseError(f"{where}: unknown type '{parts[2]}'; KITTI's are {', '.join(TRACKING_TYPES)}")
        try:
            frame, track = float(parts[0]), float(parts[1])
        except ValueError:
            raise DLADenseError(f"{where}: a value is not a number; the line is '{LABEL_LAYOUT}'") from None
        if frame != int(frame) or frame < 0 or track != int(track) or track < -1:
            raise DLADenseError(
                f"{where}: frame {parts[0]} and track id {parts[1]} must be integers (frames from 0, ids from 0, "
                "-1 for DontCare)"
            )
        frames.append(int(frame))
        tracks.append(int(track))
        objects.append(" ".join(parts[2:17]))
    parsed = parse_kitti_objects("\n".join(objects), path)
    return np.array(frames, np.int64), np.array(tracks, np.int64), parsed


def _frame_objects(objects: KittiObjects, track_ids: np.ndarray, classes: tuple[str, ...]) -> dict[str, object]:
    """:class:`Frame` objects of one frame's labels: the trained classes' and the ignore regions."""
    labels, ignore, keep = [], [], []
    for k, name in enumerate(objects.types):
        if name in classes:
            labels.append(classes.index(name))
            ignore.append(False)
        elif name == "DontCare" or TRACKING_NEIGHBOURS.get(name) in classes:
            labels.append(-1 if name == "DontCare" else classes.index(TRACKING_NEIGHBOURS[name]))
            ignore.append(True)
        else:
            continue
        keep.append(k)
    kept = objects.select(np.array(keep, np.int64))
    ignored = np.array(ignore, bool)
    return {
        "boxes": kept.boxes.astype(np.float32),
        "labels": np.array(labels, np.int64),
        "ignore": ignored,
        "crowd": np.zeros(len(keep), bool),
        "track_ids": np.where(ignored, -1, track_ids[keep]).astype(np.int64),
        "object_fields": {
            "alpha": kept.alpha,
            "dims": kept.dims.astype(np.float32),
            "locations": kept.locations.astype(np.float32),
            "rotation_y": kept.rotation_y,
            "truncated": kept.truncated,
            "occluded": kept.occluded,
        },
    }


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_kitti_tracking(
    root: Path, split: str, *, classes: tuple[str, ...] = KITTI_CLASSES, sequences: str = "*"
) -> tuple[list[Frame], dict[str, KittiTrackTruth]]:
    """The frames of ``split`` (see the module docstring) of the sequences matching ``sequences`` under ``root``,
    and each sequence's labels for scoring (none on ``test``)."""
    folder, half = kitti_tracking_split(split)
    base = Path(root) / folder
    image_root = base / "image_02"
    if not image_root.is_dir():
        raise DLADenseError(
            f"KITTI tracking data: no folder {image_root}; unpack data_tracking_image_2, label_2 and calib into "
            f"{root} (giving {folder}/image_02, label_02, calib) or make the demo set"
        )
    frames: list[Frame] = []
    truth: dict[str, KittiTrackTruth] = {}
    names = [p.name for p in sorted(image_root.iterdir()) if p.is_dir() and fnmatch.fnmatch(p.name, sequences)]
    for seq in names:
        images = _images(image_root / seq)
        keep = range(len(images)) if half is None else _ct_half(len(images), half)
        calib_path = base / "calib" / f"{seq}.txt"
        if not calib_path.is_file():
            raise DLADenseError(f"KITTI tracking sequence {seq}: no calib file {calib_path} (one camera per sequence)")
        calib = read_kitti_calib(calib_path)
        labelled = folder == "training"
        if labelled:
            label_path = base / "label_02" / f"{seq}.txt"
            if not label_path.is_file():
                raise DLADenseError(f"KITTI tracking sequence {seq}: no labels {label_path}")
            frame_of, ids, labelled_objects = parse_tracking_labels(label_path)
            inside = (frame_of >= keep.start) & (frame_of < keep.stop)
            past = frame_of >= len(images)
            if past.any():
                bad = int(frame_of[past][0])
                raise DLADenseError(
                    f"{label_path}: frame {bad} has labels but the sequence has {len(images)} images "
                    f"(frames 0..{len(images) - 1})"
                )
            truth[seq] = KittiTrackTruth(
                frame_of[inside] - keep.start, ids[inside], labelled_objects.select(inside), len(keep)
            )
        for index in keep:
            objects = {}
            if labelled:
                here = frame_of == index
                objects = _frame_objects(labelled_objects.select(here), ids[here], tuple(classes))
            frames.append(Frame(images[index], seq, index - keep.start + 1, **objects, frame_fields={"calib": calib}))
    if not frames:
        raise DLADenseError(f"no KITTI tracking sequence matching '{sequences}' with images under {image_root}")
    return frames, truth


def _ct_half(length: int, half: str) -> range:
    """CenterTrack's KITTI halves: frames ``[0, n // 2 - 1]`` (train) and ``[n // 2, n - 1]`` (val)."""
    return range(0, length // 2) if half == "train" else range(length // 2, length)
