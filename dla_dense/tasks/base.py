"""The task contract: what the trainer, the tools and the benchmark need from a task.

A task is one class (one file under ``dla_dense/tasks/``) registered in :data:`dla_dense.tasks.TASKS`. It
declares its config schemas and implements:

- ``build_model()`` -> ``nn.Module``;
- ``train_set()`` / ``val_set()`` -> datasets (``prepare()`` writes synthetic data first);
- ``loss(model, batch, device)`` -> ``{term: scalar tensor}``, unweighted; the trainer logs every term and
  minimises ``sum(loss_weights()[term] * value)``;
- ``evaluate(model, dataset, dist, **options)`` -> ``{metric: float}``, logging a table; ``metric`` names
  the one that selects ``best.pth``; ``add_test_args`` adds a test tool's flags and ``test_options`` turns
  them into ``options``;
- ``predict(model, images, tta=..., timer=..., state=...)`` -> typed results (:mod:`dla_dense.inference.results`) that
  draw themselves, for :class:`~dla_dense.Predictor` and ``tools/infer.py``;
- ``meta()``, stored with checkpoints, and ``adopt_checkpoint(extras)`` when one is loaded;
- ``random_batch`` (random images and targets, for the benchmark and the contract tests), ``agreement``
  (benchmark variants against eager) and ``export_outputs`` (ONNX).

Everything but the abstract methods has a default, so a task overrides only what it has.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..config import Config, DataConfig, EvalConfig, ModelConfig
from ..dist import DistInfo
from ..engine.logging import get_logger
from ..errors import DLADenseError
from ..evaluation.undefined import format_metrics
from ..inference.timing import NULL_TIMER, StageTimer
from ..ops.losses import weighted_sum
from .parts import BenchmarkSpec, TaskInfo


class Task(ABC):
    """One kind of model and data: see the module docstring for the contract."""

    #: The key of :data:`~dla_dense.tasks.TASKS` (``cfg.model.task``).
    name: ClassVar[str]
    #: What the tools say about the task (titles, what ``infer.py`` writes).
    info: ClassVar[TaskInfo]
    #: What the benchmark measures for it.
    bench: ClassVar[BenchmarkSpec] = BenchmarkSpec()
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
        if self.cfg.data.synthetic is not None:
            self.write_synthetic(self.cfg.data.root, **self.cfg.data.synthetic)

    def write_synthetic(self, root: str, **options: Any) -> None:
        """Write this task's synthetic dataset under ``root``; tasks without one refuse ``data.synthetic``."""
        raise DLADenseError(f"data.synthetic is not available for {self.name} configs; remove it")

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

    def loss_weights(self) -> dict[str, float]:
        """Weight of each term of :meth:`loss` in the total that is minimised (default: 1 each)."""
        return {}

    def total_loss(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``sum(loss_weights()[name] * term)`` over ``terms`` in their order (weight 1 where none is set)."""
        return weighted_sum(terms, self.loss_weights())

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

    # Tools ---------------------------------------------------------------------------------------------

    @classmethod
    def add_test_args(cls, parser: argparse.ArgumentParser) -> None:
        """Add the test tool's task-specific flags (e.g. ``--flip``) to ``parser``; default: none."""
        return None

    def test_options(self, args: argparse.Namespace) -> dict[str, Any]:
        """The ``evaluate`` options of the test tool's parsed ``args``."""
        return {}

    def test_summary(self, metrics: Mapping[str, float]) -> str:
        """The last line the test tool prints: the headline metrics."""
        return format_metrics(metrics)

    def predict(
        self,
        model: nn.Module,
        images: Sequence[np.ndarray],
        *,
        tta: bool = False,
        timer: StageTimer = NULL_TIMER,
        state: Any = None,
        **options: Any,
    ) -> list[Any]:
        """The typed results (:mod:`dla_dense.inference.results`) of ``model`` (eval mode) for RGB ``images``
        ``[H, W, 3]`` uint8, one per image; ``timer`` gets the time of each stage. ``state`` is a stream's
        (:meth:`new_state`) when ``images`` are the next frames of one video, else None; a task that keeps
        nothing between frames ignores it."""
        raise no_inference(self)

    def new_state(self) -> Any:
        """What a stream of this task keeps between the frames of one video (see
        :class:`~dla_dense.predictor.Stream`); None: nothing, every frame is predicted alone."""
        return None

    def image_paths(self, split: str) -> list[Path]:
        """The image files of ``split`` (int8 calibration reads the training split's)."""
        raise DLADenseError(f"the {self.name} task lists no image files")

    # Benchmark and export ------------------------------------------------------------------------------

    def random_inputs(
        self, batch: int, size: tuple[int, int], generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Random model inputs ``{name: [batch, channels, *size]}`` in the network's argument order (the
        benchmark's): normalised images ~ N(0, 1)."""
        return {"image": torch.randn(batch, 3, *size, generator=generator)}

    def benchmark_video(self, frames: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
        """``frames`` consecutive RGB uint8 frames ``[*size, 3]`` of one video for the benchmark's ``frame``
        mode."""
        raise DLADenseError(f"the benchmark has no per-frame mode for {self.name} models")

    def agreement_inputs(self, count: int, device: torch.device) -> list[torch.Tensor] | None:
        """Up to ``count`` validation inputs ``[1, 3, H, W]`` to measure agreement on (None: the benchmark's
        random input)."""
        return None

    @abstractmethod
    def random_batch(self, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
        """A training batch of random images ``[batch, 3, *size]`` with random targets (benchmark, tests)."""

    def agreement(self, pairs: list[tuple[Any, Any]]) -> dict[str, float]:
        """How closely outputs match their references, over ``(output, reference)`` pairs of model outputs."""
        raise DLADenseError(f"the benchmark does not cover {self.name} models")

    #: Whether the model returns ``{output name: tensor}`` (else one tensor); engines that run an export return
    #: the same.
    dict_outputs: ClassVar[bool] = False

    def export_outputs(self, model: nn.Module) -> tuple[nn.Module, list[str]]:
        """``model`` as a module returning a tensor or a tuple of tensors for export, and the output names."""
        return model, ["logits"]

    def describe(self) -> str:
        """A short name of the configured network, e.g. ``DLASeg dla34``."""
        return f"{self.name} {self.cfg.model.backbone}"


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
