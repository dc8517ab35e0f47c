"""``python tools/make_demo_data.py [--root DIR]``: write the synthetic Cityscapes-layout demo set."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..data.synthetic import make_synthetic_cityscapes, synthetic_cityscapes_exists
from ..outputs import output_dir
from ._common import run


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the make_demo_data tool."""
    p = argparse.ArgumentParser(
        prog="make_demo_data.py",
        description="Write deterministic synthetic street scenes in the Cityscapes layout "
        "(leftImg8bit/ and gtFine/ *_labelIds.png), the data of configs/demo_dla34.py. "
        "A complete set with the same parameters is kept as it is.",
    )
    p.add_argument("--root", default="data/demo_cityscapes", help="output folder (default: data/demo_cityscapes)")
    p.add_argument("--num-train", type=int, default=200, help="training images (default: 200)")
    p.add_argument("--num-val", type=int, default=40, help="validation images (default: 40)")
    p.add_argument("--height", type=int, default=128, help="image height (default: 128)")
    p.add_argument("--width", type=int, default=256, help="image width (default: 256)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return p


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    params = {
        "num_train": args.num_train,
        "num_val": args.num_val,
        "size": (args.height, args.width),
        "seed": args.seed,
    }
    output_dir(args.root, "--root")
    existed = synthetic_cityscapes_exists(args.root, **params)
    root = make_synthetic_cityscapes(args.root, **params)
    what = f"{args.num_train} train + {args.num_val} val images ({args.height}x{args.width}, seed {args.seed})"
    if existed:
        print(f"{root} already holds {what}; nothing written")
    else:
        print(f"wrote {what} in the Cityscapes layout to {root}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/make_demo_data.py``."""
    return run(_main, argv)
