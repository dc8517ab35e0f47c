"""The result of monocular 3D detection: 3D boxes in the camera frame with their 2D boxes, as KITTI rows, JSON, and a
picture of the projected cuboids beside a bird's-eye view."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from ..data.kitti_format import format_kitti_objects
from ..drawing import class_colours, draw_labels, track_colour
from ..evaluation.kitti import detections_to_kitti
from ..evaluation.kitti_tracking import tracking_lines
from ..ops.boxes3d import bev_rectangles, box3d_corners
from ..ops.ddd import project
from .results import DrawOptions, ScoredResult, _carry

#: The cuboid faces drawn, the front (heading) face first, and the bird's-eye view's reach in metres.
_FACES = ((0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7))
BEV_RANGE = 50.0


@dataclass
class Det3dResult(ScoredResult):
    """3D detections of ``image``, best first: ``boxes [K, 4]`` (2D, image pixels), ``scores [K]``, ``labels [K]``
    into ``class_names``, ``alpha [K]``, ``dims [K, 3]`` (h, w, l metres), ``locations [K, 3]`` (bottom centre in the
    camera frame), ``rotation_y [K]``; ``calib`` ``[3, 4]`` is the camera they were placed with. ``boxes3d`` is
    ``[K, 7]`` (x, y, z, l, w, h, rotation_y)."""

    image: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    alpha: np.ndarray
    dims: np.ndarray
    locations: np.ndarray
    rotation_y: np.ndarray
    calib: np.ndarray
    score_thr: float = 0.3

    noun = "3D boxes"
    #: The fields with one entry per detection.
    per_object = ("boxes", "scores", "labels", "alpha", "dims", "locations", "rotation_y")

    @property
    def boxes3d(self) -> np.ndarray:
        """``[K, 7]``: x, y, z (bottom centre), l, w, h, rotation_y."""
        dims = self.dims.reshape(-1, 3)
        return np.concatenate([self.locations.reshape(-1, 3), dims[:, [2, 1, 0]], self.rotation_y[:, None]], 1)

    def above(self, score_thr: float) -> Det3dResult:
        """The detections scoring at least ``score_thr``."""
        return self._select(self.scores >= score_thr)

    def _select(self, keep: np.ndarray) -> Det3dResult:
        return _carry(self, replace(self, **{name: getattr(self, name)[keep] for name in self.per_object}))

    def fields_of(self) -> dict[str, np.ndarray]:
        """The detections as named fields."""
        return {name: getattr(self, name) for name in self.per_object}

    def colours(self, shown: Det3dResult) -> list[tuple[int, int, int]]:
        """The colour of each of ``shown``'s boxes: its class's."""
        palette = class_colours(len(self.class_names))
        return [palette[int(c)] for c in shown.labels]

    def texts(self, shown: Det3dResult) -> list[str]:
        """The label of each of ``shown``'s boxes: class, score and depth."""
        rows = zip(shown.labels, shown.scores, shown.locations[:, 2], strict=True)
        return [f"{self.class_names[int(c)]} {s:.2f} {z:.0f}m" for c, s, z in rows]

    def to_kitti(self) -> str:
        """KITTI result lines (type, truncation 0, occlusion 0, alpha, 2D box, h w l, x y z, rotation_y, score)."""
        return format_kitti_objects(detections_to_kitti(self.fields_of(), self.class_names))

    def plot(self, score_thr: float | None = None) -> np.ndarray:
        """RGB ``[H, W + H, 3]``: the projected cuboids on the image (front face marked, labelled), beside a
        bird's-eye view ``H`` wide of the 50 m in front of the camera (camera at the bottom centre, 10 m grid)."""
        shown = self.above(self.score_thr if score_thr is None else score_thr)
        colours = self.colours(shown)
        image = np.ascontiguousarray(self.image.copy())
        height = image.shape[0]
        thickness = max(1, height // 200)
        for k in range(len(shown)):
            corners = box3d_corners(shown.dims[k : k + 1], shown.locations[k : k + 1], shown.rotation_y[k : k + 1])[0]
            if (corners[:, 2] < 0.1).any():
                continue
            pixels = np.round(project(corners, self.calib)).astype(np.int32)
            colour = colours[k]
            for f, face in enumerate(_FACES):
                cv2.polylines(image, [pixels[list(face)]], True, colour, thickness + (f == 0), cv2.LINE_AA)
            cv2.line(image, tuple(pixels[0]), tuple(pixels[5]), colour, thickness, cv2.LINE_AA)  # the front's cross
            cv2.line(image, tuple(pixels[1]), tuple(pixels[4]), colour, thickness, cv2.LINE_AA)
        image = draw_labels(image, shown.boxes, self.texts(shown), colours)
        return np.concatenate([image, self._bird_view(shown, height, colours)], 1)

    def _bird_view(self, shown: Det3dResult, size: int, colours: list) -> np.ndarray:
        """A ``size`` x ``size`` bird's-eye view: x across, z up, the camera at the bottom centre."""
        view = np.full((size, size, 3), 32, np.uint8)
        scale = size / BEV_RANGE

        def to_pixels(xz: np.ndarray) -> np.ndarray:
            return np.stack([size / 2 + xz[..., 0] * scale, size - 1 - xz[..., 1] * scale], -1)

        for metres in range(10, int(BEV_RANGE), 10):
            y = int(size - 1 - metres * scale)
            cv2.line(view, (0, y), (size - 1, y), (70, 70, 70), 1)
        cv2.drawMarker(view, (size // 2, size - 2), (255, 255, 255), cv2.MARKER_TRIANGLE_UP, max(4, size // 20))
        rectangles = bev_rectangles(shown.dims, shown.locations, shown.rotation_y)
        for k, rect in enumerate(rectangles):
            points = np.round(to_pixels(rect)).astype(np.int32)
            colour = colours[k]
            cv2.polylines(view, [points], True, colour, 1 + size // 300, cv2.LINE_AA)
            cv2.line(view, tuple(points[0]), tuple(points[1]), (255, 255, 255), 1, cv2.LINE_AA)  # the heading side
        return view

    def to_json(self) -> list[dict[str, Any]]:
        """One entry per detection: class, score, 2D box, alpha, dims (h, w, l), location and rotation_y."""
        return [
            {
                "class": self.class_names[int(c)],
                "score": round(float(s), 5),
                "box": [round(float(v), 2) for v in b],
                "alpha": round(float(a), 4),
                "dims": [round(float(v), 3) for v in d],
                "location": [round(float(v), 3) for v in loc],
                "rotation_y": round(float(r), 4),
            }
            for c, s, b, a, d, loc, r in zip(
                self.labels,
                self.scores,
                self.boxes,
                self.alpha,
                self.dims,
                self.locations,
                self.rotation_y,
                strict=True,
            )
        ]


@dataclass
class Track3dResult(Det3dResult):
    """The tracks of one video frame with their 3D boxes: :class:`Det3dResult`'s fields (the 3D box of the detection
    each track took) and ``track_ids [K]`` (1-based, stable through the video); ``frame`` is the 1-based frame
    number, ``trails`` the recent image centres of each track (id -> points, oldest first). Every track is drawn
    (the tracker chose them; ``score_thr`` 0)."""

    score_thr: float = 0.0
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    frame: int = 1
    trails: dict[int, list[tuple[float, float]]] = field(default_factory=dict)

    per_object = (*Det3dResult.per_object, "track_ids")

    def colours(self, shown: Det3dResult) -> list[tuple[int, int, int]]:
        """The colour of each track (the same in every frame)."""
        return [track_colour(int(i)) for i in shown.track_ids]

    def texts(self, shown: Det3dResult) -> list[str]:
        """``"<class> #<id> <depth>m"`` of each track."""
        rows = zip(shown.labels, shown.track_ids, shown.locations[:, 2], strict=True)
        return [f"{self.class_names[int(c)]} #{int(i)} {z:.0f}m" for c, i, z in rows]

    def draw(self, options: DrawOptions) -> np.ndarray:
        return self.plot()

    def describe(self, options: DrawOptions) -> str:
        return f"{len(self)} 3D tracks"

    def text_rows(self, frame: int) -> list[str]:
        """KITTI tracking result lines of the frame's tracks (``frame`` 1-based; written 0-based as ``label_02``)."""
        return [line.rstrip("\n") for line in tracking_lines(frame - 1, self.fields_of(), self.class_names)]

    def to_json(self) -> list[dict[str, Any]]:
        """:meth:`Det3dResult.to_json` with each track's ``id``."""
        return [{"id": int(i), **entry} for i, entry in zip(self.track_ids, super().to_json(), strict=True)]
