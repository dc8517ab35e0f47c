"""Typed prediction results of :class:`~dla_dense.Predictor`: segmentation, detection, pose, classification.

Each result keeps the input image (RGB uint8 ``[H, W, 3]``) and draws itself with :meth:`plot` (an RGB array)
or :meth:`save` (a file; the suffix picks the format), and turns into the formats other tools read
(:meth:`DetResult.to_coco`, :meth:`SegResult.to_label_ids`, ``to_json``).

Every result also has the interface tools use without knowing its type (:class:`ResultBase`): ``draw``,
``describe``, ``records`` (JSON entries), ``extra_files`` and ``refined`` (post-processing asked for by the user).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch
import torchvision
from PIL import Image

from ..drawing import add_legend, draw_detections, draw_text_block, draw_tracks
from ..visualize import overlay


@dataclass(frozen=True)
class DrawOptions:
    """How tools draw and post-process results: segmentation ``opacity`` and ``legend``; detections scoring at
    least ``score_thr``, after class-agnostic NMS at ``nms`` IoU (None: off)."""

    opacity: float = 0.5
    score_thr: float = 0.3
    nms: float | None = None
    legend: bool = True


class ResultBase(ABC):
    """What every result offers to tools (``tools/infer.py``) that handle any task's results alike."""

    #: The image's own named fields as given with it (``predictor(image, calib=K, image_id=7)``); set by the
    #: Predictor, empty otherwise.
    fields: Mapping[str, Any] = MappingProxyType({})

    @abstractmethod
    def draw(self, options: DrawOptions) -> np.ndarray:
        """The picture of this result, RGB ``[H, W, 3]`` (wider with a legend)."""

    @abstractmethod
    def describe(self, options: DrawOptions) -> str:
        """What the picture shows, in a few words."""

    def records(self, image_id: int, name: str) -> list[dict[str, Any]]:
        """JSON entries of this result for input ``name`` (COCO results for detections, ``image_id`` 1-based)."""
        return [{"file_name": name, **_as_dict(self.to_json())}]

    def extra_files(self, stem: str) -> dict[str, np.ndarray]:
        """Files written beside the picture (name -> image array), e.g. a segmentation's ``labelIds`` PNG."""
        return {}

    def text_rows(self, frame: int) -> list[str]:
        """Lines of this result for a video's text file (``tools/infer.py --save-txt``; tracks: MOT rows) as frame
        ``frame`` (1-based); none by default."""
        return []

    def refined(self, options: DrawOptions) -> ResultBase:
        """This result after the post-processing ``options`` ask for (detections: NMS); default: itself."""
        return self

    @abstractmethod
    def to_json(self) -> Any:
        """This result as JSON data."""


def _carry(old: ResultBase, new: ResultBase) -> ResultBase:
    """``new`` (a copy of ``old`` with fewer detections) with ``old``'s image fields."""
    new.fields = old.fields
    return new


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"predictions": value}


def _save(array: np.ndarray, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **({"quality": 90} if path.suffix.lower() in (".jpg", ".jpeg") else {}))
    return path


@dataclass
class SegResult(ResultBase):
    """A label map ``[H, W]`` (int64 class indices) of ``image``; ``probabilities`` ``[C, H, W]`` float32 when
    asked for; ``label_ids`` maps class indices to dataset label ids (Cityscapes ``labelIds``) when the data
    has them."""

    image: np.ndarray
    label_map: np.ndarray
    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    probabilities: np.ndarray | None = None
    label_ids: tuple[int, ...] | None = None

    def present(self) -> list[int]:
        """Class indices that occur in the label map."""
        return [int(c) for c in np.unique(self.label_map)]

    def plot(self, opacity: float = 0.5, legend: bool = True) -> np.ndarray:
        """RGB ``[H, W(+legend), 3]``: the classes in their colours over the image, with a legend of the classes
        present on the right."""
        drawn = np.asarray(overlay(self.image, self.label_map, self.palette, alpha=opacity))
        if not legend:
            return drawn
        return add_legend(drawn, [(self.class_names[c], self.palette[c]) for c in self.present()])

    def save(self, path: str | os.PathLike, opacity: float = 0.5) -> Path:
        """Write :meth:`plot` to ``path``."""
        return _save(self.plot(opacity), path)

    def draw(self, options: DrawOptions) -> np.ndarray:
        return self.plot(options.opacity, legend=options.legend)

    def describe(self, options: DrawOptions) -> str:
        return ", ".join(self.class_names[c] for c in self.present())

    def extra_files(self, stem: str) -> dict[str, np.ndarray]:
        """The label map in dataset label ids as ``<stem>_labelIds.png``."""
        return {f"{stem}_labelIds.png": self.to_label_ids()}

    def to_label_ids(self) -> np.ndarray:
        """The label map in dataset label ids ``[H, W]`` uint8 (Cityscapes ``labelIds``; class indices when the
        data has no separate ids)."""
        if self.label_ids is None:
            return self.label_map.astype(np.uint8)
        return np.asarray(self.label_ids, dtype=np.uint8)[self.label_map]

    def to_json(self) -> dict[str, Any]:
        """``{"height", "width", "classes": {name: share of pixels}}`` for the classes present."""
        h, w = self.label_map.shape
        counts = np.bincount(self.label_map.reshape(-1), minlength=len(self.class_names))
        return {
            "height": h,
            "width": w,
            "classes": {self.class_names[c]: round(float(counts[c]) / (h * w), 6) for c in self.present()},
        }


