"""``python tools/train_seg.py CONFIG``: train a DLA segmentation model."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._train import train_main


def _main(argv: Sequence[str] | None) -> int:
    return train_main(
        argv,
        prog="train_seg.py",
        description="Train a DLA-up segmentation model from a config (torchrun for several processes).",
        task="seg",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/train_seg.py`` and ``dla-dense-train-seg``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
