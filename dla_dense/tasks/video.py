"""Tracking on videos: what the trackers of this package (CenterTrack, FairMOT) share. Videos in the MOT Challenge
layout, CenterTrack's video-COCO json, CrowdHuman or FairMOT's JDE label files; a configurable tracker; TrackEval
metrics video by video beside an IoU-only baseline; per-frame prediction through a stream."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import Config
from ..data.synthetic.mot import make_synthetic_mot, synthetic_video
from ..data.video import VideoDataset
from ..data.video_sources import VIDEO_SOURCES
from ..dist import DistInfo
from ..engine.sampling import eval_batches, keep_sample
from ..evaluation import Comparison, run_evaluation
from ..evaluation.kitti_tracking import KittiTrackEvaluator
from ..evaluation.mot import MotEvaluator
from ..evaluation.undefined import format_metric
from ..fields import Fields, image_fields
from ..inference.results import TrackResult
from ..inference.results3d import Track3dResult
from ..inference.tracking import TrackState, track_frame
from ..ops.ddd import default_calib
from ..tracking import TRACKERS, build_tracker
from ..weights import load_checkpoint
from .base import Task
from .centernet import CenterNetTask, DetProbe
from .parts import PLAIN, BenchmarkSpec, Frames, PredictRun, TaskInfo, TestOptions

#: Recent centres kept per track for the trails ``tools/infer.py`` draws.
TRAIL_LENGTH = 20


class VideoTest(TestOptions):
    """The tracking test tool: ``--out DIR`` (result files in the data's format) and ``--tracker``."""

    @classmethod
    def add_args(cls, parser: argparse.ArgumentParser) -> None:
        """``--out DIR`` (result files in the data's format) and ``--tracker``."""
        parser.add_argument(
            "--out", metavar="DIR", help="write one result file per sequence into DIR (MOT Challenge or KITTI tracking)"
        )
        parser.add_argument("--tracker", choices=tuple(TRACKERS), help="override evaluation.tracker")

    @classmethod
    def options(cls, task: Task, args: argparse.Namespace) -> dict[str, Any]:
        """``out_dir`` from ``--out``; ``--tracker`` goes into ``evaluation.tracker``."""
        if args.tracker:
            task.cfg.evaluation.tracker = args.tracker
        return {"out_dir": Path(args.out) if args.out else None}

    @classmethod
    def summary(cls, task: Task, metrics: Mapping[str, float]) -> str:
        """``HOTA .. DetA .. AssA .. MOTA .. IDF1 .. IDSW ..`` and the baseline's, when measured."""
        line = _headline(metrics)
        if "baseline_HOTA" in metrics:
            line += f"  |  IoU baseline: {_headline(metrics, 'baseline_')}"
        return line


class VideoProbe(DetProbe):
    """A CenterNet-family probe with the frames of a video task and a synthetic video for the ``frame`` mode."""

    def image_paths(self, split: str) -> list[Path]:
        """The frames of ``split``, video by video."""
        return [f.path for f in self.task.dataset(split).frames]

    def video(self, frames: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
        """A synthetic video of the demo's kind (3–8 moving pedestrians and cars) at ``size``."""
        return synthetic_video(seed, frames, *size)[0]


class VideoTask(CenterNetTask):
    """What trackers on videos share: the video sources (``data.dataset``: ``mot``, ``video_coco``, ``crowdhuman``,
    ``jde``), evaluation video by video with a configurable tracker and TrackEval metrics beside an IoU-only
    baseline, per-frame prediction through a stream's tracker, and ``model.init_from``. Subclasses give the network,
    its heads and the training items (:class:`~dla_dense.tasks.track.TrackTask`,
    :class:`~dla_dense.tasks.fairmot.FairMotTask`)."""

    metric = "HOTA"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.new_state(compare=True)  # a tracker this model cannot feed is one line now, not after training

    @property
    def source(self):
        """The :class:`~dla_dense.data.video_sources.VideoSource` of ``data.dataset``."""
        return VIDEO_SOURCES[self.cfg.data.dataset]()

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names: the config's, else the dataset's (MOT: the names of ``data.mot_classes``)."""
        if self._classes is None:
            self._classes = self.source.classes(self.cfg.data)
            if self._classes is None:
                self.dataset(self.cfg.data.val_split)
        return self._classes

    def dataset(self, split: str, transform=None) -> VideoDataset:
        """The videos of ``split`` (training items through ``transform``, as :meth:`item_options` says)."""
        frames, classes, truth = self.source.read(self.cfg.data, split, self.cfg.model.num_classes)
        self._classes = tuple(classes)
        return VideoDataset(frames, classes, ground_truth=truth, transform=transform, **self.item_options())

    def class_ids(self) -> tuple[int, ...]:
        """The dataset's class id of each label (MOT: ``data.mot_classes``; else label + 1)."""
        return tuple(self.source.class_ids(self.cfg.data, tuple(self.classes)))

    def item_options(self) -> dict[str, Any]:
        """:class:`~dla_dense.data.video.VideoDataset` keywords of the training items (frame pairs or frames)."""
        return {}

    def build_model(self) -> nn.Module:
        """The network of ``cfg.model`` (:attr:`network`: inputs -> ``{output: map}`` at stride 4), started from
        ``model.init_from`` where shapes fit."""
        model = super().build_model()
        m = self.cfg.model
        if m.init_from:
            load_checkpoint(model, m.init_from, strict=False)
            self.logger.info(f"initialised from '{m.init_from}' (tensors whose shapes fit)")
        return model

    def val_set(self) -> VideoDataset:
        """The validation videos, frame by frame."""
        return self.dataset(self.cfg.data.val_split)

    def evaluator(self, dataset: VideoDataset) -> MotEvaluator:
        """A scorer of tracks on ``dataset``: TrackEval's KITTI protocol for KITTI tracking, else its MOT
        Challenge protocol."""
        if self.source.protocol == "kitti":
            return KittiTrackEvaluator(dataset.ground_truth, self.classes)
        names, mot_ids = tuple(self.classes), self.class_ids()
        return MotEvaluator(dataset.ground_truth, names, mot_ids, distractors=self.source.distractors)

    # Tracking ------------------------------------------------------------------------------------------

    def new_state(self, compare: bool = False, tracker: str | None = None) -> TrackState:
        """A stream's state: ``tracker`` (a registry name; None: the configured ``evaluation.tracker``) and, with
        ``compare``, the trackers it is compared with on the same detections (``evaluation.compare_trackers``, then
        the IoU-only baseline with ``evaluation.baseline``); each sees the detections above its own floor."""
        e = self.cfg.evaluation
        names = [tracker or e.tracker]
        if compare:
            names += [n for n in (*e.compare_trackers, *(("iou",) if e.baseline else ())) if n not in names]
        fields = self.heads().fields
        trackers = {name: build_tracker(name, e, fields) for name in names}
        floors = {name: TRACKERS[name].score_floor(e) for name in names}
        return TrackState(trackers, floors)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, dataset: VideoDataset, dist: DistInfo, *, out_dir: Path | None = None
    ) -> dict[str, float]:
        """TrackEval metrics of the configured tracker on ``dataset`` (video by video, frames in order), with those
        of ``evaluation.compare_trackers`` on the same detections as ``<tracker>_*`` and of the IoU-only baseline
        (``evaluation.baseline``) as ``baseline_*``; ``out_dir`` gets one result file per sequence (MOT Challenge
        or KITTI tracking)."""
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
        state = self.new_state(compare=True)
        evaluators = {name: self.evaluator(dataset) for name in state.trackers}
        titles = {n: "IoU-only association" if n == "iou" else f"tracker '{n}'" for n in state.trackers}
        evaluator = Comparison(evaluators, titles=titles, prefixes={"iou": "baseline"}, headline=_headline)

        def predict(model: nn.Module, item: dict[str, Any]) -> dict[str, Any]:
            if item["first"]:
                state.reset()
            return track_frame(
                model,
                item["image"],
                state,
                heads=heads,
                transform=transform,
                max_dets=e.max_dets,
                out_thresh=state.floor,
                fields=image_fields(item),
            )[1]

        return run_evaluation(model, items, predict, evaluator, dist, logger=self.logger, out=out_dir)

    def predict(self, model: nn.Module, images: Frames, run: PredictRun = PLAIN) -> list[TrackResult]:
        """:class:`TrackResult` of each RGB frame; ``run.state`` (a stream's) carries the tracks from frame to frame,
        without one every image is the first frame of its own video."""
        e = self.cfg.evaluation
        heads, transform = self.heads(with_data=True), self.eval_transform()
        results = []
        for k, image in enumerate(images):
            current = run.state if run.state is not None else self.new_state()
            _, tracks = track_frame(
                model,
                image,
                current,
                heads=heads,
                transform=transform,
                max_dets=e.max_dets,
                out_thresh=current.floor,
                timer=run.timer,
                fields={"orig_size": image.shape[:2], **(run.fields[k] if run.fields else {})},
            )
            found = tracks[current.name]
            trails = current.extra.setdefault("trails", {})
            alive = set()
            for box, track_id in zip(found["boxes"], found["track_ids"], strict=True):
                points = trails.setdefault(int(track_id), [])
                points.append(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
                del points[:-TRAIL_LENGTH]
                alive.add(int(track_id))
            for track_id in [t for t in trails if t not in alive]:
                del trails[track_id]
            own = run.fields[k] if run.fields else {}
            results.append(track_result(self, image, found, current.frames, trails, own))
        return results


def track_result(
    task: VideoTask,
    image: np.ndarray,
    tracks: Fields,
    frame: int,
    trails: Mapping[int, list[tuple[float, float]]],
    fields: Mapping[str, Any],
) -> TrackResult | Track3dResult:
    """The result of one frame's ``tracks``: a :class:`Track3dResult` when they carry 3D boxes (``locations``;
    placed with the frame's ``calib`` field or CenterTrack's default camera), else a :class:`TrackResult`."""
    common = {
        "image": image,
        "boxes": np.asarray(tracks["boxes"], np.float32).reshape(-1, 4),
        "scores": np.asarray(tracks["scores"], np.float32),
        "labels": np.asarray(tracks["labels"], np.int64),
        "track_ids": np.asarray(tracks["track_ids"], np.int64),
        "class_names": tuple(task.classes),
        "frame": frame,
        "trails": {k: list(v) for k, v in trails.items()},
    }
    if "locations" not in tracks:
        return TrackResult(**common, class_ids=task.class_ids())
    calib = fields.get("calib")
    return Track3dResult(
        **common,
        alpha=np.asarray(tracks["alpha"], np.float32).reshape(-1),
        dims=np.asarray(tracks["dims"], np.float32).reshape(-1, 3),
        locations=np.asarray(tracks["locations"], np.float32).reshape(-1, 3),
        rotation_y=np.asarray(tracks["rotation_y"], np.float32).reshape(-1),
        calib=default_calib(image.shape[1], image.shape[0]) if calib is None else np.asarray(calib, np.float64),
    )


def _headline(metrics: Mapping[str, float], prefix: str = "") -> str:
    """``HOTA .. DetA .. AssA .. MOTA .. IDF1 .. IDSW ..`` of ``metrics`` (keys ``<prefix><name>``): detection and
    association beside HOTA, since each tracker's score floor changes the detections it keeps."""
    line = "  ".join(f"{k} {format_metric(metrics[prefix + k])}" for k in ("HOTA", "DetA", "AssA", "MOTA", "IDF1"))
    return f"{line}  IDSW {metrics[prefix + 'IDSW']:.0f}"


def video_stream_state(task: Task, tracker: str | None) -> TrackState:
    """A stream's state for a video task: the ``tracker`` named (None: the configured one;
    :meth:`VideoTask.new_state`)."""
    return task.new_state(tracker=tracker)


#: What every video task declares (each gives its title, network and benchmark).
VIDEO_INFO = TaskInfo(
    title="",
    reports="HOTA, MOTA, IDF1 and ID switches per class and sequence (TrackEval), beside an IoU-only baseline",
    infer_output="the frames with boxes, track ids and trails (a video for a video input), MOT txt with --save-txt",
    infer_suffix="tracks",
    synthetic=make_synthetic_mot,
    test=VideoTest,
    probe=VideoProbe,
    stream_state=video_stream_state,
)


def video_info(title: str, network: str, input_size: tuple[int, int], **more: Any) -> TaskInfo:
    """:data:`VIDEO_INFO` with a video task's title, network description and benchmark input (compared with bf16 and
    OpenVINO int8, in the infer, train and frame modes); ``more``: other :class:`TaskInfo` fields."""
    bench = BenchmarkSpec(input_size=input_size, compare=("bf16", "openvino-int8"), modes=("infer", "train", "frame"))
    return replace(VIDEO_INFO, title=title, network=network, bench=bench, **more)
