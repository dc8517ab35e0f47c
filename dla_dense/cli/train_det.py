"""``python tools/train_det.py CONFIG``: train a CenterNet-style DLA detector."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._train import train_main


def _main(argv: Sequence[str] | None) -> int:
    return train_main(
        argv,
        prog="train_det.py",
        description="Train a CenterNet-style DLA detector from a config (torchrun for several processes).",
        task="det",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/train_det.py`` and ``dla-dense-train-det``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
