"""``python tools/test.py CONFIG CHECKPOINT [task flags]``: evaluate a checkpoint of any task; ``test_seg.py``
and ``test_det.py`` are the same command restricted to one task."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._test import test_main

#: prog and description of each form of the command (None: any task).
COMMANDS: dict[str | None, tuple[str, str]] = {
    None: (
        "test.py",
        "Evaluate a checkpoint on the config's validation split, whatever its task: per-class table and "
        "headline metrics (mIoU, COCO AP, top-1).",
    ),
    "seg": ("test_seg.py", "Evaluate a segmentation checkpoint: per-class IoU table, mIoU and pixel accuracy."),
    "det": ("test_det.py", "Evaluate a CenterNet-style detector with COCOeval (AP table)."),
}


def main(argv: Sequence[str] | None = None, *, task: str | None = None) -> int:
    """Entry point of ``tools/test.py`` (``task`` None) and of its task-restricted forms."""
    prog, description = COMMANDS[task]
    return run(lambda args: test_main(args, prog=prog, description=description, task=task), argv)


def seg_main(argv: Sequence[str] | None = None) -> int:
    """``tools/test_seg.py``, ``dla-dense-test-seg``."""
    return main(argv, task="seg")


def det_main(argv: Sequence[str] | None = None) -> int:
    """``tools/test_det.py``, ``dla-dense-test-det``."""
    return main(argv, task="det")


if __name__ == "__main__":
    sys.exit(main())
