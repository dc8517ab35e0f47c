"""CenterTrack (Zhou et al., arXiv 2004.01177): tracking objects as points on videos in the MOT Challenge layout,
CenterTrack's video-COCO json or CrowdHuman, with a configurable tracker and TrackEval metrics."""

from __future__ import annotations

from typing import Any

import torch

from ..config.schemas import TASK_SCHEMAS
from ..data.track_transforms import CenterTrackTrainTransform
from ..data.video import VideoDataset
from ..heads import AmodalHead, CenterNetHeads, TrackBoxHead, TrackingHead
from ..models.centertrack import CenterTrack
from .centernet import CenterNetSpec, box_options, crop_options, embedding_heads
from .registry import register_task
from .video import VideoProbe, VideoTask, video_info


class TrackProbe(VideoProbe):
    """The video probe with the previous image and heatmap among the random inputs."""

    def random_inputs(
        self, batch: int, size: tuple[int, int], generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Images and previous images ~ N(0, 1) and, with ``model.pre_hm``, previous heatmaps ~ U(0, 1)."""
        out = {name: torch.randn(batch, 3, *size, generator=generator) for name in ("image", "pre_image")}
        if self.task.cfg.model.pre_hm:
            out["pre_hm"] = torch.rand(batch, 1, *size, generator=generator)
        return out

    def random_batch(self, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
        """The detector's random targets with random inputs (:meth:`random_inputs`)."""
        out = super().random_batch(batch, size, device)
        return {**out, **{name: x.to(device) for name, x in self.random_inputs(batch, size).items()}}


class CenterTrackTask(VideoTask):
    """What CenterTrack's tasks share (2D and 3D): its network with the previous frame and its objects' heatmap as
    extra inputs, frame pairs to train on with CenterTrack's augmentation. Each gives its heads."""

    spec = CenterNetSpec(network=CenterTrack, network_keys=("pre_hm",))

    def item_options(self) -> dict[str, Any]:
        """Frame pairs: the previous frame within ``data.max_frame_dist``."""
        return {"max_frame_dist": self.cfg.data.max_frame_dist}

    def train_set(self) -> VideoDataset:
        """Frame pairs with CenterTrack's augmentation, previous heatmap and targets."""
        d = self.cfg.data
        transform = CenterTrackTrainTransform(
            self.heads(with_data=True),
            **crop_options(self.cfg),
            same_aug=d.same_aug,
            shift=d.shift,
            scale=d.scale,
            hm_disturb=d.hm_disturb,
            lost_disturb=d.lost_disturb,
            fp_disturb=d.fp_disturb,
            pre_hm=self.cfg.model.pre_hm,
        )
        dataset = self.dataset(d.train_split, transform)
        self._num_identities = dataset.num_identities
        return dataset


@register_task
class TrackTask(CenterTrackTask):
    """CenterTrack on videos: the previous frame and its objects' heatmap as extra inputs, a tracking-offset head,
    frame pairs to train on."""

    name = "track"
    info = video_info(
        "a CenterTrack tracker",
        "CenterTrack {backbone} node={node}",
        (544, 960),
        docs="tasks/tracking.md",
        probe=TrackProbe,
    )
    schemas = TASK_SCHEMAS["track"]

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """``TrackBoxHead`` (``hm``, ``reg``, ``wh``), ``TrackingHead``, with ``model.ltrb_amodal`` ``AmodalHead`` and,
        with ``model.reid_dim``, the embedding head."""
        m = self.cfg.model
        heads = [
            TrackBoxHead(m.num_classes, **box_options(self.cfg)),
            TrackingHead(weight=m.tracking_weight),
        ]
        if m.ltrb_amodal:
            heads.append(AmodalHead(weight=m.ltrb_amodal_weight))
        return CenterNetHeads([*heads, *embedding_heads(self.cfg, self._num_identities)])
