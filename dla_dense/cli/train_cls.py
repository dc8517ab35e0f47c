"""``python tools/train_cls.py CONFIG``: fine-tune a DLA classifier on an ImageFolder."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._train import train_main


def _main(argv: Sequence[str] | None) -> int:
    return train_main(
        argv,
        prog="train_cls.py",
        description="Fine-tune a DLA ImageNet classifier on an ImageFolder (root/<split>/<class>/*); "
        "reports top-1/top-5.",
        task="cls",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/train_cls.py``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