class ScoredResult(ResultBase):
    """A result of scored objects (``scores [K]``), pictured by :meth:`plot` above a score threshold."""

    #: What its objects are called in :meth:`describe`.
    noun: ClassVar[str] = "detections"
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    @abstractmethod
    def above(self, score_thr: float) -> ScoredResult:
        """The objects scoring at least ``score_thr``."""

    @abstractmethod
    def plot(self, score_thr: float | None = None) -> np.ndarray:
        """RGB ``[H, W, 3]``: the objects scoring at least ``score_thr`` (None: the result's own threshold)."""

    def save(self, path: str | os.PathLike, score_thr: float | None = None) -> Path:
        """Write :meth:`plot` to ``path``."""
        return _save(self.plot(score_thr), path)

    def draw(self, options: DrawOptions) -> np.ndarray:
        return self.plot(options.score_thr)

    def describe(self, options: DrawOptions) -> str:
        return f"{len(self.above(options.score_thr))} {self.noun} with score >= {options.score_thr}"


@dataclass
class DetResult(ScoredResult):
    """Detections of ``image``, best first: ``boxes`` ``[K, 4]`` (x1, y1, x2, y2 in image pixels, float32),
    ``scores`` ``[K]``, ``labels`` ``[K]`` (int64 class indices into ``class_names``). ``category_ids`` are the
    COCO ids of the classes (default: index + 1). :meth:`plot` draws those scoring at least ``score_thr``."""

    image: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    category_ids: tuple[int, ...] | None = None
    score_thr: float = 0.3

    def above(self, score_thr: float) -> DetResult:
        """The detections scoring at least ``score_thr``."""
        return self._select(self.scores >= score_thr)

    def nms(self, iou: float) -> DetResult:
        """The detections kept by class-agnostic NMS at ``iou`` (torchvision), best first: one box per object
        where several classes fired on it."""
        keep = torchvision.ops.nms(torch.from_numpy(self.boxes), torch.from_numpy(self.scores), iou).numpy()
        return self._select(keep)

    def _select(self, keep: np.ndarray) -> DetResult:
        return _carry(self, replace(self, boxes=self.boxes[keep], scores=self.scores[keep], labels=self.labels[keep]))

    def plot(self, score_thr: float | None = None) -> np.ndarray:
        """RGB ``[H, W, 3]``: boxes in their class's colour with readable ``"<class> <score>"`` labels."""
        shown = self.above(self.score_thr if score_thr is None else score_thr)
        return draw_detections(self.image, shown.boxes, shown.labels, shown.scores, self.class_names)

    def records(self, image_id: int, name: str) -> list[dict[str, Any]]:
        """COCO results entries with the input's ``file_name``."""
        return [{**entry, "file_name": name} for entry in self.to_coco(image_id)]

    def refined(self, options: DrawOptions) -> DetResult:
        """Class-agnostic NMS at ``options.nms`` when set."""
        return self if options.nms is None else self.nms(options.nms)

    def _category(self, label: int) -> int:
        return self.category_ids[label] if self.category_ids else label + 1

    def to_coco(self, image_id: int) -> list[dict[str, Any]]:
        """COCO results entries ``{image_id, category_id, bbox: [x, y, w, h], score}`` (all detections)."""
        return [
            {
                "image_id": int(image_id),
                "category_id": self._category(int(c)),
                "bbox": [round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)],
                "score": round(float(s), 5),
            }
            for (x1, y1, x2, y2), s, c in zip(
                self.boxes.tolist(), self.scores.tolist(), self.labels.tolist(), strict=True
            )
        ]

    def to_json(self) -> list[dict[str, Any]]:
        """``[{"label", "score", "box": [x1, y1, x2, y2]}]`` of all detections."""
        return [
            {"label": self.class_names[int(c)], "score": round(float(s), 5), "box": [round(float(v), 2) for v in b]}
            for b, s, c in zip(self.boxes.tolist(), self.scores.tolist(), self.labels.tolist(), strict=True)
        ]


