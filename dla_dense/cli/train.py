"""``python tools/train.py CONFIG``: train the model of any task's config; ``train_<task>.py`` (one per task of the
registry, e.g. ``train_seg.py``) is the same command restricted to that task."""

from __future__ import annotations

from collections.abc import Sequence

from ..tasks import TASKS
from ._common import run, task_mains
from ._train import train_main


def command(task: str | None) -> tuple[str, str]:
    """``(prog, description)`` of the command for ``task`` (None: any task)."""
    if task is None:
        return "train.py", "Train the model of a config, whatever its task (model.task); torchrun for several processes"
    return f"train_{task}.py", f"Train {TASKS[task].info.title} from a config (torchrun for several processes)."


def main(argv: Sequence[str] | None = None, *, task: str | None = None) -> int:
    """Entry point of ``tools/train.py`` (``task`` None) and of its task-restricted forms."""
    prog, description = command(task)
    return run(lambda args: train_main(args, prog=prog, description=description, task=task), argv)


#: ``<task>_main`` for every registered task: the entry point of ``train_<task>.py`` and ``dla-dense-train-<task>``.
__getattr__ = task_mains(main, __name__, TASKS)
