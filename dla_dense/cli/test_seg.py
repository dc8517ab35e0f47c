"""``python tools/test_seg.py CONFIG CHECKPOINT [--tta] [--out DIR]``: evaluate a segmentation model."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..checkpoint import load_checkpoint
from ..config import load_config
from ..engine.dist import cleanup_distributed, init_distributed
from ..engine.logging import setup_logger
from ..inference.fast import fast_inference
from ..tasks import SegTask
from ._common import run


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="test_seg.py",
        description="Evaluate a segmentation checkpoint: per-class IoU table, mIoU and pixel accuracy.",
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="a dla_dense checkpoint (best.pth, iter_*.pth) or a ucbdrive DLASeg file")
    p.add_argument("--tta", action="store_true", help="multi-scale (evaluation.tta_scales) + flip test")
    p.add_argument("--mode", choices=["whole", "slide"], help="whole-image or sliding-window inference")
    p.add_argument("--split", help="dataset split to evaluate (default: data.val_split)")
    p.add_argument("--out", metavar="DIR", help="write labelIds PNGs (Cityscapes format) and colour overlays here")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--fast", action="store_true", help="fold BatchNorm into convolutions and use channels-last")
    p.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow first batches)")
    args = p.parse_args(argv)
    overrides = list(args.cfg_options)
    if args.mode:
        overrides.append(f"evaluation.mode={args.mode!r}")
    if args.split:
        overrides.append(f"data.val_split={args.split!r}")
    cfg = load_config(args.config, overrides)
    dist = init_distributed(args.device)
    try:
        logger = setup_logger(main=dist.is_main)
        task = SegTask(cfg)
        if dist.is_main:
            task.prepare()
        dataset = task.val_set()
        model = task.build_model()
        load_checkpoint(model, args.checkpoint)
        model.to(dist.device)
        out = Path(args.out) if args.out else None
        logger.info(f"evaluating {args.checkpoint} on {len(dataset)} images of '{cfg.data.val_split}'")
        with fast_inference(model, dist.device, fast=args.fast, bf16=args.bf16, compile=args.compile) as model:
            metrics = task.evaluate(model, dataset, dist, tta=args.tta, out_dir=out)
        if dist.is_main:
            logger.info(f"mIoU {metrics['mIoU']:.4f}  aAcc {metrics['aAcc']:.4f}  mAcc {metrics['mAcc']:.4f}")
            invalid = getattr(dataset, "invalid_label_pixels", 0)
            if invalid:
                logger.info(f"{invalid} label pixels outside the classes were counted as ignore_index")
            if out is not None:
                (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
                logger.info(f"predictions in {out / 'labelIds'}, overlays in {out / 'overlays'}")
    finally:
        cleanup_distributed()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/test_seg.py``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
