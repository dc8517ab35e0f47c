"""``python tools/infer.py CONFIG CHECKPOINT IMAGE...``: segmentation overlays or detection boxes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.utils import draw_bounding_boxes

from ..checkpoint import load_checkpoint
from ..config import Config, load_config
from ..data.images import load_image
from ..data.transforms import build_seg_eval_transform
from ..engine.dist import resolve_device
from ..errors import DLADenseError
from ..inference.fast import bf16_autocast, prepare_for_inference
from ..inference.segmentation import predict_seg
from ..tasks import SegTask
from ..visualize import colorize, overlay
from ._common import run


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="infer.py",
        description="Run a trained model on images: segmentation overlays and colour maps, or detection boxes "
        "with class names and scores.",
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
    out = Path(args.out or Path("work_dirs") / cfg.name / "infer")
    out.mkdir(parents=True, exist_ok=True)
    unreadable: list[str] = []
    with bf16_autocast(device, args.bf16):
        if cfg.model.task == "det":
            _infer_det(cfg, args, device, out, unreadable)
        elif cfg.model.task == "seg":
            _infer_seg(cfg, args, device, out, unreadable)
        else:
            raise DLADenseError(f"{args.config} is a classification config; use tools/classify.py for images")
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
            rgb = np.asarray(load_image(path))
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


def _infer_seg(cfg: Config, args: argparse.Namespace, device: torch.device, out: Path, unreadable: list[str]) -> None:
    task = SegTask(cfg)
    model = task.build_model()
    load_checkpoint(model, args.checkpoint)
    model.to(device).eval()
    model = prepare_for_inference(model, fuse=args.fast, channels_last=args.fast, compile=args.compile, bf16=args.bf16)
    transform = build_seg_eval_transform(mean=cfg.data.mean, std=cfg.data.std)
    e = cfg.evaluation
    for path, stem, rgb in readable_images(args.images, unreadable):
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
        overlay(rgb, pred, task.palette, alpha=args.opacity).save(out / f"{stem}_overlay.jpg", quality=90)
        Image.fromarray(colorize(pred, task.palette)).save(out / f"{stem}_pred.png")
        present = [task.classes[c] for c in np.unique(pred)]
        print(f"{path}: {out / f'{stem}_overlay.jpg'} ({', '.join(present)})")


def _infer_det(cfg: Config, args: argparse.Namespace, device: torch.device, out: Path, unreadable: list[str]) -> None:
    from ..det_task import DetTask, detect

    task = DetTask(cfg)
    model = task.build_model()
    extras = load_checkpoint(model, args.checkpoint)
    task.adopt_checkpoint_input(extras)
    meta = extras.get("meta")
    model.to(device).eval()
    model = prepare_for_inference(model, fuse=args.fast, channels_last=args.fast, compile=args.compile, bf16=args.bf16)
    saved = meta.get("classes") if isinstance(meta, dict) else None
    classes = tuple(saved) if isinstance(saved, list) and len(saved) == cfg.model.num_classes else task.classes
    e = cfg.evaluation
    for path, stem, rgb in readable_images(args.images, unreadable):
        dets = detect(
            model,
            rgb,
            transform=task.eval_transform(),
            scales=e.tta_scales if args.tta else e.scales,
            flip=e.flip or args.tta,
            max_dets=e.max_dets,
            nms_iou=e.nms_iou,
        )
        dets = dets[dets[:, 4] >= args.score_thr]
        labels = [f"{classes[int(c)]} {s:.2f}" for s, c in zip(dets[:, 4].tolist(), dets[:, 5].tolist(), strict=True)]
        drawn = rgb
        if len(dets):
            boxes = draw_bounding_boxes(torch.from_numpy(rgb).permute(2, 0, 1), dets[:, :4], labels=labels, width=2)
            drawn = boxes.permute(1, 2, 0).numpy()
        Image.fromarray(drawn).save(out / f"{stem}_boxes.jpg", quality=90)
        print(f"{path}: {out / f'{stem}_boxes.jpg'} ({len(dets)} boxes with score >= {args.score_thr})")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/infer.py``."""
    with torch.inference_mode():
        return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
