"""Atomic checkpoint files and the ``last_checkpoint`` pointer of a work dir."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import DLADenseError

LAST_POINTER = "last_checkpoint"


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_failure(e: BaseException) -> str | None:
    """Why a write failed, for an ``OSError`` or the ``RuntimeError`` that torch's zip writer raises when the
    disk is full (``[enforce fail at inline_container.cc ...] file write failed``); None for anything else."""
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    if isinstance(e, RuntimeError) and "inline_container" in str(e):
        return "the write failed; is the disk full?"
    return None


def atomic_write(path: str | Path, write) -> Path:
    """Call ``write(file_object)`` on a temp file next to ``path``, fsync it, then rename it over ``path``.

    A crash or a full disk at any moment leaves either the old file or the complete new one, and no
    temporary file. The file gets the permissions a plain ``open(path, "w")`` would give (``0666`` less the
    umask), not the temp file's private ``0600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        reason = _write_failure(e)
        if reason is not None:
            raise DLADenseError(f"could not write '{path}' ({reason}); the previous file is intact") from None
        raise
    _fsync_dir(path.parent)
    return path


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` with ``torch.save`` atomically (temp file, fsync, rename)."""
    return atomic_write(path, lambda f: torch.save(state, f))


def load_training_state(path: str | Path) -> dict[str, Any]:
    """Read a training checkpoint (``torch.load(weights_only=True)``) with one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise DLADenseError(f"checkpoint not found: '{path}'")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - unreadable for any reason
        first = (str(e).strip().splitlines() or [""])[0]
        raise DLADenseError(
            f"'{path}' is not a readable dla_dense checkpoint ({type(e).__name__}: {first}); "
            "resume from an iter_*.pth file of a work dir"
        ) from None
    if not isinstance(state, dict) or "model" not in state or "iteration" not in state:
        raise DLADenseError(
            f"'{path}' is not a dla_dense training checkpoint (no model/iteration entries); "
            "resume from an iter_*.pth file of a work dir"
        )
    return state


def write_last_pointer(work_dir: str | Path, checkpoint: Path) -> None:
    """Record ``checkpoint`` as the one ``--resume`` continues from."""
    atomic_write(Path(work_dir) / LAST_POINTER, lambda f: f.write(checkpoint.name.encode()))


def last_checkpoint(work_dir: str | Path) -> Path | None:
    """The checkpoint named by the work dir's pointer, or None when the run has none yet."""
    pointer = Path(work_dir) / LAST_POINTER
    if not pointer.is_file():
        return None
    path = Path(work_dir) / pointer.read_text().strip()
    return path if path.is_file() else None


def remove_stale_temp_files(work_dir: str | Path) -> list[Path]:
    """Delete the partial temporary files (``.iter_*.pth.*.tmp`` ...) of a process killed while writing a checkpoint.

    Returns the files removed. Call it only where no other process writes into ``work_dir``.
    """
    removed = []
    for name in ("iter_*.pth", "best.pth", LAST_POINTER):
        for stale in Path(work_dir).glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


def prune_checkpoints(work_dir: str | Path, keep: int) -> None:
    """Delete all but the newest ``keep`` ``iter_*.pth`` files (the pointed-to one always stays)."""
    files = sorted(Path(work_dir).glob("iter_*.pth"))
    current = last_checkpoint(work_dir)
    for old in files[: max(0, len(files) - keep)]:
        if old != current:
            old.unlink(missing_ok=True)
