"""The evaluator contract and the one evaluation loop that drives any evaluator.

An evaluator has one shape: :meth:`~Evaluator.reset`, :meth:`~Evaluator.process` a batch and the model's
predictions for it, :meth:`~Evaluator.gather` what every process saw (once, all processes call it), then on
the main process :meth:`~Evaluator.compute` the metrics and :meth:`~Evaluator.table` them.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
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


@torch.no_grad()
def run_evaluation(
    model: nn.Module,
    batches: Iterable[Any],
    predict: Callable[[nn.Module, Any], Any],
    evaluator: Evaluator,
    dist: DistInfo,
    *,
    logger: logging.Logger | None = None,
    on_batch: Callable[[Any, Any], None] | None = None,
) -> dict[str, float]:
    """``model`` (in eval mode, restored afterwards) over this process's ``batches``: ``predict(model, batch)``
    for each, fed to ``evaluator`` (and to ``on_batch``, e.g. to write prediction files); then the evaluator
    gathers once and the main process computes the metrics and logs its table. Returns the metrics on the
    main process and ``{}`` on the others."""
    was_training = model.training
    model.eval()
    evaluator.reset()
    try:
        for batch in batches:
            predictions = predict(model, batch)
            evaluator.process(batch, predictions)
            if on_batch is not None:
                on_batch(batch, predictions)
    finally:
        model.train(was_training)
    evaluator.gather(dist)
    if not dist.is_main:
        return {}
    metrics = evaluator.compute()
    if logger is not None:
        logger.info("\n" + evaluator.table())
    return metrics
