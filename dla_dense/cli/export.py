"""``python tools/export.py CONFIG CHECKPOINT --out model.onnx``: export to ONNX and check with onnxruntime."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..config import load_config
from ..export import export_onnx
from ..tasks import build_task
from ..weights import load_checkpoint
from ._common import run


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="export.py", description="Export a trained model to ONNX and compare onnxruntime with PyTorch."
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="model checkpoint")
    p.add_argument("--out", required=True, metavar="FILE", help="the .onnx file to write")
    p.add_argument("--input-size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"), help="default 512 512")
    p.add_argument("--opset", type=int, default=19, help="ONNX opset (19+ for deformable nodes)")
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime comparison")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    args = p.parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    task = build_task(cfg)
    model = task.build_model()
    load_checkpoint(model, args.checkpoint)
    module, names = task.export_outputs(model.eval())
    size = tuple(args.input_size)
    diff = export_onnx(module, args.out, output_names=names, input_size=size, opset=args.opset, check=not args.no_check)
    check = "" if diff is None else f"; onnxruntime vs PyTorch max abs diff {diff:.2e}"
    print(f"wrote {args.out}{check}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/export.py``."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
