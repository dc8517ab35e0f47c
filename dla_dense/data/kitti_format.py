"""The KITTI object text formats: ``label_2`` files (one object per line: type, truncated, occluded, alpha, 2D box,
dimensions h w l, location x y z, rotation_y, and a score in result files), result files written the same way,
and the camera matrix ``P2`` of a ``calib`` file. A line that cannot be read ends in one error naming the file, the
line and what is wrong with it."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from ..errors import DLADenseError

#: The object types of KITTI labels.
KITTI_TYPES = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc", "DontCare")
#: The numeric columns of a label line after its type (a result line adds ``SCORE``).
TRUNCATED, OCCLUDED, ALPHA, ROTATION_Y, SCORE = 0, 1, 2, 13, 14
BOX, DIMS, LOCATION = slice(3, 7), slice(7, 10), slice(10, 13)
#: The values of a result row's unused fields (what KITTI's tools read as "not given").
INVALID_ALPHA, INVALID_SIZE, INVALID_LOCATION = -10.0, -1.0, -1000.0


@dataclass(frozen=True)
class KittiObjects:
    """One image's objects as KITTI describes them, row by row: ``types`` (names), ``truncated [M]`` (0..1),
    ``occluded [M]`` (0 visible .. 3 unknown), ``alpha [M]`` (observation angle), ``boxes [M, 4]`` (x1, y1, x2, y2
    pixels), ``dims [M, 3]`` (h, w, l metres), ``locations [M, 3]`` (bottom centre x, y, z in the camera frame),
    ``rotation_y [M]`` and ``scores [M]`` (1 for ground truth)."""

    types: tuple[str, ...]
    truncated: np.ndarray
    occluded: np.ndarray
    alpha: np.ndarray
    boxes: np.ndarray
    dims: np.ndarray
    locations: np.ndarray
    rotation_y: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.types)

    @classmethod
    def empty(cls) -> KittiObjects:
        """No objects."""
        return cls.from_rows([], np.zeros((0, 15)))

    @classmethod
    def from_rows(cls, types: list[str] | tuple[str, ...], rows: np.ndarray) -> KittiObjects:
        """Objects of ``types`` and their numeric label columns ``rows [M, 14]`` or ``[M, 15]`` (with a score)."""
        rows = np.asarray(rows, np.float64).reshape(len(types), -1) if len(types) else np.zeros((0, 15))
        scores = rows[:, SCORE] if rows.shape[1] > SCORE else np.ones(len(types))
        return cls(
            types=tuple(types),
            truncated=rows[:, TRUNCATED],
            occluded=rows[:, OCCLUDED].astype(np.int64),
            alpha=rows[:, ALPHA],
            boxes=rows[:, BOX],
            dims=rows[:, DIMS],
            locations=rows[:, LOCATION],
            rotation_y=rows[:, ROTATION_Y],
            scores=scores,
        )

    def rows(self) -> np.ndarray:
        """The numeric columns ``[M, 15]`` (truncated ... rotation_y, score)."""
        columns = [self.truncated, self.occluded, self.alpha, self.boxes, self.dims, self.locations, self.rotation_y]
        widths = [1, 1, 1, 4, 3, 3, 1, 1]
        pairs = zip([*columns, self.scores], widths, strict=True)
        return np.concatenate([np.asarray(c, np.float64).reshape(len(self), w) for c, w in pairs], 1)

    def select(self, keep: np.ndarray) -> KittiObjects:
        """The objects where ``keep [M]`` (bools or indices) says."""
        keep = np.arange(len(self))[keep]
        values = {f.name: getattr(self, f.name)[keep] for f in fields(self) if f.name != "types"}
        return replace(self, types=tuple(self.types[i] for i in keep), **values)

    def geometry(self) -> dict[str, np.ndarray]:
        """The 3D boxes (``dims``, ``locations``, ``rotation_y``) for :mod:`dla_dense.ops.boxes3d`."""
        return {"dims": self.dims, "locations": self.locations, "rotation_y": self.rotation_y}


def parse_kitti_objects(text: str, source: str | os.PathLike, *, scores: bool = False) -> KittiObjects:
    """The objects of one KITTI label (``scores=False``: 15 columns, a 16th score allowed) or result file
    (``scores=True``: 16 columns) read from ``text``; ``source`` names the file in errors."""
    types, rows = [], []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        wanted = (16,) if scores else (15, 16)
        if len(parts) not in wanted:
            raise DLADenseError(
                f"{source}, line {number}: {len(parts)} columns, a KITTI {'result' if scores else 'label'} line has "
                f"{' or '.join(map(str, wanted))} (type, truncated, occluded, alpha, x1 y1 x2 y2, h w l, x y z, "
                "rotation_y" + (", score)" if scores else "[, score])")
            )
        bad = next((value for value in parts[1:] if not _is_number(value)), None)
        if bad is not None:
            raise DLADenseError(f"{source}, line {number}: '{bad}' is not a finite number; fix or remove the line")
        rows.append([float(value) for value in parts[1:]])
        types.append(parts[0])
    return KittiObjects.from_rows(types, np.array(rows, np.float64))


def _is_number(value: str) -> bool:
    """Whether ``value`` reads as a finite float."""
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def read_kitti_objects(path: str | os.PathLike, *, scores: bool = False) -> KittiObjects:
    """:func:`parse_kitti_objects` of the file ``path``."""
    return parse_kitti_objects(Path(path).read_text(), path, scores=scores)


def format_kitti_objects(objects: KittiObjects) -> str:
    """KITTI result lines of ``objects`` (16 columns; scores with 6 decimals, so ties are not made by rounding)."""
    lines = []
    for name, row in zip(objects.types, objects.rows(), strict=True):
        values = " ".join(f"{v:.4f}" for v in row[ALPHA:SCORE])
        lines.append(f"{name} {row[TRUNCATED]:.2f} {int(row[OCCLUDED])} {values} {row[SCORE]:.6f}\n")
    return "".join(lines)


def read_kitti_calib(path: str | os.PathLike) -> np.ndarray:
    """The camera matrix ``P2`` ``[3, 4]`` of a KITTI calib file (the line ``P2: 12 numbers``; a file holding just
    12 numbers, or 9 of a 3x3 matrix, also serves); one error naming the file and line when it cannot be read."""
    text = Path(path).read_text()
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if line.startswith("P2:"):
            return _matrix(line[3:].split(), f"{path}, line {number}")
    values = text.split()
    if any(line.split(":")[0].strip() in ("P0", "P1", "P3", "R0_rect") for line in lines if ":" in line):
        raise DLADenseError(f"{path}: no 'P2:' line; a KITTI calib file gives P2 (the camera of image_2)")
    return _matrix(values, str(path))


def _matrix(values: list[str], where: str) -> np.ndarray:
    """A ``[3, 4]`` camera matrix of 12 numbers, or of 9 (a 3x3 matrix; zero translation)."""
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        raise DLADenseError(f"{where}: the camera matrix must be numbers, found {' '.join(values[:12])}") from None
    if numbers.size == 9:
        return np.concatenate([numbers.reshape(3, 3), np.zeros((3, 1))], 1)
    if numbers.size != 12:
        raise DLADenseError(f"{where}: a camera matrix has 12 numbers (3x4 P2) or 9 (3x3), found {numbers.size}")
    return numbers.reshape(3, 4)
