"""Tasks: what a config trains and how it is evaluated (segmentation, classification)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from .config import Config
from .data.cityscapes import CITYSCAPES_PALETTE, CityscapesSegDataset, class_subset
from .data.cityscapes_export import save_label_ids_png
from .data.folder import SegFolderDataset
from .data.transforms import build_seg_eval_transform, build_seg_train_transform
from .engine.dist import DistInfo
from .engine.logging import get_logger
from .engine.sampling import eval_batches
from .errors import DLADenseError
from .evaluation.segmentation import ConfusionMatrix, format_table
from .inference.segmentation import predict_seg
from .models.classifier import create_classifier
from .models.segmentor import DLASeg
from .visualize import overlay


def build_model(cfg: Config) -> nn.Module:
    """The network ``cfg.model`` describes: ``DLASeg`` (seg), ``CenterNet`` (det) or timm's DLA (cls)."""
    m = cfg.model
    if m.task == "det":
        from .det_task import build_detector

        return build_detector(cfg)
    if m.task == "seg":
        return DLASeg(
            m.backbone,
            m.num_classes,
            down_ratio=m.down_ratio,
            pretrained=m.pretrained,
            frozen_stages=m.frozen_stages,
            norm_eval=m.norm_eval,
        )
    return create_classifier(m.backbone, pretrained=m.pretrained, num_classes=m.num_classes)


def safe_output_path(out_dir: Path, relative: str) -> Path:
    """``out_dir / relative``, refusing names (from datasets or configs) that would escape ``out_dir``."""
    path = (out_dir / relative).resolve()
    if not path.is_relative_to(out_dir.resolve()):
        raise DLADenseError(f"output name '{relative}' would be written outside '{out_dir}'; rename the input")
    return path


class SegTask:
    """Semantic segmentation: Cityscapes or folder pairs, cross-entropy, confusion-matrix mIoU."""

    metric = "mIoU"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.logger = get_logger()

    def prepare(self) -> None:
        """Write the synthetic dataset first when the config asks for one (main process only)."""
        if self.cfg.data.synthetic is not None:
            from .data.synthetic import make_synthetic_cityscapes

            make_synthetic_cityscapes(self.cfg.data.root, **self.cfg.data.synthetic)

    def _dataset(self, split: str, transform) -> Dataset:
        d = self.cfg.data
        if d.dataset == "cityscapes":
            dataset = CityscapesSegDataset(d.root, split, transform=transform, classes=d.classes)
        elif d.dataset == "folder":
            if not d.classes:
                raise DLADenseError("data.classes must list the class names for a folder dataset")
            dataset = SegFolderDataset(
                d.root,
                split,
                d.classes,
                palette=d.palette,
                img_dir=d.img_dir,
                ann_dir=d.ann_dir,
                img_suffix=d.img_suffix,
                ann_suffix=d.ann_suffix,
                transform=transform,
                ignore_index=d.ignore_index,
            )
        else:
            raise DLADenseError(f"data.dataset='{d.dataset}' is not a segmentation dataset; use cityscapes or folder")
        if len(dataset.classes) != self.cfg.model.num_classes:
            raise DLADenseError(
                f"model.num_classes={self.cfg.model.num_classes} but the {d.dataset} dataset at '{d.root}' has "
                f"{len(dataset.classes)} classes; set model.num_classes={len(dataset.classes)}"
            )
        return dataset

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, from the dataset type (no data needed for Cityscapes)."""
        d = self.cfg.data
        return class_subset(d.classes)[0] if d.dataset == "cityscapes" else tuple(d.classes or ())

    @property
    def palette(self) -> tuple[tuple[int, int, int], ...]:
        """One RGB colour per class."""
        d = self.cfg.data
        if d.dataset == "cityscapes":
            return tuple(CITYSCAPES_PALETTE[t] for t in class_subset(d.classes)[1])
        if d.palette:
            return tuple(d.palette)
        from .data.folder import default_palette

        return default_palette(len(self.classes))

    def build_model(self) -> nn.Module:
        """The segmentation network of the config."""
        return build_model(self.cfg)

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

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Pixel-wise cross-entropy, ignoring ``ignore_index``."""
        images = batch["image"].to(device, non_blocking=True)
        labels = batch["label"].to(device, non_blocking=True)
        logits = model(images)
        return F.cross_entropy(logits.float(), labels, ignore_index=self.cfg.data.ignore_index)

    def meta(self) -> dict[str, Any]:
        """What a checkpoint records about the data: classes, palette, normalisation."""
        d = self.cfg.data
        return {
            "task": "seg",
            "classes": list(self.classes),
            "palette": [list(c) for c in self.palette],
            "mean": list(d.mean),
            "std": list(d.std),
        }

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

        ``tta`` uses ``evaluation.tta_scales`` with flipping. ``out_dir`` receives Cityscapes ``labelIds``
        PNGs (or class-index PNGs for folder datasets) under ``labelIds/`` and colour overlays under
        ``overlays/``.
        """
        e, d = self.cfg.evaluation, self.cfg.data
        was_training = model.training
        model.eval()
        matrix = ConfusionMatrix(len(self.classes), d.ignore_index)
        for batch in eval_batches(dataset, dist, num_workers=d.num_workers, batch_size=d.val_batch_size):
            images = batch["image"].to(dist.device)
            probs = predict_seg(
                model,
                images,
                mode=e.mode,
                crop_size=e.crop_size,
                stride=e.stride,
                scales=e.tta_scales if tta else e.scales,
                flip=e.flip or tta,
            )
            pred = probs.argmax(1)
            matrix.update(pred, batch["label"].to(pred.device))
            if out_dir is not None:
                self._write(out_dir, batch, pred.cpu())
        matrix.all_reduce()
        results = matrix.compute()
        model.train(was_training)
        if dist.is_main:
            self.logger.info("\n" + format_table(results, self.classes))
        metrics = {k: float(results[k]) for k in ("mIoU", "aAcc", "mAcc")}
        metrics.update({f"IoU.{n}": float(v) for n, v in zip(self.classes, results["IoU"], strict=True)})
        return metrics

    def _write(self, out_dir: Path, batch: dict[str, Any], pred: torch.Tensor) -> None:
        d = self.cfg.data
        mean = torch.tensor(d.mean).view(3, 1, 1)
        std = torch.tensor(d.std).view(3, 1, 1)
        for name, image, p in zip(batch["name"], batch["image"], pred, strict=True):
            label_path = safe_output_path(out_dir, f"labelIds/{name}.png")
            label_path.parent.mkdir(parents=True, exist_ok=True)
            if d.dataset == "cityscapes":
                save_label_ids_png(label_path, torch.from_numpy(class_subset(d.classes)[1])[p])
            else:
                Image.fromarray(p.numpy().astype(np.uint8)).save(label_path)
            rgb = ((image.cpu() * std + mean).clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
            overlay_path = safe_output_path(out_dir, f"overlays/{name}.jpg")
            overlay_path.parent.mkdir(parents=True, exist_ok=True)
            overlay(rgb, p.numpy(), self.palette).save(overlay_path, quality=90)


def build_task(cfg: Config):
    """The task object for ``cfg.model.task``: :class:`SegTask`, ``DetTask`` or ``ClsTask``."""
    if cfg.model.task == "seg":
        return SegTask(cfg)
    if cfg.model.task == "det":
        from .det_task import DetTask

        return DetTask(cfg)
    from .cls_task import ClsTask

    return ClsTask(cfg)
