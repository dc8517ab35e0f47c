"""The video datasets a tracking config can name (``data.dataset``), looked up in :data:`VIDEO_SOURCES`: how each
reads a split, names its classes and gives the ground truth TrackEval scores."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DLADenseError
from ..registry import Registry
from .kitti import KITTI_CLASSES
from .kitti_tracking import read_kitti_tracking
from .mot_format import GroundTruth
from .video import Frame, read_crowdhuman, read_jde, read_mot, read_video_coco

#: Names of the MOT Challenge classes (``gt.txt`` column 8).
MOT_CLASS_NAMES = {
    1: "pedestrian",
    2: "person_on_vehicle",
    3: "car",
    4: "bicycle",
    5: "motorbike",
    6: "non_mot_vehicle",
    7: "static_person",
    8: "distractor",
    9: "occluder",
    10: "occluder_on_ground",
    11: "occluder_full",
    12: "reflection",
    13: "crowd",
}


#: ``data.dataset`` -> the class of its source (the track and fairmot schemas accept these names).
VIDEO_SOURCES: Registry[type[VideoSource]] = Registry("video source")


class VideoSource(ABC):
    """One kind of video dataset, configured by a config's ``data`` section."""

    #: Whether the ground truth has MOT Challenge distractor classes (scored as TrackEval's MOT17 does).
    distractors: bool = False
    #: How tracks on this data are scored: ``mot`` (TrackEval's MOT Challenge protocol on :class:`GroundTruth`)
    #: or ``kitti`` (its KITTI 2D-box protocol on :class:`~dla_dense.data.kitti_tracking.KittiTrackTruth`).
    protocol: str = "mot"

    @abstractmethod
    def read(self, d: Any, split: str, num_classes: int) -> tuple[list[Frame], tuple[str, ...], dict[str, GroundTruth]]:
        """The frames of ``split``, the class names and each video's ground truth."""

    def classes(self, d: Any) -> tuple[str, ...] | None:
        """The class names without reading the data (None: they come from the data)."""
        return None

    def class_ids(self, d: Any, classes: tuple[str, ...]) -> tuple[int, ...]:
        """The ground-truth class id of each label (MOT ``gt.txt`` column 8)."""
        return tuple(range(1, len(classes) + 1))


@VIDEO_SOURCES.register("mot")
class MotSource(VideoSource):
    """The MOT Challenge layout; ``data.mot_classes`` are the MOT class ids trained as labels 0, 1, ..."""

    distractors = True

    def read(self, d: Any, split: str, num_classes: int):
        if len(d.mot_classes) != num_classes:
            raise DLADenseError(
                f"data.mot_classes has {len(d.mot_classes)} classes but model.num_classes={num_classes}; "
                "make them agree"
            )
        frames, truth = read_mot(
            Path(d.root), split, mot_classes=d.mot_classes, sequences=d.mot_sequences, min_visibility=d.min_visibility
        )
        return frames, self.classes(d), truth

    def classes(self, d: Any) -> tuple[str, ...]:
        return tuple(d.classes) if d.classes else tuple(MOT_CLASS_NAMES.get(c, f"class{c}") for c in d.mot_classes)

    def class_ids(self, d: Any, classes: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(d.mot_classes)


@VIDEO_SOURCES.register("video_coco")
class VideoCocoSource(VideoSource):
    """CenterTrack's video-COCO json (``data.coco_ann_file`` / ``coco_img_dir`` templates)."""

    def read(self, d: Any, split: str, num_classes: int):
        ann = Path(d.root) / d.coco_ann_file.format(split=split)
        frames, classes = read_video_coco(ann, Path(d.root) / d.coco_img_dir.format(split=split), d.classes)
        if len(classes) != num_classes:
            raise DLADenseError(
                f"model.num_classes={num_classes} but '{ann}' has {len(classes)} categories; "
                f"set model.num_classes={len(classes)}"
            )
        return frames, classes, video_truth(frames)


@VIDEO_SOURCES.register("crowdhuman")
class CrowdHumanSource(VideoSource):
    """CrowdHuman ``.odgt`` (``data.odgt_file`` / ``odgt_img_dir``): still images, each a one-frame video."""

    def read(self, d: Any, split: str, num_classes: int):
        frames = read_crowdhuman(Path(d.root) / d.odgt_file.format(split=split), Path(d.root) / d.odgt_img_dir)
        return frames, self.classes(d), video_truth(frames)

    def classes(self, d: Any) -> tuple[str, ...]:
        return ("person",)


@VIDEO_SOURCES.register("jde")
class JdeSource(VideoSource):
    """FairMOT's JDE label files: ``data.jde_lists[split]`` maps dataset names to image lists under ``data.root``
    (FairMOT's ``cfg/data.json``), identities offset per dataset as FairMOT does."""

    def read(self, d: Any, split: str, num_classes: int):
        lists = d.jde_lists.get(split)
        if not lists:
            raise DLADenseError(
                f"data.jde_lists has no split '{split}'; give {{'{split}': {{name: image list file}}}} (FairMOT's "
                "cfg/data.json)"
            )
        frames = read_jde(Path(d.root), lists)
        found = max((int(f.labels.max()) for f in frames if len(f.labels)), default=-1) + 1
        if found > num_classes:
            raise DLADenseError(f"the JDE labels have class ids up to {found - 1} but model.num_classes={num_classes}")
        return frames, self.classes(d, num_classes), video_truth(frames)

    def classes(self, d: Any, num_classes: int = 1) -> tuple[str, ...]:
        if d.classes:
            return tuple(d.classes)
        return ("pedestrian",) if num_classes == 1 else tuple(f"class{k}" for k in range(num_classes))


@VIDEO_SOURCES.register("kitti_tracking")
class KittiTrackingSource(VideoSource):
    """KITTI tracking (``root/training/{image_02,label_02,calib}``; ``train_half`` / ``val_half`` are CenterTrack's
    halves of the training sequences, ``mot_sequences`` a glob of sequence names); ``data.classes`` are the
    trained KITTI types (default Pedestrian, Car, Cyclist). Frames carry 3D boxes and their sequence's camera."""

    protocol = "kitti"

    def read(self, d: Any, split: str, num_classes: int):
        classes = self.classes(d)
        if len(classes) != num_classes:
            raise DLADenseError(
                f"KITTI tracking trains {len(classes)} classes ({', '.join(classes)}) but model.num_classes="
                f"{num_classes}; make them agree (data.classes)"
            )
        frames, truth = read_kitti_tracking(Path(d.root), split, classes=classes, sequences=d.mot_sequences)
        return frames, classes, truth

    def classes(self, d: Any) -> tuple[str, ...]:
        return tuple(d.classes) if d.classes else KITTI_CLASSES


def video_truth(frames: list[Frame]) -> dict[str, GroundTruth]:
    """MOT ground truth of frames read from a json (positives only, class = label + 1, flag 1)."""
    rows: dict[str, list] = {}
    lengths: dict[str, int] = {}
    for f in frames:
        lengths[f.video] = max(lengths.get(f.video, 0), f.frame_id)
        found = rows.setdefault(f.video, [])
        for box, label, ignore, track in zip(f.boxes, f.labels, f.ignore, f.track_ids, strict=True):
            if not ignore:
                x1, y1, x2, y2 = box.tolist()
                found.append([f.frame_id, track, x1, y1, x2 - x1, y2 - y1, 1, label + 1, 1])
    return {v: GroundTruth(np.array(r, np.float64).reshape(-1, 9), lengths[v]) for v, r in rows.items()}
