"""CenterTrack (Zhou et al., arXiv 2004.01177): tracking objects as points on videos in the MOT Challenge layout,
CenterTrack's video-COCO json or CrowdHuman, with a configurable tracker and TrackEval metrics."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config.schemas import TASK_SCHEMAS
from ..data.track_transforms import CenterTrackTrainTransform
from ..data.video import VideoDataset
from ..data.video_sources import VIDEO_SOURCES
from ..engine.dist import DistInfo
from ..engine.sampling import eval_batches, keep_sample
from ..evaluation.mot import MotEvaluator
from ..evaluation.undefined import format_metric
from ..heads import AmodalHead, CenterNetHeads, TrackBoxHead, TrackingHead
from ..inference.results import TrackResult
from ..inference.timing import NULL_TIMER, StageTimer
from ..inference.tracking import TrackState, track_frame
from ..models.centernet import CenterNet
from ..models.centertrack import CenterTrack
from ..tracking import TRACKERS, Tracker
from ..weights import load_checkpoint
from .det import DetTask

#: Recent centres kept per track for the trails ``tools/infer.py`` draws.
TRAIL_LENGTH = 20


class TrackTask(DetTask):
    """CenterTrack on videos (``data.dataset``: ``mot``, ``video_coco`` or ``crowdhuman``)."""

    name = "track"
    title = "a CenterTrack tracker"
    reports = "HOTA, MOTA, IDF1 and ID switches per class and sequence (TrackEval), beside an IoU-only baseline"
    metric = "HOTA"
    schemas = TASK_SCHEMAS["track"]
    benchmark_input_size = (544, 960)
    benchmark_compare = ("bf16", "openvino-int8")
    benchmark_archs = ()
    benchmark_modes = ("infer", "train", "frame")
    infer_output = "the frames with boxes, track ids and trails (a video for a video input), MOT txt with --save-txt"
    infer_suffix = "tracks"

    def write_synthetic(self, root: str, **options: Any) -> None:
        """Synthetic videos of pedestrians and cars in the MOT layout."""
        from ..data.synthetic.mot import make_synthetic_mot

        make_synthetic_mot(root, **options)

    @property
    def source(self):
        """The :class:`~dla_dense.data.video_sources.VideoSource` of ``data.dataset``."""
        return VIDEO_SOURCES[self.cfg.data.dataset]

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names: the config's, else the dataset's (MOT: the names of ``data.mot_classes``)."""
        if self._classes is None:
            self._classes = self.source.classes(self.cfg.data)
            if self._classes is None:
                self.dataset(self.cfg.data.val_split)
        return self._classes

    def dataset(self, split: str, transform=None) -> VideoDataset:
        """The videos of ``split`` (training: frame pairs through ``transform``)."""
        d = self.cfg.data
        frames, classes, truth = self.source.read(d, split, self.cfg.model.num_classes)
        self._classes = tuple(classes)
        return VideoDataset(frames, classes, ground_truth=truth, transform=transform, max_frame_dist=d.max_frame_dist)

    def image_paths(self, split: str) -> list[Path]:
        """The frames of ``split``, video by video."""
        return [f.path for f in self.dataset(split).frames]

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """``TrackBoxHead`` (``hm``, ``reg``, ``wh``), ``TrackingHead``, with ``model.ltrb_amodal`` ``AmodalHead`` and,
        with ``model.reid_dim``, the embedding head."""
        m, d = self.cfg.model, self.cfg.data
        heads = [
            TrackBoxHead(
                m.num_classes,
                max_objs=d.max_objs,
                hm_weight=m.hm_weight,
                wh_weight=m.wh_weight,
                off_weight=m.off_weight,
            ),
            TrackingHead(weight=m.tracking_weight),
        ]
        if m.ltrb_amodal:
            heads.append(AmodalHead(weight=m.ltrb_amodal_weight))
        return CenterNetHeads([*heads, *self.embedding_heads()])

    network = CenterTrack

    def network_options(self) -> dict[str, Any]:
        """Whether the network takes the previous heatmap (``model.pre_hm``)."""
        return {"pre_hm": self.cfg.model.pre_hm}

    def build_model(self) -> CenterTrack:
        """CenterTrack of ``cfg.model`` (``(image, pre_image[, pre_hm])`` -> ``{output: map}`` at stride 4), started
        from ``model.init_from`` where shapes fit."""
        model = super().build_model()
        m = self.cfg.model
        if m.init_from:
            load_checkpoint(model, m.init_from, strict=False)
            self.logger.info(f"initialised from '{m.init_from}' (tensors whose shapes fit)")
        return model

    def describe(self) -> str:
        """``CenterTrack <backbone> node=<node>``."""
        return f"CenterTrack {self.cfg.model.backbone} node={self.cfg.model.node}"

    def train_set(self) -> VideoDataset:
        """Frame pairs with CenterTrack's augmentation, previous heatmap and targets."""
        d = self.cfg.data
        transform = CenterTrackTrainTransform(
            self.heads(with_data=True),
            input_size=d.crop_size,
            down_ratio=CenterNet.output_stride,
            mean=d.mean,
            std=d.std,
            bgr=d.bgr,
            scale_range=d.crop_scale_range,
            flip=0.5 if d.hflip else 0.0,
            color_aug=d.color_aug,
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

    def val_set(self) -> VideoDataset:
        """The validation videos, frame by frame."""
        return self.dataset(self.cfg.data.val_split)

    # Tracking ------------------------------------------------------------------------------------------

    def tracker(self, name: str | None = None) -> Tracker:
        """The tracker ``name`` (default ``evaluation.tracker``) with the config's thresholds."""
        return TRACKERS[name or self.cfg.evaluation.tracker].from_config(self.cfg.evaluation)

    def new_state(self, baseline: bool = False) -> TrackState:
        """A stream's state: the configured tracker (and, with ``baseline``, the IoU-only one on the same
        detections)."""
        trackers = {self.cfg.evaluation.tracker: self.tracker()}
        if baseline and "iou" not in trackers:
            trackers["iou"] = self.tracker("iou")
        return TrackState(trackers)

    def out_thresh(self) -> float:
        """Detections passed to the tracker score above this (the configured tracker's floor)."""
        return TRACKERS[self.cfg.evaluation.tracker].score_floor(self.cfg.evaluation)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, dataset: VideoDataset, dist: DistInfo, *, out_dir: Path | None = None
    ) -> dict[str, float]:
        """TrackEval metrics of the configured tracker on ``dataset`` (video by video, frames in order), with the
        IoU-only baseline on the same detections (``evaluation.baseline``) as ``baseline_*``; ``out_dir`` gets
        one MOT result file per sequence."""
        e = self.cfg.evaluation
        transform = self.eval_transform()
        heads = self.heads(with_data=True)
        videos = [frame.video for frame in dataset.frames]
        items = eval_batches(
            dataset,
            dist,
            num_workers=self.cfg.data.num_workers,
            batch_size=None,
            collate_fn=keep_sample,
            unit="frame",
            videos=videos,
        )
        names = tuple(self.classes)
        mot_ids = self.source.class_ids(self.cfg.data, names)
        evaluators = {"main": MotEvaluator(dataset.ground_truth, names, mot_ids, distractors=self.source.distractors)}
        if e.baseline and e.tracker != "iou":
            evaluators["baseline"] = MotEvaluator(
                dataset.ground_truth, names, mot_ids, distractors=self.source.distractors
            )
        state = self.new_state(baseline="baseline" in evaluators)
        was_training = model.training
        model.eval()
        try:
            for item in items:
                if item["first"]:
                    state.reset()
                _, tracks = track_frame(
                    model,
                    item["image"],
                    state,
                    heads=heads,
                    transform=transform,
                    max_dets=e.max_dets,
                    out_thresh=self.out_thresh(),
                )
                found = list(tracks.values())
                for evaluator, result in zip(evaluators.values(), found, strict=True):
                    evaluator.process(item, result)
        finally:
            model.train(was_training)
        for evaluator in evaluators.values():
            evaluator.gather(dist)
        if not dist.is_main:
            return {}
        metrics = evaluators["main"].compute()
        self.logger.info(f"tracker '{e.tracker}':\n" + evaluators["main"].table())
        if "baseline" in evaluators:
            base = evaluators["baseline"].compute()
            metrics.update({f"baseline_{k}": v for k, v in base.items() if "/" not in k})
            self.logger.info(
                f"baseline (IoU-only association of the same detections): HOTA {format_metric(base['HOTA'])}  "
                f"MOTA {format_metric(base['MOTA'])}  IDF1 {format_metric(base['IDF1'])}  IDSW {base['IDSW']:.0f}"
            )
        if out_dir is not None:
            paths = evaluators["main"].write_results(Path(out_dir))
            self.logger.info(f"MOT result files of {len(paths)} sequences written to {out_dir}")
        return metrics

    @classmethod
    def add_test_args(cls, parser: argparse.ArgumentParser) -> None:
        """``--out DIR`` (MOT result files) and ``--tracker``."""
        parser.add_argument("--out", metavar="DIR", help="write one MOT result file per sequence into DIR")
        parser.add_argument("--tracker", choices=("centertrack", "byte", "iou"), help="override evaluation.tracker")

    def test_options(self, args: argparse.Namespace) -> dict[str, Any]:
        if args.tracker:
            self.cfg.evaluation.tracker = args.tracker
        return {"out_dir": Path(args.out) if args.out else None}

    def test_summary(self, metrics: Mapping[str, float]) -> str:
        """``HOTA .. MOTA .. IDF1 .. IDSW ..`` and the baseline's, when measured."""
        line = "  ".join(f"{k} {format_metric(metrics[k])}" for k in ("HOTA", "MOTA", "IDF1"))
        line += f"  IDSW {metrics['IDSW']:.0f}"
        if "baseline_HOTA" in metrics:
            base = "  ".join(f"{k} {format_metric(metrics['baseline_' + k])}" for k in ("HOTA", "MOTA", "IDF1"))
            line += f"  |  IoU baseline: {base}  IDSW {metrics['baseline_IDSW']:.0f}"
        return line

    def predict(
        self,
        model: nn.Module,
        images: Sequence[np.ndarray],
        *,
        tta: bool = False,
        timer: StageTimer = NULL_TIMER,
        state: TrackState | None = None,
    ) -> list[TrackResult]:
        """:class:`TrackResult` of each RGB frame; ``state`` (a stream's) carries the tracks from frame to frame,
        without one every image is the first frame of its own video."""
        e = self.cfg.evaluation
        heads, transform = self.heads(with_data=True), self.eval_transform()
        results = []
        for image in images:
            current = state if state is not None else self.new_state()
            _, tracks = track_frame(
                model,
                image,
                current,
                heads=heads,
                transform=transform,
                max_dets=e.max_dets,
                out_thresh=self.out_thresh(),
                timer=timer,
            )
            found = tracks[e.tracker]
            trails = current.extra.setdefault("trails", {})
            alive = set()
            for box, track_id in zip(found["boxes"], found["track_ids"], strict=True):
                points = trails.setdefault(int(track_id), [])
                points.append(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
                del points[:-TRAIL_LENGTH]
                alive.add(int(track_id))
            for track_id in [t for t in trails if t not in alive]:
                del trails[track_id]
            results.append(
                TrackResult(
                    image=image,
                    boxes=np.asarray(found["boxes"], np.float32).reshape(-1, 4),
                    scores=np.asarray(found["scores"], np.float32),
                    labels=np.asarray(found["labels"], np.int64),
                    track_ids=np.asarray(found["track_ids"], np.int64),
                    class_names=tuple(self.classes),
                    frame=current.frames,
                    trails={k: list(v) for k, v in trails.items()},
                )
            )
        return results

    def random_inputs(
        self, batch: int, size: tuple[int, int], generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Images and previous images ~ N(0, 1) and, with ``model.pre_hm``, previous heatmaps ~ U(0, 1)."""
        out = {name: torch.randn(batch, 3, *size, generator=generator) for name in ("image", "pre_image")}
        if self.cfg.model.pre_hm:
            out["pre_hm"] = torch.rand(batch, 1, *size, generator=generator)
        return out

    def random_batch(self, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
        """The detector's random targets with random inputs (:meth:`random_inputs`)."""
        out = super().random_batch(batch, size, device)
        return {**out, **{name: x.to(device) for name, x in self.random_inputs(batch, size).items()}}

    def benchmark_video(self, frames: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
        """A synthetic video of the demo's kind (3–8 moving pedestrians and cars) at ``size``."""
        from ..data.synthetic.mot import synthetic_video

        return synthetic_video(seed, frames, *size)[0]
