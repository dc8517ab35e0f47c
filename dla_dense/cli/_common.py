"""Shared command-line plumbing: user errors end in one line, not a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

from ..errors import INPUT_ATTR, DLADenseError
from ..inference.engines import BACKENDS
from ..runtime import tune_malloc

#: Set to ``1`` to see the full traceback of an unexpected error (as ``--debug`` does).
DEBUG_ENV = "DLA_DENSE_DEBUG"


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)``; a :class:`DLADenseError` prints ``error: <message>`` and returns 2.

    Any other exception is a last resort: one line naming the input being worked on and the library that
    failed, exit status 1; ``--debug`` (taken out of ``argv`` here, so every tool has it) or ``DLA_DENSE_DEBUG=1``
    lets the full traceback through instead. Before anything large is allocated the C allocator is tuned
    (:func:`dla_dense.runtime.tune_malloc`; ``DLA_DENSE_MALLOC=0`` turns this off).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    args = [a for a in args if a != "--debug"]
    tune_malloc()
    try:
        return main(args)
    except DLADenseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if debug:
            raise
        print(f"error: {unexpected(e)}", file=sys.stderr)
        return 1


def failing_library(e: BaseException) -> str:
    """The top-level package whose code raised ``e``: that of the deepest frame of its traceback outside
    Python's own library (``dla_dense`` for ours)."""
    frames, tb = [], e.__traceback__
    while tb is not None:
        frames.append(str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0])
        tb = tb.tb_next
    for package in reversed(frames):
        if package and package not in sys.stdlib_module_names and package != "__main__":
            return package
    return "Python"


def unexpected(e: BaseException) -> str:
    """The one line a tool prints for an exception that is not a :class:`DLADenseError`."""
    text = str(e).strip().splitlines()
    detail = f"{type(e).__name__}: {text[0][:300]}" if text else type(e).__name__
    where = getattr(e, INPUT_ATTR, None)
    on = f" on '{where}'" if where else ""
    return (
        f"{failing_library(e)} failed{on} ({detail}); this is not a known input mistake: rerun with --debug "
        f"(or {DEBUG_ENV}=1) for the full traceback, and report it if the input is valid"
    )


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


def task_mains(main: Callable[..., int], module: str, tasks: Collection[str]) -> Callable[[str], Callable[..., int]]:
    """The module ``__getattr__`` that gives ``<task>_main`` (``main`` restricted to the task) for every task of
    ``tasks`` (the registry): the entry points of the task-restricted tools."""

    def attribute(name: str) -> Callable[..., int]:
        wanted = name.removesuffix("_main")
        if name.endswith("_main") and wanted in tasks:
            return partial(main, task=wanted)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return attribute


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~dla_dense.Predictor` keywords of :func:`add_engine_args`' flags (not ``--device``)."""
    return {name: getattr(args, name) for name in ("fast", "bf16", "compile", "backend", "int8")}
