"""Shared command-line plumbing: user errors end in one line, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from ..errors import DLADenseError


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)``; a :class:`DLADenseError` prints ``error: <message>`` and returns 2."""
    try:
        return main(argv)
    except DLADenseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
