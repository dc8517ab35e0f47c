"""``python tools/test.py CONFIG CHECKPOINT [task flags]``: evaluate a checkpoint of any task; ``test_<task>.py``
(one per task of the registry, e.g. ``test_seg.py``) is the same command restricted to that task."""

from __future__ import annotations

from collections.abc import Sequence

from ..tasks import TASKS
from ._common import run, task_mains
from ._test import test_main


def command(task: str | None) -> tuple[str, str]:
    """``(prog, description)`` of the command for ``task`` (None: any task)."""
    if task is None:
        return (
            "test.py",
            "Evaluate a checkpoint on the config's validation split, whatever its task: per-class table and "
            "headline metrics (mIoU, COCO AP, top-1).",
        )
    return f"test_{task}.py", f"Evaluate a checkpoint of {TASKS[task].info.title}: {TASKS[task].info.reports}."


def main(argv: Sequence[str] | None = None, *, task: str | None = None) -> int:
    """Entry point of ``tools/test.py`` (``task`` None) and of its task-restricted forms."""
    prog, description = command(task)
    return run(lambda args: test_main(args, prog=prog, description=description, task=task), argv)


#: ``<task>_main`` for every registered task: the entry point of ``test_<task>.py`` and ``dla-dense-test-<task>``.
__getattr__ = task_mains(main, __name__, TASKS)
