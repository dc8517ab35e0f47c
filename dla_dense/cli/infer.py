"""``python tools/infer.py CONFIG CHECKPOINT IMAGE...``: segment images and write colour overlays."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..checkpoint import load_checkpoint
from ..config import load_config
from ..data.images import load_image
from ..data.transforms import build_seg_eval_transform
from ..engine.dist import resolve_device
from ..errors import DLADenseError
from ..inference.segmentation import predict_seg
from ..tasks import SegTask
from ..visualize import colorize, overlay
from ._common import run


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="infer.py", description="Segment images with a trained model; write overlays and colour maps."
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="model checkpoint")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--out", metavar="DIR", help="output folder (default: work_dirs/<config name>/infer)")
    p.add_argument("--tta", action="store_true", help="multi-scale + flip prediction")
    p.add_argument("--opacity", type=float, default=0.5, help="overlay opacity (default: 0.5)")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    args = p.parse_args(argv)
    missing = [path for path in args.images if not Path(path).is_file()]
    if missing:
        raise DLADenseError(
            f"image not found: '{missing[0]}'" + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    cfg = load_config(args.config, args.cfg_options)
    task = SegTask(cfg)
    device = resolve_device(args.device)
    model = task.build_model()
    load_checkpoint(model, args.checkpoint)
    model.to(device).eval()
    transform = build_seg_eval_transform(mean=cfg.data.mean, std=cfg.data.std)
    out = Path(args.out or Path("work_dirs") / cfg.name / "infer")
    out.mkdir(parents=True, exist_ok=True)
    e = cfg.evaluation
    for path in args.images:
        rgb = np.asarray(load_image(path))
        x = transform(image=rgb)["image"].unsqueeze(0).to(device)
        probs = predict_seg(
            model,
            x,
            mode=e.mode,
            crop_size=e.crop_size,
            stride=e.stride,
            scales=e.tta_scales if args.tta else e.scales,
            flip=e.flip or args.tta,
        )
        pred = probs.argmax(1)[0].cpu().numpy()
        stem = Path(path).stem
        overlay(rgb, pred, task.palette, alpha=args.opacity).save(out / f"{stem}_overlay.jpg", quality=90)
        Image.fromarray(colorize(pred, task.palette)).save(out / f"{stem}_pred.png")
        present = [task.classes[c] for c in np.unique(pred)]
        print(f"{path}: {out / f'{stem}_overlay.jpg'} ({', '.join(present)})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/infer.py``."""
    with torch.inference_mode():
        return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