@dataclass
class PoseResult(DetResult):
    """Detections with ``keypoints`` ``[K, J, 3]`` (x, y in image pixels, 1), joints named ``keypoint_names``
    and joined by ``skeleton`` (0-based joint pairs)."""

    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3), np.float32))
    keypoint_names: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()

    def _select(self, keep: np.ndarray) -> PoseResult:
        return _carry(self, replace(super()._select(keep), keypoints=self.keypoints[keep]))

    def plot(self, score_thr: float | None = None) -> np.ndarray:
        """RGB ``[H, W, 3]``: boxes, labels and skeletons in each class's colour."""
        shown = self.above(self.score_thr if score_thr is None else score_thr)
        return draw_detections(
            self.image,
            shown.boxes,
            shown.labels,
            shown.scores,
            self.class_names,
            keypoints=shown.keypoints,
            skeleton=self.skeleton,
        )

    def to_coco(self, image_id: int) -> list[dict[str, Any]]:
        """COCO keypoint results: the box entries plus ``keypoints`` ``[x, y, 1] * J``."""
        entries = super().to_coco(image_id)
        for entry, joints in zip(entries, self.keypoints, strict=True):
            entry["keypoints"] = [round(float(v), 2) for v in joints.reshape(-1)]
        return entries

    def to_json(self) -> list[dict[str, Any]]:
        """The detections' entries plus ``keypoints`` ``{name: [x, y]}``."""
        entries = super().to_json()
        for entry, joints in zip(entries, self.keypoints, strict=True):
            entry["keypoints"] = {
                name: [round(float(x), 2), round(float(y), 2)]
                for name, (x, y, _) in zip(self.keypoint_names, joints.tolist(), strict=True)
            }
        return entries


@dataclass
class ClsResult(ResultBase):
    """Class probabilities ``[C]`` (softmax) of ``image``."""

    image: np.ndarray
    probabilities: np.ndarray
    class_names: tuple[str, ...]

    @property
    def label(self) -> int:
        """The most probable class index."""
        return int(np.argmax(self.probabilities))

    def topk(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable ``(class name, probability)``, highest first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]

    def plot(self, k: int = 5) -> np.ndarray:
        """RGB ``[H, W, 3]``: the image with its top-``k`` classes and probabilities in the top-left corner."""
        return draw_text_block(self.image, [f"{name} {p:.3f}" for name, p in self.topk(k)])

    def save(self, path: str | os.PathLike, k: int = 5) -> Path:
        """Write :meth:`plot` to ``path``."""
        return _save(self.plot(k), path)

    def draw(self, options: DrawOptions) -> np.ndarray:
        return self.plot()

    def describe(self, options: DrawOptions) -> str:
        return ", ".join(f"{name} {p:.3f}" for name, p in self.topk(3))

    def to_json(self, k: int = 5) -> list[dict[str, Any]]:
        """``[{"label", "probability"}]`` of the top ``k``."""
        return [{"label": name, "probability": round(p, 6)} for name, p in self.topk(k)]


Result = ResultBase


@dataclass
class TrackResult(ResultBase):
    """The tracks of one video frame: ``boxes [K, 4]`` (x1y1x2y2, image pixels), ``scores [K]``, ``labels [K]``
    (into ``class_names``) and ``track_ids [K]`` (1-based, stable through the video); ``frame`` is the 1-based
    frame number, ``trails`` the recent centres of each track (id -> points, oldest first) and ``class_ids`` the
    dataset's class id of each label (MOT: 1 pedestrian, 3 car, ...; None: label + 1)."""

    image: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    track_ids: np.ndarray
    class_names: tuple[str, ...]
    frame: int = 1
    trails: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    class_ids: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.track_ids)

    def plot(self) -> np.ndarray:
        """RGB ``[H, W, 3]``: boxes in their track's colour, ``"<class> #<id>"`` labels and trails."""
        return draw_tracks(self.image, self.boxes, self.track_ids, self.labels, self.class_names, self.trails)

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`plot` to ``path``."""
        return _save(self.plot(), path)

    def draw(self, options: DrawOptions) -> np.ndarray:
        return self.plot()

    def describe(self, options: DrawOptions) -> str:
        return f"{len(self)} tracks"

    def text_rows(self, frame: int) -> list[str]:
        """MOT Challenge result lines ``frame,id,left,top,width,height,score,class,-1,-1`` (``frame`` 1-based;
        ``class`` the MOT class id of the label, ``class_ids``, or the 1-based label, as column 8 of ``gt.txt``)."""
        ids = self.class_ids or tuple(range(1, len(self.class_names) + 1))
        return [
            f"{frame},{int(i)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{s:.4f},{ids[c]},-1,-1"
            for (x1, y1, x2, y2), s, i, c in zip(
                self.boxes.tolist(), self.scores.tolist(), self.track_ids.tolist(), self.labels.tolist(), strict=True
            )
        ]

    def to_json(self) -> list[dict[str, Any]]:
        """``[{"id", "label", "score", "box": [x1, y1, x2, y2]}]`` of the frame's tracks."""
        return [
            {
                "id": int(i),
                "label": self.class_names[int(c)],
                "score": round(float(s), 5),
                "box": [round(float(v), 2) for v in b],
            }
            for b, s, c, i in zip(
                self.boxes.tolist(), self.scores.tolist(), self.labels.tolist(), self.track_ids.tolist(), strict=True
            )
        ]
