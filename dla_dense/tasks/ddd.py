"""Monocular 3D detection, CenterNet's ``ddd`` on DLA-34: 3D boxes of pedestrians, cars and cyclists from one
camera image (KITTI), with heads for depth, rotation and size beside the box head, evaluated with the official
KITTI metrics."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import Config
from ..config.schemas import TASK_SCHEMAS
from ..data.ddd_transforms import DddTrainTransform, SmokeTrainTransform
from ..data.det_transforms import CenterNetTrainTransform
from ..data.kitti import KITTI_CLASSES, KittiDataset
from ..data.synthetic.kitti import make_synthetic_kitti
from ..dist import DistInfo
from ..engine.sampling import eval_batches, keep_sample
from ..errors import DLADenseError
from ..evaluation import run_evaluation
from ..evaluation.kitti import LOOSE_OVERLAPS, OFFICIAL_OVERLAPS, KittiEvaluator
from ..evaluation.undefined import format_metrics
from ..fields import Fields, image_fields
from ..heads import CenterNetHeads
from ..heads.ddd import AmodalOffsetHead, DddBoxHead, DepthHead, DimensionHead, RotationHead
from ..heads.smoke import SmokeKeypointHead, SmokeRegressionHead
from ..inference.detection import detect, detect_batch
from ..inference.results3d import Det3dResult
from ..models.centernet import CenterNet
from ..models.group_norm import with_group_norm
from ..ops.ddd import default_calib
from .base import Task
from .centernet import CenterNetTask, DetProbe, crop_options
from .parts import PLAIN, BenchmarkSpec, Frames, PredictRun, TaskInfo, TestOptions
from .registry import register_task


class DddTest(TestOptions):
    """The 3D test tool: ``--out DIR`` (one KITTI result file per image) and ``--loose`` overlaps."""

    @classmethod
    def add_args(cls, parser: argparse.ArgumentParser) -> None:
        """``--out DIR``, ``--loose``."""
        parser.add_argument("--out", metavar="DIR", help="write one KITTI result file per image into DIR")
        parser.add_argument("--loose", action="store_true", help="CenterNet's loose overlaps (car 0.5 in BEV and 3D)")

    @classmethod
    def options(cls, task: Task, args: argparse.Namespace) -> dict[str, Any]:
        """``out_dir`` from ``--out``; ``--loose`` sets ``evaluation.overlaps``."""
        if args.loose:
            task.cfg.evaluation.overlaps = "loose"
        return {"out_dir": Path(args.out) if args.out else None}

    @classmethod
    def summary(cls, task: Task, metrics: Mapping[str, float]) -> str:
        """Car AP3D, APBEV and AP2D at moderate difficulty (R40), and with the mean-depth baseline its AP3D and
        APBEV."""
        keys = {"AP3D": "Car/3d/moderate/R40", "APBEV": "Car/bev/moderate/R40", "AP2D": "Car/2d/moderate/R40"}
        line = "Car moderate R40: " + format_metrics({k: metrics[v] for k, v in keys.items() if v in metrics})
        baseline = {k: metrics[f"mean_depth/{v}"] for k, v in keys.items() if f"mean_depth/{v}" in metrics}
        if baseline:
            baseline.pop("AP2D", None)
            line += "  |  at the mean depth: " + format_metrics(baseline)
        return line


class DddProbe(DetProbe):
    """The probe of a CenterNet-family task with the image files of a KITTI split."""

    def image_paths(self, split: str) -> list[Path]:
        """The images of ``split``, in the split file's order."""
        dataset = self.task.dataset(split)
        return [dataset.image_path(i) for i in range(len(dataset))]


