"""The command line shared by the evaluation tools (``test.py`` and its task-restricted forms ``test_seg.py``, ...).

The config decides the task; the task adds its own flags (``--tta`` for seg, ``--flip`` for det, ...).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..config import load_config
from ..dist import cleanup_distributed, init_distributed
from ..engine.logging import setup_logger
from ..predictor import Predictor
from ..tasks import TASKS, Task
from ._common import add_engine_args, check_task, engine_options


def build_parser(prog: str, description: str, task: type[Task] | None) -> argparse.ArgumentParser:
    """``CONFIG CHECKPOINT [--split] [--cfg-options ...] [--device] [--fast] [--bf16] [--compile] [--backend]`` plus
    the flags of ``task`` (none when the task is not known yet)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=None if task else "Each task adds its own flags: pass a config with --help to see them.",
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="a dla_dense checkpoint (best.pth, iter_*.pth) or a reference checkpoint")
    p.add_argument("--split", help="dataset split to evaluate (default: data.val_split)")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    add_engine_args(p)
    if task is not None:
        task.info.test.add_args(p.add_argument_group(f"{task.name} options"))
    return p


def _task_of(argv: Sequence[str] | None, task: str | None) -> type[Task] | None:
    """The task class of the config named in ``argv`` (None when there is none yet, e.g. for a bare --help)."""
    if task is not None:
        return TASKS[task]
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("config", nargs="?")
    pre.add_argument("--cfg-options", nargs="+", default=[])
    known, _ = pre.parse_known_args(argv)
    if known.config is None or not Path(known.config).is_file():
        return None
    return TASKS[load_config(known.config, known.cfg_options).model.task]


def test_main(argv: Sequence[str] | None, *, prog: str, description: str, task: str | None = None) -> int:
    """Parse arguments, evaluate the checkpoint with its task, print the table and the headline metrics."""
    args = build_parser(prog, description, _task_of(argv, task)).parse_args(argv)
    overrides = list(args.cfg_options) + ([f"data.val_split={args.split!r}"] if args.split else [])
    cfg = load_config(args.config, overrides)
    check_task(cfg.model.task, task, args.config, "test")
    dist = init_distributed(args.device)
    try:
        logger = setup_logger(main=dist.is_main)
        predictor = Predictor(cfg, args.checkpoint, device=dist.device, **engine_options(args))
        job = predictor.task
        if args.int8:
            logger.info(f"int8: calibrating on {predictor.calibrate_on_training_images(args.calib_images)} input(s)")
        options = job.info.test.options(job, args)
        if dist.is_main:
            job.prepare()
        dataset = job.val_set()
        logger.info(f"evaluating {args.checkpoint} on {len(dataset)} images of '{cfg.data.val_split}'")
        metrics = predictor.evaluate(dataset, dist, **options)
        if dist.is_main:
            logger.info(job.info.test.summary(job, metrics))
    finally:
        cleanup_distributed()
    return 0
