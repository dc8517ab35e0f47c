"""Writing a generated dataset folder so that an interrupted run never leaves half of it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import DLADenseError


def write_folder_atomically(
    root: str | os.PathLike, write: Callable[[Path], None], is_complete: Callable[[Path], bool], what: str
) -> Path:
    """Fill a temporary folder next to ``root`` with ``write(folder)``, then swap it in for ``root``.

    A ``root`` that became complete meanwhile (another process) is kept. On failure the temporary folder is
    removed and the previous ``root`` stays as it was.
    """
    target = Path(os.path.abspath(root))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    old = tmp.with_suffix(".old")
    try:
        write(tmp)
        if is_complete(target):
            return Path(root)
        if target.exists():
            target.rename(old)
        try:
            tmp.rename(target)
        except OSError as e:
            if not is_complete(target):
                raise DLADenseError(f"could not move the {what} into '{root}': {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return Path(root)
