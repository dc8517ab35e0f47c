"""Semantic segmentation: DLA-up (ucbdrive/dla ``DLASeg``), Cityscapes or folder pairs, cross-entropy, mIoU."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ..config.schemas import TASK_SCHEMAS
from ..data.seg_sources import SEG_SOURCES, SegSource
from ..data.synthetic.cityscapes import make_synthetic_cityscapes
from ..data.transforms import build_seg_eval_transform, build_seg_train_transform
from ..dist import DistInfo
from ..engine.sampling import eval_batches
from ..errors import DLADenseError
from ..evaluation import SegEvaluator, run_evaluation
from ..evaluation.undefined import format_metrics
from ..inference.results import SegResult
from ..inference.segmentation import predict_seg
from ..inference.timing import same_shape
from ..models.inputs import batch_inputs
from ..models.segmentor import DLASeg
from ..outputs import output_dir
from ..visualize import overlay
from .base import Task, backbone_options, check_num_classes
from .parts import PLAIN, BenchmarkSpec, Frames, PredictRun, Probe, TaskInfo, TestOptions
from .registry import register_task


def safe_output_path(out_dir: Path, relative: str) -> Path:
    """``out_dir / relative``, refusing names (from datasets or configs) that would escape ``out_dir``."""
    path = (out_dir / relative).resolve()
    if not path.is_relative_to(out_dir.resolve()):
        raise DLADenseError(f"output name '{relative}' would be written outside '{out_dir}'; rename the input")
    return path


class SegTest(TestOptions):
    """The segmentation test tool: ``--tta``, ``--mode``, ``--out DIR``."""

    @classmethod
    def add_args(cls, parser: argparse.ArgumentParser) -> None:
        """``--tta``, ``--mode``, ``--out DIR``."""
        parser.add_argument("--tta", action="store_true", help="multi-scale (evaluation.tta_scales) + flip test")
        parser.add_argument("--mode", choices=["whole", "slide"], help="whole-image or sliding-window inference")
        parser.add_argument(
            "--out", metavar="DIR", help="write labelIds PNGs (Cityscapes format) and colour overlays here"
        )

    @classmethod
    def options(cls, task: Task, args: argparse.Namespace) -> dict[str, Any]:
        """``tta`` and ``out_dir`` from the flags; ``--mode`` goes into ``evaluation.mode``."""
        if args.mode:
            task.cfg.evaluation.mode = args.mode
        return {"tta": args.tta, "out_dir": output_dir(args.out) if args.out else None}

    @classmethod
    def summary(cls, task: Task, metrics: Mapping[str, float]) -> str:
        """``mIoU .. aAcc .. mAcc ..``."""
        return format_metrics({k: metrics[k] for k in ("mIoU", "aAcc", "mAcc")})


class SegProbe(Probe):
    """Random images and labels, validation images and the argmax agreement of a segmentation task."""

    def random_batch(self, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
        """Random images ``[batch, 3, *size]`` and labels ``[batch, *size]`` with an ignored strip on the left."""
        labels = torch.randint(0, self.task.cfg.model.num_classes, (batch, *size))
        labels[:, :, : size[1] // 16] = self.task.cfg.data.ignore_index
        return {"image": torch.randn(batch, 3, *size).to(device), "label": labels.to(device)}

    def agreement(self, pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """The share of pixels (in %) whose argmax equals the reference's."""
        same = sum(int((o.argmax(1) == r.argmax(1)).sum()) for o, r in pairs)
        total = sum(r[:, 0].numel() for _, r in pairs)  # pixels: N x H x W of each output
        return {"argmax_agreement_pct": 100 * same / total}

    def agreement_inputs(self, count: int, device: torch.device) -> list[torch.Tensor]:
        """Up to ``count`` normalised validation images ``[1, 3, H, W]``, cropped to multiples of 32."""
        self.task.prepare()
        dataset = self.task.val_set()
        images = []
        for i in range(min(count, len(dataset))):
            x = dataset[i]["image"]
            h, w = x.shape[-2] // 32 * 32, x.shape[-1] // 32 * 32
            if h and w:
                images.append(x[None, :, :h, :w].to(device))
        return images

    def image_paths(self, split: str) -> list[Path]:
        """The images of ``split``."""
        return list(self.task._dataset(split, None).images)


