"""``python tools/test_seg.py CONFIG CHECKPOINT [--tta] [--mode] [--out DIR]``: evaluate a segmentation model."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._test import test_main


def _main(argv: Sequence[str] | None) -> int:
    return test_main(
        argv,
        prog="test_seg.py",
        description="Evaluate a segmentation checkpoint: per-class IoU table, mIoU and pixel accuracy.",
        task="seg",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/test_seg.py`` and ``dla-dense-test-seg``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
