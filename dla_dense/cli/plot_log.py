"""``python tools/plot_log.py WORK_DIR [--out PNG]``: training curves from a run's ``metrics.jsonl``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..visualize import plot_training_log
from ._common import run


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the plot_log tool."""
    p = argparse.ArgumentParser(
        prog="plot_log.py",
        description="Plot training loss, learning rate and validation mIoU against iteration from "
        "WORK_DIR/metrics.jsonl, and print the path of the image written.",
    )
    p.add_argument("work_dir", metavar="WORK_DIR", help="work dir of a training run (holds metrics.jsonl)")
    p.add_argument("--out", metavar="PNG", help="output image (default: WORK_DIR/curves.png)")
    return p


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    print(plot_training_log(args.work_dir, args.out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/plot_log.py``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