@register_task
class SegTask(Task):
    """Semantic segmentation: Cityscapes or folder pairs, cross-entropy, confusion-matrix mIoU."""

    name = "seg"
    info = TaskInfo(
        title="a DLA-up segmentation model",
        reports="per-class IoU table, mIoU and pixel accuracy",
        infer_output="a colour overlay with a legend (<stem>_overlay.jpg) and the label map (<stem>_labelIds.png)",
        infer_suffix="overlay",
        network="DLASeg {backbone}",
        docs="tasks/segmentation.md",
        synthetic=make_synthetic_cityscapes,
        test=SegTest,
        bench=BenchmarkSpec(
            input_size=(512, 1024), compare=("fast", "bf16", "smp-unet", "smp-fpn"), archs=("smp-unet", "smp-fpn")
        ),
        probe=SegProbe,
    )
    metric = "mIoU"
    schemas = TASK_SCHEMAS["seg"]

    @property
    def source(self) -> SegSource:
        """The kind of dataset ``data.dataset`` names (:data:`~dla_dense.data.seg_sources.SEG_SOURCES`)."""
        return SEG_SOURCES[self.cfg.data.dataset]()

    def _dataset(self, split: str, transform) -> Dataset:
        d = self.cfg.data
        dataset = self.source.open(d, split, transform)
        check_num_classes(self.cfg.model, len(dataset.classes), f"the {d.dataset} dataset at '{d.root}'")
        return dataset

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, from the dataset type (no data needed for Cityscapes)."""
        return self.source.classes(self.cfg.data)

    @property
    def palette(self) -> tuple[tuple[int, int, int], ...]:
        """One RGB colour per class."""
        return self.source.palette(self.cfg.data)

    def build_model(self) -> DLASeg:
        """``DLASeg`` of ``cfg.model``: images ``[N, 3, H, W]`` -> logits ``[N, num_classes, H, W]``."""
        m = self.cfg.model
        return DLASeg(m.backbone, m.num_classes, down_ratio=m.down_ratio, **backbone_options(self.cfg.model))

    def train_set(self) -> Dataset:
        """Training split with the augmentation pipeline of ``cfg.data``."""
        d = self.cfg.data
        transform = build_seg_train_transform(
            crop_size=d.crop_size,
            scale_range=d.scale_range,
            rotate=d.rotate,
            color_jitter=d.color_jitter,
            hflip=d.hflip,
            mean=d.mean,
            std=d.std,
            ignore_index=d.ignore_index,
        )
        return self._dataset(d.train_split, transform)

    def val_set(self) -> Dataset:
        """Validation split, normalised only."""
        d = self.cfg.data
        return self._dataset(d.val_split, build_seg_eval_transform(mean=d.mean, std=d.std))

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
        """``ce_loss``: pixel-wise cross-entropy of logits ``[N, C, H, W]`` against labels ``[N, H, W]``, ignoring
        ``ignore_index``. A batch without a labelled pixel gives 0 (no gradient) and is counted as
        ``unlabelled_batches`` in the log."""
        labels = batch["label"].to(device, non_blocking=True)
        logits = model(*batch_inputs(model, batch, device))
        ignore = self.cfg.data.ignore_index
        if not bool((labels != ignore).any()):  # all void: the mean over no pixel would be NaN
            self.counters["unlabelled_batches"] += 1
            return {"ce_loss": logits.float().sum() * 0.0}
        return {"ce_loss": F.cross_entropy(logits.float(), labels, ignore_index=ignore)}

    def meta(self) -> dict[str, Any]:
        """What a checkpoint records about the data: classes, palette, normalisation."""
        return {**super().meta(), "classes": list(self.classes), "palette": [list(c) for c in self.palette]}

    @torch.no_grad()
    def evaluate(
        self,
        model: nn.Module,
        dataset: Dataset,
        dist: DistInfo,
        *,
        tta: bool = False,
        out_dir: Path | None = None,
    ) -> dict[str, float]:
        """mIoU, pixel accuracy and per-class IoU of ``model`` on ``dataset``; logs the per-class table.

        ``tta`` uses ``evaluation.tta_scales`` with flipping. ``out_dir`` receives (through the evaluator)
        Cityscapes ``labelIds`` PNGs (or class-index PNGs for folder datasets) under ``labelIds/``, colour overlays
        under ``overlays/`` and the metrics as ``metrics.json``.
        """
        d = self.cfg.data
        batches = eval_batches(dataset, dist, num_workers=d.num_workers, batch_size=d.val_batch_size)

        def predict(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
            return self._probs(model, batch["image"].to(dist.device), tta).argmax(1)

        save = partial(self._write, out_dir) if out_dir is not None else None
        evaluator = SegEvaluator(self.classes, d.ignore_index, save=save)
        metrics = run_evaluation(model, batches, predict, evaluator, dist, logger=self.logger, out=out_dir)
        invalid = getattr(dataset, "invalid_label_pixels", 0)
        if dist.is_main and invalid:
            self.logger.info(f"{invalid} label pixels outside the classes were counted as ignore_index")
        return metrics

    def _probs(self, model: nn.Module, images: torch.Tensor, tta: bool) -> torch.Tensor:
        """Softmax ``[N, C, H, W]`` of normalised ``images`` ``[N, 3, H, W]`` as ``cfg.evaluation`` says."""
        e = self.cfg.evaluation
        return predict_seg(
            model,
            images,
            mode=e.mode,
            crop_size=e.crop_size,
            stride=e.stride,
            scales=e.tta_scales if tta else e.scales,
            flip=e.flip or tta,
        )

    def _write(self, out_dir: Path, batch: Mapping[str, Any], pred: torch.Tensor) -> None:
        d = self.cfg.data
        mean = torch.tensor(d.mean).view(3, 1, 1)
        std = torch.tensor(d.std).view(3, 1, 1)
        for name, image, p in zip(batch["name"], batch["image"], pred, strict=True):
            label_path = safe_output_path(out_dir, f"labelIds/{name}.png")
            label_path.parent.mkdir(parents=True, exist_ok=True)
            self.source.save_prediction(d, label_path, p)
            rgb = ((image.cpu() * std + mean).clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
            overlay_path = safe_output_path(out_dir, f"overlays/{name}.jpg")
            overlay_path.parent.mkdir(parents=True, exist_ok=True)
            overlay(rgb, p.numpy(), self.palette).save(overlay_path, quality=90)

    def predict(
        self, model: nn.Module, images: Frames, run: PredictRun = PLAIN, *, probabilities: bool = False
    ) -> list[SegResult]:
        """:class:`SegResult` of each RGB image ``[H, W, 3]`` (images of one size share a forward pass); with
        ``probabilities`` the softmax ``[C, H, W]`` too."""
        d = self.cfg.data
        transform = build_seg_eval_transform(mean=d.mean, std=d.std)
        device = next(model.parameters()).device
        results: list[SegResult | None] = [None] * len(images)
        for group in same_shape(images):
            with run.timer.stage("preprocess"):
                x = torch.stack([transform(image=images[i])["image"] for i in group]).to(device)
            with run.timer.stage("inference"):
                probs = self._probs(model, x, run.tta)
            with run.timer.stage("postprocess"):
                labels = probs.argmax(1).cpu().numpy()
                probs = probs.float().cpu().numpy() if probabilities else None
                for j, i in enumerate(group):
                    results[i] = SegResult(
                        image=images[i],
                        label_map=labels[j],
                        class_names=self.classes,
                        palette=self.palette,
                        probabilities=None if probs is None else probs[j],
                        label_ids=self._label_ids(),
                    )
        return results

    def _label_ids(self) -> tuple[int, ...] | None:
        """The dataset's label id of each class index (None where label files hold class indices)."""
        return self.source.label_ids(self.cfg.data)
