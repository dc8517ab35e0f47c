"""Shared command-line plumbing: user errors end in one line, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from ..errors import DLADenseError
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
