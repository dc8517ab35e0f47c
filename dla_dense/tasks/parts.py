"""The declared parts of a task beside its model, data, loss and evaluation: what the tools say about it
(:class:`TaskInfo`), the test tool's flags (:class:`TestOptions`), what the benchmark measures (:class:`BenchmarkSpec`)
and what it draws from the task (:class:`Probe`: random inputs and batches, a video, validation inputs, the
agreement of outputs, image files)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import DLADenseError
from ..evaluation.undefined import format_metrics
from ..inference.timing import NULL_TIMER, StageTimer

if TYPE_CHECKING:
    from .base import Task


#: RGB images ``[H, W, 3]`` uint8, one per result.
Frames = Sequence[np.ndarray]


@dataclass(frozen=True)
class PredictRun:
    """How one ``Task.predict`` call runs: test-time augmentation, the timer of its stages, the stream's state
    (``info.stream_state``) when the images are the next frames of one video (None: each image alone), and each
    image's own named fields (``calib``, ``image_id``, ...; empty: none given)."""

    tta: bool = False
    timer: StageTimer = NULL_TIMER
    state: Any = None
    fields: tuple[Mapping[str, Any], ...] = ()


#: The default run: no test-time augmentation, untimed, each image alone.
PLAIN = PredictRun()


class TestOptions:
    """The test tool's task-specific flags, the ``evaluate`` options they give and the tool's last line."""

    @classmethod
    def add_args(cls, parser: argparse.ArgumentParser) -> None:
        """Add the flags to ``parser`` (default: none)."""
        return None

    @classmethod
    def options(cls, task: Task, args: argparse.Namespace) -> dict[str, Any]:
        """The ``task.evaluate`` keywords of the parsed ``args``."""
        return {}

    @classmethod
    def summary(cls, task: Task, metrics: Mapping[str, float]) -> str:
        """The last line the test tool prints: the headline metrics."""
        return format_metrics(metrics)


class Probe:
    """What the benchmark, int8 calibration and the contract tests draw from one task (``self.task``)."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def random_inputs(
        self, batch: int, size: tuple[int, int], generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Random model inputs ``{name: [batch, channels, *size]}`` in the network's argument order: normalised
        images ~ N(0, 1)."""
        return {"image": torch.randn(batch, 3, *size, generator=generator)}

    def random_batch(self, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
        """A training batch of random images ``[batch, 3, *size]`` with random targets."""
        raise DLADenseError(f"the benchmark does not cover {self.task.name} models")

    def video(self, frames: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
        """``frames`` consecutive RGB uint8 frames ``[*size, 3]`` of one video (the benchmark's ``frame`` mode)."""
        raise DLADenseError(f"the benchmark has no per-frame mode for {self.task.name} models")

    def agreement_inputs(self, count: int, device: torch.device) -> list[torch.Tensor] | None:
        """Up to ``count`` validation inputs ``[1, 3, H, W]`` to measure agreement on (None: random input)."""
        return None

    def agreement(self, pairs: list[tuple[Any, Any]]) -> dict[str, float]:
        """How closely outputs match their references, over ``(output, reference)`` pairs of model outputs."""
        raise DLADenseError(f"the benchmark does not cover {self.task.name} models")

    def image_paths(self, split: str) -> list[Path]:
        """The image files of ``split`` (int8 calibration reads the training split's)."""
        raise DLADenseError(f"the {self.task.name} task lists no image files")


@dataclass(frozen=True)
class BenchmarkSpec:
    """What ``tools/benchmark.py`` measures for a task."""

    #: Input ``(H, W)`` of the inference timing; None: the benchmark does not cover the task.
    input_size: tuple[int, int] | None = None
    #: The variants a bare ``--compare`` runs against eager.
    compare: tuple[str, ...] = ("fast", "bf16")
    #: Other networks the task's may be compared with (``benchmark.variants.Variant.arch``).
    archs: tuple[str, ...] = ()
    #: What is measured by default: ``infer`` (the network), ``train`` (a step) and, for tasks that carry state
    #: from frame to frame, ``frame`` (a video through a Predictor stream, every stage included).
    modes: tuple[str, ...] = ("infer", "train")


@dataclass(frozen=True)
class TaskInfo:
    """What a task declares beside its behaviour: texts for the tools, the network's description, its synthetic
    data, the test tool's flags, the benchmark's coverage and probe, and what a stream keeps between frames."""

    #: What the task trains, in words (the task-restricted tools' help: ``train_<name>.py``).
    title: str
    #: What its evaluation reports, in words (``test_<name>.py``'s help).
    reports: str
    #: The configured network in words, formatted with the ``model`` section (e.g. ``"DLASeg {backbone}"``;
    #: ``{task}`` is the task name).
    network: str = "{task} {backbone}"
    #: What ``tools/infer.py`` writes per image, in words (its help text); empty: the task draws nothing.
    infer_output: str = ""
    #: The suffix of the picture ``tools/infer.py`` writes per image (``<stem>_<suffix>.jpg``).
    infer_suffix: str = "pred"
    #: Where to go instead when the task draws nothing.
    infer_elsewhere: str = "use tools/test.py"
    #: The task's page of the documentation, relative to ``docs/`` (in the site's navigation).
    docs: str = ""
    #: ``(root, **data.synthetic)`` writes the task's synthetic dataset; None: the task has none.
    synthetic: Callable[..., Any] | None = None
    #: The test tool's flags.
    test: type[TestOptions] = TestOptions
    #: What the benchmark measures.
    bench: BenchmarkSpec = field(default_factory=BenchmarkSpec)
    #: What the benchmark, int8 calibration and the contract tests draw from the task.
    probe: type[Probe] = Probe
    #: ``(task) -> state`` of a stream (the tracker and previous frame of one video); None: every frame alone.
    stream_state: Callable[[Task, str | None], Any] | None = None


def describe(task: Task) -> str:
    """The configured network of ``task`` in words, e.g. ``CenterNet dla34 node=dcn``."""
    return task.info.network.format(**vars(task.cfg.model))


def probe(task: Task) -> Probe:
    """The :class:`Probe` of ``task``."""
    return task.info.probe(task)
