"""Shared command-line plumbing: user errors end in one line, not a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ..errors import DLADenseError
from ..inference.engines import BACKENDS
from ..runtime import tune_malloc


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)``; a :class:`DLADenseError` prints ``error: <message>`` and returns 2.

    Before anything large is allocated the C allocator is tuned (:func:`dla_dense.runtime.tune_malloc`;
    ``DLA_DENSE_MALLOC=0`` turns this off).
    """
    tune_malloc()
    try:
        return main(argv)
    except DLADenseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def check_task(found: str, wanted: str | None, config: str, verb: str) -> None:
    """Refuse a config of task ``found`` in a command restricted to task ``wanted`` (None: any task)."""
    if wanted is not None and found != wanted:
        raise DLADenseError(
            f"{config} is a {found!r} config; use tools/{verb}_{found}.py or tools/{verb}.py, which take any task"
        )


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """The model-running flags of the test and infer tools: ``--device``, ``--fast``, ``--bf16``, ``--compile``,
    ``--backend``, ``--int8`` and ``--calib-images`` (the arguments of :class:`~dla_dense.Predictor`)."""
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--fast", action="store_true", help="fold BatchNorm into convolutions and use channels-last")
    p.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow first calls)")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="inference engine: PyTorch, or onnxruntime / OpenVINO on an exported copy (CPU; default: torch)",
    )
    p.add_argument(
        "--int8",
        action="store_true",
        help="OpenVINO int8: post-training quantization (NNCF) calibrated on training images",
    )
    p.add_argument(
        "--calib-images", type=int, default=300, metavar="N", help="training images to calibrate int8 on (300)"
    )
