"""``python tools/infer.py CONFIG CHECKPOINT IMAGE...``: the task's pictures of each image (overlays, boxes)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from ..config import load_config
from ..data.images import load_image
from ..engine.dist import resolve_device
from ..errors import DLADenseError
from ..inference.fast import bf16_autocast, prepare_for_inference
from ..tasks import TASKS, build_task
from ..weights import load_checkpoint
from ._common import run


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="infer.py",
        description="Run a trained model on images and draw its predictions: "
        + "; ".join(f"{name}: {task_cls.infer_output}" for name, task_cls in TASKS.items() if task_cls.infer_output)
        + ".",
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="model checkpoint")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--out", metavar="DIR", help="output folder (default: work_dirs/<config name>/infer)")
    p.add_argument("--tta", action="store_true", help="multi-scale + flip prediction")
    p.add_argument("--opacity", type=float, default=0.5, help="segmentation overlay opacity (default: 0.5)")
    p.add_argument("--score-thr", type=float, default=0.3, help="detection boxes drawn from this score (default: 0.3)")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--fast", action="store_true", help="fold BatchNorm into convolutions and use channels-last")
    p.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow first image)")
    args = p.parse_args(argv)
    folders = [path for path in args.images if Path(path).is_dir()]
    if folders:
        raise DLADenseError(f"'{folders[0]}' is a folder; pass image files, e.g. '{Path(folders[0]) / '*.jpg'}'")
    missing = [path for path in args.images if not Path(path).is_file()]
    if missing:
        raise DLADenseError(
            f"image not found: '{missing[0]}'" + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    cfg = load_config(args.config, args.cfg_options)
    device = resolve_device(args.device)
    task = build_task(cfg)
    if not task.infer_output:
        raise task.no_inference()
    model = task.build_model()
    task.adopt_checkpoint(load_checkpoint(model, args.checkpoint))
    model.to(device).eval()
    out = Path(args.out or Path("work_dirs") / cfg.name / "infer")
    out.mkdir(parents=True, exist_ok=True)
    model = prepare_for_inference(model, fuse=args.fast, channels_last=args.fast, compile=args.compile, bf16=args.bf16)
    drawing = {"opacity": args.opacity, "score_thr": args.score_thr}
    unreadable: list[str] = []
    with bf16_autocast(device, args.bf16):
        for path, stem, rgb in readable_images(args.images, unreadable):
            prediction = task.predict(model, rgb, tta=args.tta)
            print(f"{path}: {task.draw(rgb, prediction, out, stem, drawing)}")
    if unreadable:
        raise DLADenseError(
            f"{len(unreadable)} of {len(args.images)} image(s) could not be read and were skipped (the others "
            f"are in '{out}'); the first: {unreadable[0]}"
        )
    return 0


def readable_images(paths: Sequence[str], unreadable: list[str]) -> Iterator[tuple[str, str, np.ndarray]]:
    """``(path, output stem, RGB [H, W, 3] uint8)`` of each image that can be read; the messages of those that
    cannot are appended to ``unreadable`` and printed as warnings."""
    for path, stem in zip(paths, output_stems(paths), strict=True):
        try:
            rgb = np.array(load_image(path))  # a writable copy: torch.from_numpy warns about read-only arrays
        except DLADenseError as e:
            print(f"warning: skipped: {e}", file=sys.stderr)
            unreadable.append(str(e))
            continue
        yield path, stem, rgb


def output_stems(paths: Sequence[str]) -> list[str]:
    """Output name stem of each image: its file stem, with ``-2``, ``-3``, ... where an earlier image has it."""
    stems, seen = [], set()
    for path in paths:
        stem, n = Path(path).stem, 1
        while stem in seen:
            n += 1
            stem = f"{Path(path).stem}-{n}"
        seen.add(stem)
        stems.append(stem)
    return stems


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/infer.py``."""
    with torch.inference_mode():
        return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
