"""Classification fine-tuning on an ImageFolder: timm's DLA with a new classifier, cross-entropy, top-1/top-5."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from timm.data import create_transform
from torch import nn
from torch.utils.data import Dataset

from ..config import Config
from ..config.schemas import TASK_SCHEMAS
from ..data.imagefolder import ImageFolderDataset
from ..data.synthetic.imagefolder import make_synthetic_imagefolder
from ..dist import DistInfo
from ..engine.sampling import eval_batches
from ..evaluation import TopKEvaluator, run_evaluation
from ..inference.results import ClsResult
from ..models.classifier import create_classifier
from ..models.inputs import batch_inputs
from .base import Task, check_num_classes
from .parts import PLAIN, Frames, PredictRun, Probe, TaskInfo
from .registry import register_task


class ClsProbe(Probe):
    """Random images and labels and the image files of a classification task."""

    def random_batch(self, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
        """Random images ``[batch, 3, *size]`` and labels ``[batch]``."""
        labels = torch.randint(0, self.task.cfg.model.num_classes, (batch,))
        return {"image": torch.randn(batch, 3, *size).to(device), "label": labels.to(device)}

    def image_paths(self, split: str) -> list[Path]:
        """The images of ``split``."""
        return [Path(path) for path, _ in self.task._dataset(split, training=False).samples]


@register_task
class ClsTask(Task):
    """Fine-tune timm's DLA classifier (new ``fc`` of ``model.num_classes``) on ``data.root/<split>/<class>``."""

    name = "cls"
    info = TaskInfo(
        title="a DLA ImageNet classifier on an ImageFolder (root/<split>/<class>/*)",
        reports="top-1 and top-5 accuracy",
        infer_output="the image with its top-5 classes (<stem>_top5.jpg)",
        infer_suffix="top5",
        synthetic=make_synthetic_imagefolder,
        docs="tasks/classification.md",
        probe=ClsProbe,
    )
    metric = "top1"
    schemas = {**Task.schemas, **TASK_SCHEMAS["cls"]}

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self._classes: tuple[str, ...] | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names: the class folders of the data (or those a loaded checkpoint stores)."""
        if self._classes is None:
            self._dataset(self.cfg.data.val_split, training=False)
        return self._classes

    def build_model(self) -> nn.Module:
        """timm's DLA with a ``model.num_classes`` classifier."""
        m = self.cfg.model
        return create_classifier(m.backbone, pretrained=m.pretrained, num_classes=m.num_classes)

    def _dataset(self, split: str, training: bool) -> ImageFolderDataset:
        d = self.cfg.data
        transform = self._eval_transform()
        if training:
            transform = create_transform(
                input_size=(3, *d.crop_size),
                is_training=True,
                mean=d.mean,
                std=d.std,
                hflip=0.5 if d.hflip else 0.0,
                color_jitter=d.color_jitter or None,
                scale=d.area_range,
                crop_pct=1.0,
            )
        dataset = ImageFolderDataset(d.root, split, transform)
        check_num_classes(self.cfg.model, len(dataset.classes), f"'{dataset.root}'", "class folders")
        self._classes = dataset.classes
        return dataset

    def _eval_transform(self) -> Callable:
        d = self.cfg.data
        return create_transform(input_size=(3, *d.crop_size), is_training=False, mean=d.mean, std=d.std, crop_pct=1.0)

    def train_set(self) -> Dataset:
        """Training split with timm's training transform (random resized crop, flip, colour jitter)."""
        return self._dataset(self.cfg.data.train_split, training=True)

    def val_set(self) -> Dataset:
        """Validation split with timm's evaluation transform."""
        return self._dataset(self.cfg.data.val_split, training=False)

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
        """``ce_loss``: cross-entropy of the logits ``[N, num_classes]`` against labels ``[N]``."""
        logits = model(*batch_inputs(model, batch, device))
        return {"ce_loss": F.cross_entropy(logits.float(), batch["label"].to(device))}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, dataset: Dataset, dist: DistInfo) -> dict[str, float]:
        """Top-1 and top-5 accuracy (fractions) over ``dataset``, summed across processes."""
        d = self.cfg.data
        batches = eval_batches(dataset, dist, num_workers=d.num_workers, batch_size=d.val_batch_size)

        def predict(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
            return model(*batch_inputs(model, batch, dist.device))

        evaluator = TopKEvaluator(min(5, self.cfg.model.num_classes))
        return run_evaluation(model, batches, predict, evaluator, dist, logger=self.logger)

    def meta(self) -> dict[str, Any]:
        """Task, normalisation and class names."""
        return {**super().meta(), "classes": list(self.classes)}

    def adopt_checkpoint(self, extras: Mapping[str, Any]) -> None:
        """Take the class names a checkpoint stores."""
        meta = extras.get("meta")
        saved = meta.get("classes") if isinstance(meta, dict) else None
        if isinstance(saved, list) and len(saved) == self.cfg.model.num_classes:
            self._classes = tuple(saved)

    def predict(self, model: nn.Module, images: Frames, run: PredictRun = PLAIN) -> list[ClsResult]:
        """:class:`ClsResult` (softmax over the classes) of each RGB image, through the evaluation transform."""
        transform = self._eval_transform()
        device = next(model.parameters()).device
        with run.timer.stage("preprocess"):
            x = torch.stack([transform(Image.fromarray(image)) for image in images]).to(device)
        with run.timer.stage("inference"):
            logits = model(x)
        with run.timer.stage("postprocess"):
            probs = logits.float().softmax(1).cpu().numpy()
            return [ClsResult(image, p, self.classes) for image, p in zip(images, probs, strict=True)]
