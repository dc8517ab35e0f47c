"""The task registry: ``TASKS[cfg.model.task]`` is the task class of a config. A task class registers itself with
:func:`register_task` where it is defined, also from a user's own module (a config's ``custom_imports``)."""

from __future__ import annotations

from typing import TypeVar

from ..config.schemas import TASK_SCHEMAS
from ..errors import DLADenseError
from ..registry import Registry
from .base import Task

#: Task name (``cfg.model.task``) -> task class.
TASKS: Registry[type[Task]] = Registry("task")

T = TypeVar("T", bound=type[Task])


def register_task(cls: T) -> T:
    """Register the task class ``cls`` under its ``name``, and its config schemas for configs that name it."""
    TASKS.register()(cls)
    schemas = {section: cls.schemas[section] for section in ("model", "data", "evaluation") if section in cls.schemas}
    known = TASK_SCHEMAS.setdefault(cls.name, schemas)
    if any(known.get(section, schema) is not schema for section, schema in schemas.items()):
        raise DLADenseError(f"task '{cls.name}' is registered with other config schemas than its own; rename it")
    return cls
