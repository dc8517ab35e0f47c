"""``python tools/plot_log.py WORK_DIR [--out PNG]``: training curves from a run's ``metrics.jsonl``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..config import load_config
from ..errors import DLADenseError
from ..outputs import output_file
from ..tasks import TASKS
from ..visualize import plot_training_log
from ._common import run


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the plot_log tool."""
    p = argparse.ArgumentParser(
        prog="plot_log.py",
        description="Plot training loss, learning rate and the validation metric (the task's: mIoU, AP, kp_AP, "
        "top1; read from WORK_DIR/config.py) against iteration from WORK_DIR/metrics.jsonl, and print the path "
        "of the image written.",
    )
    p.add_argument("work_dir", metavar="WORK_DIR", help="work dir of a training run (holds metrics.jsonl)")
    p.add_argument("--out", metavar="PNG", help="output image (default: WORK_DIR/curves.png)")
    p.add_argument("--metric", help="the validation metric to plot (default: the task's, else mIoU)")
    return p


def _task_metric(work_dir: Path) -> str:
    """The headline metric of the task ``work_dir/config.py`` names (mIoU when there is no readable config)."""
    config = work_dir / "config.py"
    if not config.is_file():
        return "mIoU"
    try:
        return TASKS[load_config(config).model.task].metric
    except DLADenseError:
        return "mIoU"


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    metric = args.metric or _task_metric(Path(args.work_dir))
    out = output_file(args.out, ".png", accept=(".jpg", ".jpeg", ".svg", ".pdf")) if args.out else None
    print(plot_training_log(args.work_dir, out, metric=metric))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/plot_log.py``."""
    return run(_main, argv)
