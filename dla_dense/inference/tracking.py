"""Tracking one frame at a time with a CenterTrack model and a tracker (CenterTrack's ``detector.run`` flow).

On a video's first frame the previous image is the frame itself and the previous heatmap is empty (zeros, still
passed through its branch). Each frame: the tracker's boxes are drawn into ``pre_hm`` at input resolution (peak 1,
radius from the input-resolution box), the model sees ``(image, pre_image, pre_hm)``, its detections with
``score > out_thresh`` (best first) go to the tracker, and this frame's input becomes the next previous image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.det_transforms import CenterNetEvalTransform
from ..heads import CenterNetHeads, Fields
from ..models.inputs import model_inputs
from ..ops.affine import affine_boxes, get_affine_transform
from ..ops.pre_heatmap import pre_heatmap
from ..tracking import Tracker
from ..tracking.base import with_detection_fields
from .detection import to_image_mapping
from .timing import NULL_TIMER, StageTimer


@dataclass
class TrackState:
    """What a stream keeps between the frames of one video: the trackers (the configured one first; others, e.g.
    a baseline, see the same detections) and the previous frame's input tensor."""

    trackers: dict[str, Tracker]
    #: Detections a tracker sees score above its floor (tracker name -> floor; absent: ``track_frame``'s
    #: ``out_thresh``).
    floors: dict[str, float] = field(default_factory=dict)
    pre_image: torch.Tensor | None = None
    frames: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        """A new video."""
        for tracker in self.trackers.values():
            tracker.reset()
        self.pre_image = None
        self.frames = 0

    @property
    def floor(self) -> float:
        """Detections decoded for these trackers score above this: the lowest of their floors."""
        return min(self.floors.values())

    @property
    def name(self) -> str:
        """The name of the stream's own tracker (the first)."""
        return next(iter(self.trackers))

    @property
    def main(self) -> Tracker:
        """The stream's own tracker (the first; the others are compared with it)."""
        return self.trackers[self.name]


def render_pre_hm(boxes: np.ndarray, meta: Mapping[str, Any]) -> torch.Tensor:
    """``[1, 1, H, W]`` heatmap of image-pixel ``boxes [M, 4]`` at the model's input resolution (``meta`` of
    :class:`~dla_dense.data.det_transforms.CenterNetEvalTransform`)."""
    in_h, in_w = int(meta["input_height"]), int(meta["input_width"])
    trans = get_affine_transform(meta["c"], meta["s"], (in_w, in_h))
    hm, _, _ = pre_heatmap(affine_boxes(np.asarray(boxes, np.float32).reshape(-1, 4), trans), (in_h, in_w))
    return torch.from_numpy(hm)[None]


@torch.no_grad()
def track_frame(
    model: nn.Module,
    image: np.ndarray,
    state: TrackState,
    *,
    heads: CenterNetHeads,
    transform: CenterNetEvalTransform,
    max_dets: int = 100,
    out_thresh: float = 0.0,
    timer: StageTimer = NULL_TIMER,
    fields: Mapping[str, Any] | None = None,
) -> tuple[Fields, dict[str, Fields]]:
    """The detections of the next frame ``image`` (uint8 RGB ``[H, W, 3]``) of ``state``'s video, image pixels,
    best first with ``score > out_thresh`` (``boxes``, ``scores``, ``labels`` and, as the heads give them, ``centers``,
    ``tracking``, ``embeddings``), and the tracks of each of ``state``'s trackers (``boxes``, ``scores``, ``labels``,
    ``track_ids`` and the other fields of the detection each track took), each tracker seeing the detections above
    its floor (``state.floors``)."""
    device = next(model.parameters()).device
    with timer.stage("preprocess"):
        item = transform({"image": image, **(fields or {})})
        x = item["image"][None].to(device)
        pre_image = x if state.pre_image is None else state.pre_image
        inputs = {"image": x, "pre_image": pre_image}
        if "pre_hm" in model_inputs(model):
            inputs["pre_hm"] = render_pre_hm(state.main.heatmap_boxes(), item["meta"]).to(device)
    with timer.stage("inference"):
        out = model(*(inputs[name] for name in model_inputs(model)))
    with timer.stage("postprocess"):
        first = next(iter(out.values()))
        k = min(max_dets, first.shape[-2] * first.shape[-1])
        found = {name: v.cpu() for name, v in heads.decode(out, flip=False, k=k).items()}
        found = heads.to_image(found, to_image_mapping(item["meta"], 1.0, fields))
        keep = found["scores"] > out_thresh
        detections = {name: value[keep] for name, value in found.items()}
    with timer.stage("tracking"):
        tracks = {}
        for name, tracker in state.trackers.items():
            floor = state.floors.get(name, out_thresh)
            seen = (
                detections
                if floor <= out_thresh
                else {k: v[detections["scores"] > floor] for k, v in detections.items()}
            )
            tracks[name] = with_detection_fields(seen, tracker.update(seen))
    state.pre_image = x
    state.frames += 1
    return detections, tracks
