"""``python tools/model_info.py [--model NAME ...|--all]``: parameters and GMACs of DLA classifiers."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from ..analysis import count_macs, count_params
from ..backbones import DLA_MODELS, check_model_name
from ..models.classifier import create_classifier
from ._common import run


def model_facts(name: str, image_size: int = 224) -> dict[str, float]:
    """``{'model', 'params_m', 'gmacs'}`` of the ImageNet classifier ``name`` at ``image_size``²."""
    model = create_classifier(name)
    return {
        "model": name,
        "params_m": count_params(model) / 1e6,
        "gmacs": count_macs(model, (3, image_size, image_size)) / 1e9,
    }


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="model_info.py",
        description="Parameters (millions) and GMACs of one forward pass of each DLA ImageNet classifier. "
        "MACs count convolutions, matrix products and inference BatchNorm (one per element).",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", action="append", metavar="NAME", help="model name (repeatable; default dla34)")
    which.add_argument("--all", action="store_true", help="every DLA variant")
    p.add_argument("--image-size", type=int, default=224, help="square input size (default: 224)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = p.parse_args(argv)
    names = list(DLA_MODELS) if args.all else (args.model or ["dla34"])
    for name in names:
        check_model_name(name)
    if not args.json:
        print(f"{'model':<16}{'params (M)':>12}{f'GMACs@{args.image_size}':>12}")
    for name in names:
        facts = model_facts(name, args.image_size)
        if args.json:
            print(json.dumps(facts))
        else:
            print(f"{name:<16}{facts['params_m']:>12.2f}{facts['gmacs']:>12.2f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/model_info.py`` and ``dla-dense-model-info``."""
    return run(_main, argv)
