"""``python tools/train.py CONFIG``: train the model of any task's config (seg, det, cls)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._train import train_main


def _main(argv: Sequence[str] | None) -> int:
    return train_main(
        argv,
        prog="train.py",
        description="Train the model of a config, whatever its task (model.task); torchrun for several processes.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/train.py`` and ``dla-dense-train``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