@register_task
class DddTask(CenterNetTask):
    """CenterNet ``ddd`` on KITTI object data: the box, rotation, dimension and depth heads (and CenterTrack's
    amodal offset), CenterNet's ``ddd`` augmentation, the KITTI metrics; results carry 3D boxes."""

    name = "ddd"
    info = TaskInfo(
        title="a CenterNet monocular 3D detector",
        reports="KITTI AP per class (2D, AOS, bird's-eye view, 3D; easy / moderate / hard; R40 and R11)",
        infer_output="the image with projected 3D boxes beside a bird's-eye view (<stem>_boxes3d.jpg)",
        infer_suffix="boxes3d",
        network="CenterNet {backbone} node={node} with 3D heads",
        docs="tasks/ddd.md",
        synthetic=make_synthetic_kitti,
        test=DddTest,
        bench=BenchmarkSpec(input_size=(384, 1280), compare=("fast", "bf16", "node"), archs=("node",)),
        probe=DddProbe,
    )
    metric = "AP3D"
    schemas = TASK_SCHEMAS["ddd"]

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self._mean_depth: float | None = None

    def dataset(self, split: str, transform=None) -> KittiDataset:
        """The KITTI split ``split`` of ``data.root`` (``data.image_sets``)."""
        d = self.cfg.data
        return KittiDataset(d.root, split, image_sets=d.image_sets, classes=self.classes, transform=transform)

    @property
    def classes(self) -> tuple[str, ...]:
        """The trained classes: the config's, else Pedestrian, Car, Cyclist."""
        return tuple(self.cfg.data.classes or KITTI_CLASSES)

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """Box, rotation, dimension, (amodal offset) and depth heads, weighted as ``model`` says; SMOKE's keypoint
        and regression heads with ``model.recipe="smoke"``."""
        m = self.cfg.model
        if m.recipe == "smoke":
            objs = self.cfg.data.max_objs
            return CenterNetHeads(
                [
                    SmokeKeypointHead(m.num_classes, max_objs=objs, hm_weight=m.hm_weight),
                    SmokeRegressionHead(self.classes, max_objs=objs, weight=m.reg_weight),
                ]
            )
        box = DddBoxHead(
            m.num_classes,
            reduction=m.reduction,
            max_objs=self.cfg.data.max_objs,
            hm_weight=m.hm_weight,
            wh_weight=m.wh_weight,
            off_weight=m.off_weight,
        )
        heads = [box, RotationHead(weight=m.rot_weight), DimensionHead(reduction=m.reduction, weight=m.dim_weight)]
        if m.amodal_offset:
            heads.append(AmodalOffsetHead(weight=m.amodel_offset_weight))
        return CenterNetHeads([*heads, DepthHead(reduction=m.reduction, weight=m.dep_weight)])

    def build_criterion(self, identities: int | None = None) -> None:
        """None: no head of this task has a learned loss."""
        self.criterion = None
        return None

    def build_model(self) -> CenterNet:
        """CenterNet's network with the heads; with ``model.recipe="smoke"`` in SMOKE's GroupNorm form."""
        model = super().build_model()
        if self.cfg.model.recipe == "smoke":
            with_group_norm(model, list(self.heads().outputs))
        return model

    def train_set(self) -> KittiDataset:
        """The training split through CenterNet's ``ddd`` augmentation and the heads' targets."""
        return self.dataset(self.cfg.data.train_split, transform=self.train_transform())

    def train_transform(self) -> DddTrainTransform | CenterNetTrainTransform:
        """CenterNet's ``ddd`` input (width-fitted, scaled and shifted with probability ``data.aug``, no flip), with
        ``data.augmentation="centertrack"`` CenterTrack's crop, flip and colour with depth scaled by the crop, or
        with ``"smoke"`` SMOKE's flip, shift and scale."""
        d = self.cfg.data
        if d.augmentation == "centertrack":
            if self.cfg.model.recipe == "smoke":
                raise DLADenseError(
                    "model.recipe='smoke' does not train on CenterTrack's crops (its depth is not scaled); "
                    "set data.augmentation='smoke' or 'centernet'"
                )
            return CenterNetTrainTransform(self.heads(with_data=True), **crop_options(self.cfg))
        options = {
            "input_size": d.crop_size,
            "down_ratio": CenterNet.output_stride,
            "mean": d.mean,
            "std": d.std,
            "bgr": d.bgr,
            "aug": d.aug,
            "scale": d.scale,
            "shift": d.shift,
        }
        if d.augmentation == "smoke":
            return SmokeTrainTransform(self.heads(with_data=True), flip=0.5 if d.hflip else 0.0, **options)
        return DddTrainTransform(self.heads(with_data=True), **options)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, dataset: KittiDataset, dist: DistInfo, *, out_dir: Path | None = None
    ) -> dict[str, float]:
        """The KITTI metrics of ``model`` on ``dataset`` (every image of the split), logging the per-class table;
        ``out_dir`` gets one KITTI result file per image."""
        overlaps = LOOSE_OVERLAPS if self.cfg.evaluation.overlaps == "loose" else OFFICIAL_OVERLAPS
        items = eval_batches(
            dataset, dist, num_workers=self.cfg.data.num_workers, batch_size=None, collate_fn=keep_sample, unit="img"
        )
        e = self.cfg.evaluation
        heads, transform = self.heads(with_data=True), self.eval_transform()

        def predict(model: nn.Module, item: Mapping[str, Any]) -> Fields:
            """One image's detections above ``evaluation.score_thresh``, placed in 3D with its fields."""
            fields = [image_fields(item)]
            found = detect(model, item["image"], heads=heads, transform=transform, max_dets=e.max_dets, fields=fields)
            keep = found["scores"] > e.score_thresh
            return {name: value[keep] for name, value in found.items()}

        baseline = self.mean_depth() if e.baseline else None
        evaluator = KittiEvaluator(dataset, self.classes, overlaps, baseline_depth=baseline)
        return run_evaluation(model, items, predict, evaluator, dist, logger=self.logger, out=out_dir)

    def mean_depth(self) -> float:
        """The mean depth (m) of the trained classes' objects in the training split's labels (read once)."""
        if self._mean_depth is None:
            self._mean_depth = self._labelled_mean_depth()
        return self._mean_depth

    def _labelled_mean_depth(self) -> float:
        dataset = self.dataset(self.cfg.data.train_split)
        depths = [
            objects.locations[[t in self.classes for t in objects.types], 2]
            for objects in (dataset.ground_truth(i) for i in range(len(dataset)))
        ]
        found = np.concatenate(depths) if depths else np.zeros(0)
        if not len(found):
            raise DLADenseError(f"evaluation.baseline needs objects of {self.classes} in the training split's labels")
        return float(found.mean())

    def predict(self, model: nn.Module, images: Frames, run: PredictRun = PLAIN) -> list[Det3dResult]:
        """:class:`Det3dResult` of each RGB image; each image's ``calib`` field is its camera (without one:
        CenterTrack's default, focal 1200 px at the image centre)."""
        e = self.cfg.evaluation
        fields = [
            {"orig_size": image.shape[:2], **(run.fields[k] if run.fields else {})} for k, image in enumerate(images)
        ]
        found = detect_batch(
            model,
            images,
            heads=self.heads(with_data=True),
            transform=self.eval_transform(),
            max_dets=e.max_dets,
            timer=run.timer,
            fields=fields,
        )
        with run.timer.stage("postprocess"):
            return [self._result(image, f, own) for image, f, own in zip(images, found, fields, strict=True)]

    def _result(self, image: np.ndarray, found: Fields, own: Mapping[str, Any]) -> Det3dResult:
        """The :class:`Det3dResult` of one image's decoded fields."""
        calib = own.get("calib")
        calib = default_calib(image.shape[1], image.shape[0]) if calib is None else np.asarray(calib, np.float64)

        def array(name: str) -> np.ndarray:
            return found[name].numpy()

        return Det3dResult(
            image=image,
            boxes=array("boxes").astype(np.float32),
            scores=array("scores").astype(np.float32),
            labels=array("labels").astype(np.int64),
            class_names=self.classes,
            alpha=array("alpha").astype(np.float32),
            dims=array("dims").astype(np.float32),
            locations=array("locations").astype(np.float32),
            rotation_y=array("rotation_y").astype(np.float32),
            calib=calib,
        )
