"""The config schemas of the ``fairmot`` task (FairMOT): what its configs may set and the allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from ...registry import Registered
from .det import DetModelConfig
from .track import TrackEvalConfig, VideoDataConfig


@dataclass
class FairMotModelConfig(DetModelConfig):
    """FairMOT: the CenterNet network on one frame with FairMOT's box head (``ltrb``: 4-channel ``wh`` of distances
    to the box sides, its default; else CenterNet's ``(w, h)``) and the embedding head (``reid_dim`` 128; 0: none, a
    detector that tracks by detection with ``byte`` or ``iou``).
    ``init_from``: a checkpoint to start from (FairMOT's ``--load_model``, e.g. CenterNet's ``ctdet_coco_dla_2x.pth``
    or a CrowdHuman model), loaded where shapes fit."""

    TASK: ClassVar[str] = "fairmot"
    task: str = "fairmot"
    num_classes: int = 1
    ltrb: bool = True
    reid_dim: int = 128
    init_from: str | None = None


@dataclass
class FairMotDataConfig(VideoDataConfig):
    """Single frames of the video sources (``jde`` is FairMOT's own format), FairMOT's input: RGB / 255 without mean
    or std, 608 x 1088, up to 500 objects."""

    TASK: ClassVar[str] = "fairmot"
    crop_size: tuple[int, int] = (608, 1088)
    max_objs: int = 500
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    bgr: bool = False


@dataclass
class FairMotEvalConfig(TrackEvalConfig):
    """The JDE tracker by default (``track_thresh`` 0.4 as FairMOT's ``conf_thres`` for MOT17), input 608 x 1088
    with the whole frame fitted in (FairMOT's letterbox), the 500 best peaks decoded (FairMOT's ``K``)."""

    TASK: ClassVar[str] = "fairmot"
    input_size: tuple[int, int] | None = (608, 1088)
    max_dets: int = 500
    tracker: Annotated[str, Registered("tracker")] = "jde"
