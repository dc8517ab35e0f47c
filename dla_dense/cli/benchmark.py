"""``python tools/benchmark.py CONFIG|SPEC [--compare ...] [--json FILE]``: speed, memory and FLOP efficiency."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..benchmark import MODES, VARIANTS, format_report, run_benchmark
from ..outputs import output_file
from ..tasks import TASKS
from ._common import run


def _main(argv: Sequence[str] | None) -> int:
    p = argparse.ArgumentParser(
        prog="benchmark.py",
        description="Inference and training-step throughput (median and IQR after warm-up), peak memory, "
        "parameters, GFLOPs and the fraction of a measured convolution peak, for a config or a model spec. "
        "Variants run interleaved with the eager fp32 baseline and are reported as paired ratios.",
    )
    p.add_argument(
        "target",
        help="a config file (configs/*.py) or a model spec: seg:BACKBONE, det:BACKBONE[:NODE] or track:BACKBONE[:NODE]",
    )
    p.add_argument(
        "--mode",
        choices=[*MODES, "both"],
        help="what to measure: infer (the network), train (a training step), frame (trackers: a video through a "
        "stream, tracker included) or both (infer and train); default: infer and train, plus frame for trackers",
    )
    p.add_argument(
        "--compare",
        nargs="*",
        metavar="VARIANT",
        help=f"variants to run against eager: {', '.join(v for v in VARIANTS if v != 'eager')}; bare --compare "
        "runs "
        + " or ".join(f"{' '.join(t.info.bench.compare)} ({n})" for n, t in TASKS.items() if t.info.bench.input_size),
    )
    p.add_argument(
        "--input-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="inference input and frame size (default: 512 1024 seg, 512 512 det, 544 960 track)",
    )
    p.add_argument("--batch", type=int, default=1, help="inference batch size (default: 1)")
    p.add_argument(
        "--train-size",
        type=int,
        nargs=2,
        default=(512, 512),
        metavar=("H", "W"),
        help="training input (default: 512 512)",
    )
    p.add_argument("--train-batch", type=int, default=2, help="training batch size (default: 2)")
    p.add_argument("--iters", type=int, default=10, help="timed rounds per mode (frame: timed frames) (default: 10)")
    p.add_argument(
        "--warmup", type=int, default=2, help="untimed iterations (frame: frames) per variant first (default: 2)"
    )
    p.add_argument("--checkpoint", help="weights for the config's network (default: random, BatchNorm randomised)")
    p.add_argument(
        "--agreement-images",
        type=int,
        default=8,
        metavar="N",
        help="with --checkpoint and a seg config: measure agreement on the first N validation images (default: 8)",
    )
    p.add_argument("--data", action="store_true", help="also measure the training input pipeline (samples/s)")
    p.add_argument("--data-batches", type=int, default=10, help="batches timed for --data (default: 10)")
    p.add_argument(
        "--compare-allocator",
        action="store_true",
        help="rerun the eager baseline in subprocesses with DLA_DENSE_MALLOC=1 and 0 and report the ratio",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="OpenVINO variants: also print the time per call of each layer type (OpenVINO's per-layer counters)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the full result (every timing) as JSON")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and inputs (default: 0)")
    args = p.parse_args(argv)
    json_path = output_file(args.json, ".json", "--json") if args.json else None
    result = run_benchmark(
        args.target,
        overrides=args.cfg_options,
        modes=None if args.mode is None else ("infer", "train") if args.mode == "both" else (args.mode,),
        compare=args.compare,
        infer_size=tuple(args.input_size) if args.input_size else None,
        infer_batch=args.batch,
        train_size=tuple(args.train_size),
        train_batch=args.train_batch,
        iters=args.iters,
        warmup=args.warmup,
        device=args.device,
        checkpoint=args.checkpoint,
        agreement_images=args.agreement_images,
        data=args.data,
        data_batches=args.data_batches,
        compare_allocator=args.compare_allocator,
        profile=args.profile,
        seed=args.seed,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(format_report(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/benchmark.py``."""
    return run(_main, argv)
