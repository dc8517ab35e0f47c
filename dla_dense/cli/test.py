"""``python tools/test.py CONFIG CHECKPOINT [task flags]``: evaluate a checkpoint of any task."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._test import test_main


def _main(argv: Sequence[str] | None) -> int:
    return test_main(
        argv,
        prog="test.py",
        description="Evaluate a checkpoint on the config's validation split, whatever its task: per-class table "
        "and headline metrics (mIoU, COCO AP, top-1).",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/test.py`` and ``dla-dense-test``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
