"""``python tools/test_det.py CONFIG CHECKPOINT [--flip] [--scales ...] [--out FILE]``: COCO AP of a detector."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._test import test_main


def _main(argv: Sequence[str] | None) -> int:
    return test_main(
        argv,
        prog="test_det.py",
        description="Evaluate a CenterNet-style detector with COCOeval (AP table).",
        task="det",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/test_det.py`` and ``dla-dense-test-det``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
