"""``python tools/classify.py --model dla60 [IMAGE ...]``: ImageNet top-k with a DLA classifier."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

from ..backbones import DLA_MODELS, check_model_name
from ..errors import about_input
from ..images import load_image, sample_image_path
from ..models.classifier import classify, create_classifier
from ._common import run


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the classify tool."""
    p = argparse.ArgumentParser(
        prog="classify.py",
        description="Classify images with a DLA ImageNet classifier and print the top-k classes "
        "as '<class name> <probability>' lines, highest first.",
    )
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files (default: the bundled sample photo)")
    p.add_argument("--model", default="dla34", help=f"one of: {', '.join(DLA_MODELS)} (default: dla34)")
    weights = p.add_mutually_exclusive_group()
    weights.add_argument("--weights", metavar="FILE", help="local ImageNet weights (.pth/.safetensors)")
    weights.add_argument("--no-pretrained", action="store_true", help="random weights (meaningless output)")
    p.add_argument("--topk", type=int, default=5, help="number of classes to print (default: 5)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    return p


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    check_model_name(args.model)
    if args.topk < 1:
        build_parser().error("--topk must be at least 1")
    paths = args.images or [sample_image_path()]
    images = [load_image(path, exif_transpose=True) for path in paths]
    names = args.images or [str(sample_image_path())]
    if args.no_pretrained:
        pretrained, source = False, "random weights: the classes printed are meaningless"
    elif args.weights:
        pretrained, source = args.weights, f"weights {args.weights}"
    else:
        pretrained, source = True, "timm ImageNet weights"
    model = create_classifier(args.model, pretrained=pretrained).to(args.device)
    print(f"{args.model} ({source})", file=sys.stderr)
    for name, image in zip(names, images, strict=True):
        if len(images) > 1:
            print(f"== {name}")
        with about_input(str(name)):
            for label, prob in classify(model, image, topk=args.topk):
                print(f"{label} {prob:.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/classify.py`` and ``dla-dense-classify``."""
    return run(_main, argv)
