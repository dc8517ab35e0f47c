"""The config schemas of the ``track`` task (CenterTrack): what its configs may set and the allowed values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from ...registry import Registered
from ..base import AT_LEAST_0, AT_LEAST_1, FRACTION, Bound
from .centernet import ObjectDataConfig, ObjectEvalConfig
from .det import DetModelConfig

#: CenterNet's COCO statistics, which CenterTrack normalises with (BGR order).
CENTERTRACK_MEAN = (0.40789654, 0.44719302, 0.47026115)
CENTERTRACK_STD = (0.28863828, 0.27408164, 0.27809835)


@dataclass
class TrackModelConfig(DetModelConfig):
    """CenterTrack: the CenterNet network with the previous frame (and, with ``pre_hm``, a heatmap of its
    objects) as inputs; ``ltrb_amodal`` adds the amodal box head. Loss weights as CenterTrack's trainer.
    ``init_from``: a checkpoint to start from (CenterTrack's ``--load_model``: a CrowdHuman or COCO tracking model,
    or a CenterNet detector), loaded where shapes fit; the rest keeps its initialisation."""

    TASK: ClassVar[str] = "track"
    RANGES: ClassVar[dict[str, Bound]] = {"tracking_weight": AT_LEAST_0, "ltrb_amodal_weight": AT_LEAST_0}
    task: str = "track"
    num_classes: int = 1
    pre_hm: bool = True
    ltrb_amodal: bool = True
    tracking_weight: float = 1.0
    ltrb_amodal_weight: float = 0.1
    init_from: str | None = None


@dataclass
class VideoDataConfig(ObjectDataConfig):
    """Videos in the MOT Challenge layout (``root/<folder>/<SEQ>/{img1,gt/gt.txt,seqinfo.ini}``; a split
    ``<folder>_half`` / ``val_half`` is CenterTrack's half split of ``<folder>``), CenterTrack's video-COCO json,
    CrowdHuman ``.odgt`` (each image a one-frame video) or FairMOT's JDE label files (``jde_lists``: per split,
    dataset name -> image list under ``root``, as FairMOT's ``cfg/data.json``). ``mot_classes``: the MOT class id of
    each label (1 pedestrian); ``min_visibility``: ground truth kept for training (CenterTrack's conversion: 0.25)."""

    TASK: ClassVar[str] = "track"
    RANGES: ClassVar[dict[str, Bound]] = {"mot_classes": AT_LEAST_1, "min_visibility": FRACTION}
    dataset: Annotated[str, Registered("video source")] = "mot"
    root: str = "data/MOT17"
    train_split: str = "train_half"
    val_split: str = "val_half"
    mot_classes: tuple[int, ...] = (1,)
    mot_sequences: str = "*"
    min_visibility: float = 0.25
    coco_ann_file: str = "annotations/{split}.json"
    coco_img_dir: str = "images"
    odgt_file: str = "annotation_{split}.odgt"
    odgt_img_dir: str = "Images"
    jde_lists: dict[str, dict[str, str]] = field(default_factory=dict)
    crop_size: tuple[int, int] = (544, 960)
    max_objs: int = 256
    mean: tuple[float, float, float] = CENTERTRACK_MEAN
    std: tuple[float, float, float] = CENTERTRACK_STD
    bgr: bool = True
    crop_scale_range: tuple[float, float] | None = (0.6, 1.4)


@dataclass
class TrackDataConfig(VideoDataConfig):
    """CenterTrack's frame pairs: the previous frame within ``max_frame_dist``, the same affine (``same_aug``) or
    one disturbed by ``shift``/``scale``; ``hm_disturb``/``lost_disturb``/``fp_disturb`` perturb the previous
    heatmap."""

    RANGES: ClassVar[dict[str, Bound]] = {
        "max_frame_dist": AT_LEAST_1,
        "shift": AT_LEAST_0,
        "scale": FRACTION,
        "hm_disturb": AT_LEAST_0,
        "lost_disturb": FRACTION,
        "fp_disturb": FRACTION,
    }
    max_frame_dist: int = 3
    same_aug: bool = True
    shift: float = 0.05
    scale: float = 0.05
    hm_disturb: float = 0.05
    lost_disturb: float = 0.4
    fp_disturb: float = 0.1


@dataclass
class TrackEvalConfig(ObjectEvalConfig):
    """Test input (``input_size`` or the frame's own size padded to 32), the tracker and its thresholds:
    ``centertrack`` (greedy on predicted offsets; ``track_thresh`` = its output and new-track threshold,
    ``pre_thresh`` for the previous heatmap, ``max_age`` frames an unmatched track is kept), ``byte``
    (``track_thresh``, ``match_thresh``, ``track_buffer``, ``byte_motion``), with an embedding head ``jde``
    (FairMOT's tracker: ``track_thresh`` as its ``conf_thres``, ``reid_match_thresh``, ``track_buffer``) or
    ``byte_reid`` (the same with BYTE's low-score stage), or ``iou`` (the IoU-only baseline).
    ``compare_trackers``: other trackers scored on the same detections in the same run; ``baseline``: also score
    the IoU-only association of the same detections."""

    TASK: ClassVar[str] = "track"
    RANGES: ClassVar[dict[str, Bound]] = {
        "track_thresh": FRACTION,
        "pre_thresh": FRACTION,
        "match_thresh": FRACTION,
        "reid_match_thresh": FRACTION,
        "track_buffer": AT_LEAST_0,
    }
    input_size: tuple[int, int] | None = (544, 960)
    tracker: Annotated[str, Registered("tracker")] = "centertrack"
    track_thresh: float = 0.4
    pre_thresh: float = 0.5
    max_age: int = -1
    match_thresh: float = 0.8
    reid_match_thresh: float = 0.4
    track_buffer: int = 30
    byte_motion: Literal["kalman", "offset"] = "kalman"
    compare_trackers: tuple[Annotated[str, Registered("tracker")], ...] = ()
    baseline: bool = True
