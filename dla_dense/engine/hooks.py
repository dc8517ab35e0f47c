"""Steps around the training iteration: logging, validation with the best checkpoint, periodic checkpoints.

A hook sees the :class:`~dla_dense.engine.trainer.Trainer` (model, optimizer, iteration, work dir, ...) at
``before_train``, ``after_step`` and ``after_train``; :class:`Trainer` calls them in list order.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from .checkpoint import prune_checkpoints, save_checkpoint, write_last_pointer
from .logging import MetricsWriter

if TYPE_CHECKING:
    from .trainer import Trainer


class Hook:
    """Does nothing at each point; subclasses override the points they use."""

    def before_train(self, trainer: Trainer) -> None:
        """Before the first iteration of this run (after a resume)."""

    def after_step(self, trainer: Trainer) -> None:
        """After each iteration; ``trainer.iteration`` is the number of iterations done."""

    def after_train(self, trainer: Trainer) -> None:
        """After the last iteration, a stop signal, or an error."""


def _at(trainer: Trainer, interval: int) -> bool:
    return trainer.iteration % interval == 0 or trainer.iteration == trainer.max_iters


class LogHook(Hook):
    """Progress bar with ETA and the last losses; every ``log_interval`` iterations the mean of each loss term,
    the learning rate and seconds per iteration go to the console, ``metrics.jsonl`` and TensorBoard."""

    def __init__(self, log_interval: int) -> None:
        self.log_interval = log_interval
        self.bar: tqdm | None = None
        self.window: defaultdict[str, list[float]] = defaultdict(list)
        self.tick = 0.0

    def before_train(self, trainer: Trainer) -> None:
        self.bar = tqdm(
            total=trainer.max_iters,
            initial=trainer.iteration,
            desc="train",
            unit="it",
            dynamic_ncols=True,
            disable=not trainer.dist.is_main,
            mininterval=1.0,
        )
        self.tick = time.perf_counter()

    def after_step(self, trainer: Trainer) -> None:
        for name, value in trainer.losses.items():
            self.window[name].append(value)
        lr = trainer.scheduler.get_last_lr()[0]
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{trainer.losses['loss']:.4f}", lr=f"{lr:.2e}", refresh=False)
        if not _at(trainer, self.log_interval):
            return
        steps = len(self.window["loss"])
        means = {name: sum(v) / len(v) for name, v in self.window.items()}
        counts = dict(trainer.task.counters)
        trainer.task.counters.clear()
        seconds = (time.perf_counter() - self.tick) / steps
        values = {**means, "lr": lr, "time": seconds, **counts}
        terms = "  ".join(f"{k} {v:.4f}" for k, v in means.items())
        events = "".join(f"  {k} {v}" for k, v in counts.items())
        eta = seconds * (trainer.max_iters - trainer.iteration)
        trainer.logger.info(
            f"iter {trainer.iteration}/{trainer.max_iters}  {terms}{events}  lr {lr:.3e}  {seconds:.2f} s/it  "
            f"eta {_hms(eta)}"
        )
        if trainer.writer:
            trainer.writer.write("train", trainer.iteration, values)
        self.window.clear()
        self.tick = time.perf_counter()

    def after_train(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()


class EvalHook(Hook):
    """Every ``val_interval`` iterations and at the end: the task's evaluation, logged, and ``best.pth`` (weights
    and meta) when the task's metric improves on the best so far."""

    def __init__(self, val_interval: int) -> None:
        self.val_interval = val_interval

    def after_step(self, trainer: Trainer) -> None:
        if not _at(trainer, self.val_interval):
            return
        trainer.metrics = trainer.task.evaluate(trainer.unwrapped, trainer.val_set, trainer.dist)
        self._track_best(trainer)
        if trainer.writer:
            trainer.writer.write("val", trainer.iteration, trainer.metrics)

    @staticmethod
    def _track_best(trainer: Trainer) -> None:
        metric = trainer.task.metric
        value = trainer.metrics.get(metric, float("nan"))
        if not trainer.dist.is_main:
            return
        if not math.isfinite(value):
            trainer.logger.info(
                f"{metric} is undefined at iteration {trainer.iteration} (the validation split has nothing to score "
                "it on); best.pth is not updated"
            )
            return
        if value <= trainer.best.get(metric, -math.inf):
            return
        trainer.best = {metric: value, "iter": trainer.iteration}
        path = trainer.work_dir / "best.pth"
        state = {"model": trainer.unwrapped.state_dict(), "iteration": trainer.iteration, "best": trainer.best}
        save_checkpoint(path, {**state, "meta": trainer.meta()})
        trainer.logger.info(f"best {metric} so far: {value:.4f} at iteration {trainer.iteration}, saved {path}")


class CheckpointHook(Hook):
    """Every ``checkpoint_interval`` iterations, at the end and when stopped by a signal: the full training
    state as ``iter_NNNNNNN.pth`` (atomic), the ``last_checkpoint`` pointer, and only ``keep`` such files."""

    def __init__(self, checkpoint_interval: int, keep: int) -> None:
        self.checkpoint_interval = checkpoint_interval
        self.keep = keep

    def after_step(self, trainer: Trainer) -> None:
        if not trainer.dist.is_main or not (_at(trainer, self.checkpoint_interval) or trainer.stopping):
            return
        path = save_checkpoint(trainer.work_dir / f"iter_{trainer.iteration:07d}.pth", trainer.state_dict())
        write_last_pointer(trainer.work_dir, path)
        prune_checkpoints(trainer.work_dir, self.keep)


class MetricsHook(Hook):
    """Opens ``metrics.jsonl`` (and TensorBoard) as ``trainer.writer`` on the main process; closes it at the end."""

    def __init__(self, tensorboard: bool) -> None:
        self.tensorboard = tensorboard

    def before_train(self, trainer: Trainer) -> None:
        if trainer.dist.is_main:
            trainer.writer = MetricsWriter(trainer.work_dir, tensorboard=self.tensorboard)

    def after_train(self, trainer: Trainer) -> None:
        if trainer.writer:
            trainer.writer.close()


def default_hooks(train_cfg: Any) -> list[Hook]:
    """Metrics file, logging, validation and checkpoints, in that order, from ``cfg.train``."""
    return [
        MetricsHook(train_cfg.tensorboard),
        LogHook(train_cfg.log_interval),
        EvalHook(train_cfg.val_interval),
        CheckpointHook(train_cfg.checkpoint_interval, train_cfg.keep_checkpoints),
    ]


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
