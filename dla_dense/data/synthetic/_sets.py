"""Writing a synthetic COCO-format set once: a marker file records the parameters of a complete set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import DLADenseError
from .._atomic import write_folder_atomically


def is_complete(root: Path, marker: str, params: dict[str, Any]) -> bool:
    """Whether ``root`` holds a complete set written with ``params`` (its ``marker`` file says so)."""
    try:
        return json.loads((root / marker).read_text()) == params
    except (OSError, ValueError):
        return False


def write_once(root: Path, params: dict[str, Any], *, marker: str, write: Callable[[Path], None], what: str) -> Path:
    """``root`` holding the set of ``params``: kept when complete, else written by ``write(folder)`` into a
    temporary folder and renamed (an older or partial set is replaced); a file, or a folder holding anything
    but such a set, is refused. ``write`` must write ``marker`` last (``json.dumps(params)``)."""
    if is_complete(root, marker, params):
        return root
    if root.exists() and not root.is_dir():
        raise DLADenseError(f"cannot write the {what} to '{root}': it is a file; choose a folder")
    if root.is_dir() and any(root.iterdir()) and not (root / marker).is_file():
        raise DLADenseError(
            f"'{root}' already holds files that are not a {what} set (no {marker}); "
            "choose another folder or empty this one"
        )
    return write_folder_atomically(root, write, lambda folder: is_complete(folder, marker, params), what)
