"""Where the tools write: an output folder or file checked and created before any work starts, so that a
mistaken path is one line naming it and the fix, not a traceback after minutes of computing."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import DLADenseError


def _make_folder(folder: Path, flag: str, what: str) -> None:
    """Create ``folder`` (and its parents); a one-line error naming ``flag`` when that is impossible."""
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise DLADenseError(
                f"{flag} '{folder}': '{parent}' is a file, so nothing can be written below it; pass another path"
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DLADenseError(
            f"{flag} '{folder}': cannot create it ({e.strerror}); pass {what} you can write to"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DLADenseError(f"{flag} '{folder}': the folder is not writable; pass {what} you can write to")


def output_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """The folder ``path``, created when missing; refused when it is a file or cannot be written."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise DLADenseError(f"{flag} '{folder}' is a file, not a folder; pass a folder (it is created when missing)")
    _make_folder(folder, flag, "a folder")
    return folder


def output_file(
    path: str | os.PathLike,
    suffix: str,
    flag: str = "--out",
    *,
    accept: Iterable[str] = (),
    others: Iterable[str] = (),
) -> Path:
    """The file ``path`` to write, ending in ``suffix`` or one of ``accept`` (``suffix`` is added when the name has
    neither); its folder is created. Refused when ``path`` is a folder, ends in one of ``others`` (the suffixes
    of other formats) or cannot be written."""
    file = Path(path)
    if file.is_dir():
        raise DLADenseError(f"{flag} '{file}' is a folder; pass a file name such as '{file / ('out' + suffix)}'")
    found = file.suffix.lower()
    if found in {s.lower() for s in accept}:
        suffix = found
    elif found != suffix and found in {s.lower() for s in others}:
        raise DLADenseError(
            f"{flag} '{file}' ends in {file.suffix} but this writes a {suffix} file; name it "
            f"'{file.with_suffix(suffix)}'"
        )
    if found != suffix:
        file = file.with_name(file.name + suffix)
    _make_folder(file.parent, flag, "a file")
    if file.exists() and not os.access(file, os.W_OK):
        raise DLADenseError(f"{flag} '{file}' exists and is not writable; pass another file name")
    return file
