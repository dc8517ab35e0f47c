"""The tasks: ``TASKS[cfg.model.task]`` is the :class:`~dla_dense.tasks.base.Task` class of a config.

A new task is one module (here, or a user's own named in a config's ``custom_imports``) with a :class:`Task`
class decorated with :func:`~dla_dense.tasks.registry.register_task`.
"""

from __future__ import annotations

from torch import nn

from ..config import Config
from .base import Task
from .registry import TASKS, register_task

# The registration order is the order the tools list the tasks in.
# isort: off
from .seg import SegTask
from .det import DetTask
from .cls import ClsTask
from .pose import PoseTask
from .track import TrackTask
from .fairmot import FairMotTask
from .ddd import DddTask
from .track3d import Track3dTask

# isort: on


def build_task(cfg: Config) -> Task:
    """The task object of ``cfg`` (``TASKS[cfg.model.task](cfg)``)."""
    return TASKS[cfg.model.task](cfg)


def build_model(cfg: Config) -> nn.Module:
    """The network ``cfg.model`` describes, built by its task."""
    return build_task(cfg).build_model()


__all__ = [
    "TASKS",
    "ClsTask",
    "DddTask",
    "DetTask",
    "FairMotTask",
    "PoseTask",
    "SegTask",
    "Task",
    "Track3dTask",
    "TrackTask",
    "build_model",
    "build_task",
    "register_task",
]
