"""The task contract: what the trainer, the tools, the Predictor and the benchmark call.

A task is one class (one file under ``dla_dense/tasks/``) registered in :data:`dla_dense.tasks.TASKS`. It
declares its name, its validation ``metric``, its config ``schemas`` and its :class:`~dla_dense.tasks.parts.TaskInfo`
(texts, network description, synthetic data, test flags, benchmark coverage and probe, stream state), and
implements:

- ``build_model()`` -> ``nn.Module``;
- ``train_set()`` / ``val_set()`` -> datasets (``prepare()`` writes synthetic data first);
- ``loss(model, batch, device)`` -> ``{term: scalar tensor}``, unweighted; the trainer logs every term and
  minimises ``total_loss(terms)``, with ``build_criterion()``'s learned part (if any) trained beside the model;
- ``evaluate(model, dataset, dist, **options)`` -> ``{metric: float}``, logging a table;
- ``predict(model, images, tta=..., timer=..., state=...)`` -> typed results (:mod:`dla_dense.inference.results`)
  that draw themselves, for :class:`~dla_dense.Predictor` and ``tools/infer.py``;
- ``meta()``, stored with checkpoints, and ``adopt_checkpoint(extras)`` when one is loaded.

Everything but the abstract methods has a default, so a task overrides only what it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from ..config import Config, DataConfig, EvalConfig, ModelConfig
from ..dist import DistInfo
from ..engine.logging import get_logger
from ..errors import DLADenseError
from ..ops.losses import weighted_sum
from .parts import PLAIN, Frames, PredictRun, TaskInfo


class Task(ABC):
    """One kind of model and data: see the module docstring for the contract."""

    #: The key of :data:`~dla_dense.tasks.TASKS` (``cfg.model.task``).
    name: ClassVar[str]
    #: What the task declares beside its behaviour (tool texts, test flags, benchmark, stream state).
    info: ClassVar[TaskInfo]
    #: The validation metric whose best value is kept as ``best.pth`` (higher is better).
    metric: ClassVar[str]
    #: Dataclasses validating the ``model``, ``data`` and ``evaluation`` sections of this task's configs.
    schemas: ClassVar[dict[str, type]] = {"model": ModelConfig, "data": DataConfig, "evaluation": EvalConfig}

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.logger = get_logger()
        #: Events of the training batches since the last log line (e.g. ``unlabelled_batches``); the trainer
        #: writes them into that line and clears them.
        self.counters: Counter[str] = Counter()
        #: The learned part of the loss (:meth:`build_criterion`), None until built or when there is none.
        self.criterion: nn.Module | None = None

    def prepare(self) -> None:
        """Write the synthetic dataset first when ``data.synthetic`` asks for one (main process only)."""
        d = self.cfg.data
        if d.synthetic is None:
            return
        if self.info.synthetic is None:
            raise DLADenseError(f"data.synthetic is not available for {self.name} configs; remove it")
        self.info.synthetic(d.root, **d.synthetic)

    @abstractmethod
    def build_model(self) -> nn.Module:
        """The network of ``cfg.model`` (random or ``pretrained`` backbone weights)."""

    @abstractmethod
    def train_set(self) -> Dataset:
        """The training split with its augmentation."""

    @abstractmethod
    def val_set(self) -> Dataset:
        """The validation split (``data.val_split``)."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
        """Unweighted loss terms ``{name: scalar}`` of ``model`` on one training ``batch``."""

    def total_loss(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """What is minimised: the sum of ``terms`` in their order (a task with weights overrides it)."""
        return weighted_sum(terms, {})

    def build_criterion(self, identities: int | None = None) -> nn.Module | None:
        """The learned part of the loss (e.g. an identity classifier), built after :meth:`train_set` (``identities``:
        its size where no training data was read); the trainer optimises it with the model and keeps it in training
        checkpoints, and :meth:`loss` / :meth:`total_loss` use it as :attr:`criterion`. None (the default): the
        loss has no parameters."""
        return None

    @abstractmethod
    def evaluate(self, model: nn.Module, dataset: Dataset, dist: DistInfo, **options: Any) -> dict[str, float]:
        """Metrics of ``model`` on ``dataset`` (all processes take part; the main process logs the table)."""

    def meta(self) -> dict[str, Any]:
        """What a checkpoint records besides the weights (task, classes, input normalisation)."""
        d = self.cfg.data
        return {"task": self.name, "mean": list(d.mean), "std": list(d.std)}

    def adopt_checkpoint(self, extras: Mapping[str, Any]) -> None:
        """Adjust the config to a loaded checkpoint (``load_checkpoint``'s return value); default: nothing."""
        return None

    def predict(self, model: nn.Module, images: Frames, run: PredictRun = PLAIN, **options: Any) -> list[Any]:
        """The typed results (:mod:`dla_dense.inference.results`) of ``model`` (eval mode) for RGB ``images``
        ``[H, W, 3]`` uint8, one per image; ``run`` (:class:`~dla_dense.tasks.parts.PredictRun`) says whether to
        use test-time augmentation, times each stage and holds a stream's state (a task that keeps nothing
        between frames ignores it)."""
        raise no_inference(self)


def backbone_options(model: ModelConfig) -> dict[str, Any]:
    """The backbone keywords of a ``model`` config section: ``pretrained``, ``frozen_stages``, ``norm_eval``."""
    return {"pretrained": model.pretrained, "frozen_stages": model.frozen_stages, "norm_eval": model.norm_eval}


def check_num_classes(model: ModelConfig, found: int, where: str, what: str = "classes") -> None:
    """Raise when the dataset at ``where`` has ``found`` classes but ``model.num_classes`` differs."""
    if found != model.num_classes:
        raise DLADenseError(
            f"model.num_classes={model.num_classes} but {where} has {found} {what}; set model.num_classes={found}"
        )


def no_inference(task: Task) -> DLADenseError:
    """The error for a task without pictures (no ``info.infer_output``)."""
    return DLADenseError(
        f"'{task.cfg.path}' is a {task.name} config, which tools/infer.py does not draw; {task.info.infer_elsewhere}"
    )
