"""``python tools/test_det.py CONFIG CHECKPOINT [--flip] [--scales ...] [--out FILE]``: COCO AP of a detector."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..checkpoint import load_checkpoint
from ..config import load_config
from ..det_task import DetTask
from ..engine.dist import cleanup_distributed, init_distributed
from ..engine.logging import setup_logger
from ..inference.fast import fast_inference
from ._common import run


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="test_det.py", description="Evaluate a CenterNet-style detector with COCOeval (AP table)."
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="a dla_dense checkpoint or a CenterNet ctdet .pth")
    p.add_argument("--flip", action="store_true", help="flip test (heatmap and size averaged, as CenterNet)")
    p.add_argument("--scales", type=float, nargs="+", help="test scales, merged with NMS (e.g. 0.5 0.75 1 1.25 1.5)")
    p.add_argument("--split", help="split to evaluate (default: data.val_split)")
    p.add_argument("--out", metavar="FILE", help="write the detections as a COCO results json")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--fast", action="store_true", help="fold BatchNorm into convolutions and use channels-last")
    p.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow first images)")
    args = p.parse_args(argv)
    overrides = list(args.cfg_options) + ([f"data.val_split={args.split!r}"] if args.split else [])
    cfg = load_config(args.config, overrides)
    dist = init_distributed(args.device)
    try:
        logger = setup_logger(main=dist.is_main)
        task = DetTask(cfg)
        if dist.is_main:
            task.prepare()
        dataset = task.val_set()
        model = task.build_model()
        task.adopt_checkpoint_input(load_checkpoint(model, args.checkpoint))
        model.to(dist.device)
        logger.info(f"evaluating {args.checkpoint} on {len(dataset)} images of '{cfg.data.val_split}'")
        out = Path(args.out) if args.out else None
        with fast_inference(model, dist.device, fast=args.fast, bf16=args.bf16, compile=args.compile) as model:
            metrics = task.evaluate(
                model,
                dataset,
                dist,
                flip=args.flip or None,
                scales=tuple(args.scales) if args.scales else None,
                out_file=out,
            )
        if dist.is_main:
            logger.info(f"AP {metrics['AP']:.4f}  AP50 {metrics['AP50']:.4f}  AP75 {metrics['AP75']:.4f}")
            if out is not None:
                logger.info(f"detections written to {out}")
    finally:
        cleanup_distributed()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/test_det.py``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
