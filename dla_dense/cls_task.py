"""Classification fine-tuning on an ImageFolder: cross-entropy, top-1/top-5."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from timm.data import create_transform
from torch import nn
from torch.utils.data import Dataset

from .config import Config
from .data.imagefolder import ImageFolderDataset, make_synthetic_imagefolder
from .engine.dist import DistInfo
from .engine.logging import get_logger
from .engine.sampling import eval_batches
from .errors import DLADenseError
from .models.classifier import create_classifier


class ClsTask:
    """Fine-tune timm's DLA classifier (new ``fc`` of ``model.num_classes``) on ``data.root/<split>/<class>``."""

    metric = "top1"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.logger = get_logger()

    def prepare(self) -> None:
        """Write the synthetic shapes folder first when the config asks for it."""
        if self.cfg.data.synthetic is not None:
            make_synthetic_imagefolder(self.cfg.data.root, **self.cfg.data.synthetic)

    def build_model(self) -> nn.Module:
        """timm's DLA with a ``model.num_classes`` classifier."""
        m = self.cfg.model
        return create_classifier(m.backbone, pretrained=m.pretrained, num_classes=m.num_classes)

    def _dataset(self, split: str, training: bool) -> ImageFolderDataset:
        d = self.cfg.data
        size = d.crop_size
        transform = create_transform(
            input_size=(3, *size),
            is_training=training,
            mean=d.mean,
            std=d.std,
            hflip=0.5 if d.hflip else 0.0,
            color_jitter=d.color_jitter or None,
            scale=d.scale_range or (0.08, 1.0),
            crop_pct=1.0,
        )
        dataset = ImageFolderDataset(d.root, split, transform)
        if len(dataset.classes) != self.cfg.model.num_classes:
            raise DLADenseError(
                f"model.num_classes={self.cfg.model.num_classes} but '{dataset.root}' has {len(dataset.classes)} "
                f"class folders; set model.num_classes={len(dataset.classes)}"
            )
        return dataset

    def train_set(self) -> Dataset:
        """Training split with timm's training transform (random resized crop, flip, colour jitter)."""
        return self._dataset(self.cfg.data.train_split, training=True)

    def val_set(self) -> Dataset:
        """Validation split with timm's evaluation transform."""
        return self._dataset(self.cfg.data.val_split, training=False)

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Cross-entropy of the logits ``[N, num_classes]``."""
        logits = model(batch["image"].to(device, non_blocking=True))
        return F.cross_entropy(logits.float(), batch["label"].to(device))

    def meta(self) -> dict[str, Any]:
        """Normalisation of the inputs."""
        return {"task": "cls", "mean": list(self.cfg.data.mean), "std": list(self.cfg.data.std)}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, dataset: Dataset, dist: DistInfo) -> dict[str, float]:
        """Top-1 and top-5 accuracy (fractions) over ``dataset``, summed across processes."""
        was_training = model.training
        model.eval()
        d = self.cfg.data
        counts = torch.zeros(3, dtype=torch.float64)
        k = min(5, self.cfg.model.num_classes)
        for batch in eval_batches(dataset, dist, num_workers=d.num_workers, batch_size=d.val_batch_size):
            logits = model(batch["image"].to(dist.device)).float().cpu()
            top = logits.topk(k, dim=1).indices
            hit = top == batch["label"].view(-1, 1)
            counts += torch.tensor([hit[:, 0].sum().item(), hit.any(1).sum().item(), len(hit)], dtype=torch.float64)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(counts)
        model.train(was_training)
        metrics = {"top1": (counts[0] / counts[2]).item(), "top5": (counts[1] / counts[2]).item()}
        if dist.is_main:
            self.logger.info(
                f"top-1 {100 * metrics['top1']:.2f} %  top-5 {100 * metrics['top5']:.2f} %  ({int(counts[2])} images)"
            )
        return metrics
