"""``python tools/export.py CONFIG CHECKPOINT --out FILE [--format onnx|openvino|torchscript]``: export a trained
model and compare the exported file, run by its engine, with PyTorch."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..config import load_config
from ..errors import about_input
from ..export import FORMATS, export_model, export_outputs
from ..outputs import output_file
from ..tasks import build_task
from ..weights import load_checkpoint
from ._common import run

ENGINES = {"onnx": "onnxruntime", "openvino": "OpenVINO", "torchscript": "torch.jit.load"}


def _format_of(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    if args.format:
        return args.format
    suffix = Path(args.out).suffix.lower()
    found = next((fmt for fmt, ext in FORMATS.items() if ext == suffix), None)
    if found is None:
        parser.error(f"cannot tell the format from '{args.out}'; pass --format ({', '.join(FORMATS)})")
    return found


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="export.py",
        description="Export a trained model to ONNX, OpenVINO IR or TorchScript and compare the exported file, run "
        "by onnxruntime / OpenVINO / torch.jit, with PyTorch.",
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="model checkpoint")
    p.add_argument(
        "--out", required=True, metavar="FILE", help="the file to write (.onnx, .xml or .pt; added when missing)"
    )
    p.add_argument("--format", choices=list(FORMATS), help="default: from the --out suffix")
    p.add_argument("--input-size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"), help="default 512 512")
    p.add_argument("--batch", type=int, default=1, help="batch size of the exported graph (default: 1)")
    p.add_argument("--opset", type=int, default=19, help="ONNX opset (19+ for deformable nodes)")
    p.add_argument("--no-check", action="store_true", help="skip the comparison with PyTorch")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    args = p.parse_args(argv)
    fmt = _format_of(args, p)
    out = output_file(args.out, FORMATS[fmt], others=FORMATS.values())
    cfg = load_config(args.config, args.cfg_options)
    task = build_task(cfg)
    model = task.build_model()
    load_checkpoint(model, args.checkpoint)
    module, names, _ = export_outputs(model.eval())
    with about_input(f"{args.checkpoint} -> {out}"):
        diff = export_model(
            module,
            out,
            fmt=fmt,
            output_names=names,
            input_size=tuple(args.input_size),
            batch=args.batch,
            opset=args.opset,
            check=not args.no_check,
        )
    check = "" if diff is None else f"; {ENGINES[fmt]} vs PyTorch over {', '.join(names)}: max abs diff {diff:.2e}"
    written = f"{out} and {out.with_suffix('.bin')}" if fmt == "openvino" else str(out)
    print(f"wrote {written} ({fmt}){check}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/export.py``."""
    return run(_main, argv)
