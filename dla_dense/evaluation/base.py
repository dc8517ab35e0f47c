"""The evaluator contract and the one evaluation loop that drives every evaluator, video ones included.

An evaluator has one shape: :meth:`~Evaluator.reset`, :meth:`~Evaluator.process` a batch and the model's
predictions for it, :meth:`~Evaluator.gather` what every process saw (once, all processes call it), then on
the main process :meth:`~Evaluator.compute` the metrics, :meth:`~Evaluator.table` them and
:meth:`~Evaluator.write` the task's result files (COCO json, label-id PNGs, MOT txt). :class:`Comparison` runs
several evaluators on the same data (trackers on the same detections).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..dist import DistInfo


class Evaluator(ABC):
    """Accumulates predictions of a dataset and turns them into metrics (see the module docstring)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget everything processed so far."""

    @abstractmethod
    def process(self, batch: Any, predictions: Any) -> None:
        """Add one batch (as the loader gives it) with the model's ``predictions`` for it."""

    @abstractmethod
    def gather(self, dist: DistInfo) -> None:
        """Bring every process's share together (a no-op in one process); every process calls it once."""

    @abstractmethod
    def compute(self) -> dict[str, float]:
        """The metrics, fractions in ``[0, 1]``, NaN where undefined (main process, after :meth:`gather`)."""

    @abstractmethod
    def table(self) -> str:
        """The metrics of the last :meth:`compute` as a table people read (per class where there are classes)."""

    def write(self, out: Path) -> str:
        """Write the result files of everything processed to ``out`` (main process, after :meth:`compute`); returns
        what was written, in words. Default: nothing to write."""
        return ""


class Comparison(Evaluator):
    """Several evaluators on the same data: ``predictions`` is ``{name: predictions}``. The metrics are the first
    evaluator's, plus each other's summary metrics (keys without ``/``) as ``<prefix>_<metric>``; the table is the
    first's under its title, then one ``headline`` line per other; :meth:`write` writes the first's files."""

    def __init__(
        self,
        evaluators: Mapping[str, Evaluator],
        *,
        titles: Mapping[str, str],
        prefixes: Mapping[str, str],
        headline: Callable[[Mapping[str, float]], str],
    ) -> None:
        self.evaluators = dict(evaluators)
        self.titles, self.prefixes, self.headline = dict(titles), dict(prefixes), headline
        self.lines: list[str] = []

    def reset(self) -> None:
        for evaluator in self.evaluators.values():
            evaluator.reset()

    def process(self, batch: Any, predictions: Mapping[str, Any]) -> None:
        for name, evaluator in self.evaluators.items():
            evaluator.process(batch, predictions[name])

    def gather(self, dist: DistInfo) -> None:
        for evaluator in self.evaluators.values():
            evaluator.gather(dist)

    def compute(self) -> dict[str, float]:
        (first, main), *others = self.evaluators.items()
        metrics = main.compute()
        self.lines = [f"{self.titles[first]}:\n{main.table()}"]
        for name, evaluator in others:
            found = evaluator.compute()
            prefix = self.prefixes.get(name, name)
            metrics.update({f"{prefix}_{k}": v for k, v in found.items() if "/" not in k})
            self.lines.append(f"{prefix} ({self.titles[name]} of the same detections): {self.headline(found)}")
        return metrics

    def table(self) -> str:
        return "\n".join(self.lines)

    def write(self, out: Path) -> str:
        return next(iter(self.evaluators.values())).write(out)


@torch.no_grad()
def run_evaluation(
    model: nn.Module,
    batches: Iterable[Any],
    predict: Callable[[nn.Module, Any], Any],
    evaluator: Evaluator,
    dist: DistInfo,
    *,
    logger: logging.Logger | None = None,
    out: Path | None = None,
) -> dict[str, float]:
    """``model`` (in eval mode, restored afterwards) over this process's ``batches`` (a video's frames in order
    on one process): ``predict(model, batch)`` for each, fed to ``evaluator``; then the evaluator gathers once
    and the main process computes the metrics, logs its table and, given ``out``, writes its result files there.
    Returns the metrics on the main process and ``{}`` on the others."""
    was_training = model.training
    model.eval()
    evaluator.reset()
    try:
        for batch in batches:
            predictions = predict(model, batch)
            evaluator.process(batch, predictions)
    finally:
        model.train(was_training)
    evaluator.gather(dist)
    if not dist.is_main:
        return {}
    metrics = evaluator.compute()
    if logger is not None:
        logger.info("\n" + evaluator.table())
    if out is not None:
        written = evaluator.write(Path(out))
        if logger is not None and written:
            logger.info(written)
    return metrics
