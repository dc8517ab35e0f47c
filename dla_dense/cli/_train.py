"""The command line shared by the training tools (``train.py`` and its task-restricted forms ``train_seg.py``, ...)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from ..config import load_config
from ..engine.logging import get_logger
from ..engine.trainer import train
from ..evaluation.undefined import format_metric, format_metrics
from ..tasks import TASKS, build_task
from ._common import check_task


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """``CONFIG [--work-dir] [--resume [PATH]] [--cfg-options k=v ...] [--seed] [--device] [--amp]``."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("config", help="config file, e.g. configs/demo_dla34.py")
    p.add_argument("--work-dir", help="where checkpoints and logs go (default: work_dirs/<config name>)")
    p.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        metavar="CHECKPOINT",
        help="continue a run: from CHECKPOINT, or (no value) from the latest checkpoint in the work dir",
    )
    p.add_argument(
        "--cfg-options",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. optim.lr=0.01 train.max_iters=2000",
    )
    p.add_argument("--seed", type=int, help="random seed (overrides train.seed)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available); torchrun sets one per rank")
    p.add_argument("--amp", choices=["none", "bf16", "fp16", "auto"], help="mixed precision (overrides train.amp)")
    return p


def _best(best: dict[str, float], metric: str) -> str:
    """The best validation result in words (``best.pth`` exists only when the metric was ever defined)."""
    if metric not in best:
        return f"no best.pth: {metric} was undefined at every validation"
    return f"best {metric} {format_metric(best[metric])} at iteration {int(best['iter'])} (best.pth)"


def train_main(argv: Sequence[str] | None, *, prog: str, description: str, task: str | None = None) -> int:
    """Parse arguments, train, draw the training curves; returns the exit status.

    ``task``: the only task this command trains (``train_seg.py``), or None for any (``train.py``).
    """
    args = build_parser(prog, description).parse_args(argv)
    overrides = list(args.cfg_options)
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.amp is not None:
        overrides.append(f"train.amp={args.amp!r}")
    cfg = load_config(args.config, overrides)
    check_task(cfg.model.task, task, args.config, "train")
    result = train(cfg, build_task, work_dir=args.work_dir, resume=args.resume, device=args.device)
    if int(os.environ.get("RANK", "0")) == 0:
        logger = get_logger()
        if not result.interrupted:
            from ..visualize import plot_training_log

            kind = TASKS[cfg.model.task]
            curves = plot_training_log(result.work_dir, metric=kind.metric)
            final = kind.info.test.summary(kind(cfg), result.metrics) if result.metrics else format_metrics({})
            logger.info(
                f"done: {final}; {_best(result.best, kind.metric)}; curves {curves}; checkpoints in {result.work_dir}"
            )
    return 130 if result.interrupted else 0
