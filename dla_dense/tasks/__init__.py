"""The task registry: ``TASKS[cfg.model.task]`` is the :class:`~dla_dense.tasks.base.Task` class of a config.

A new task is one module here with a :class:`Task` subclass (its schemas, model, data, loss, evaluation,
prediction) and one entry in :data:`TASKS`.
"""

from __future__ import annotations

from torch import nn

from ..config import Config
from .base import Task
from .cls import ClsTask
from .det import DetTask
from .fairmot import FairMotTask
from .pose import PoseTask
from .seg import SegTask
from .track import TrackTask

TASKS: dict[str, type[Task]] = {
    "seg": SegTask,
    "det": DetTask,
    "cls": ClsTask,
    "pose": PoseTask,
    "track": TrackTask,
    "fairmot": FairMotTask,
}


def build_task(cfg: Config) -> Task:
    """The task object of ``cfg`` (``TASKS[cfg.model.task](cfg)``)."""
    return TASKS[cfg.model.task](cfg)


def build_model(cfg: Config) -> nn.Module:
    """The network ``cfg.model`` describes, built by its task."""
    return build_task(cfg).build_model()


__all__ = [
    "TASKS",
    "ClsTask",
    "DetTask",
    "FairMotTask",
    "PoseTask",
    "SegTask",
    "Task",
    "TrackTask",
    "build_model",
    "build_task",
]
