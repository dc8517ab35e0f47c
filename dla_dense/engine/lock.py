"""One training run per work dir: a lock file that names the run holding it.

``work_dir/.lock`` holds ``{"pid", "host", "started"}`` and an exclusive POSIX record lock (``lockf``) for as
long as the run lives. The kernel drops that lock when the process ends in any way (SIGKILL included), and
forked processes (data-loader workers) do not inherit it, so a lock file whose lock can be taken again was
left by a run that no longer exists: it is taken over with a warning. A second live run finds the lock
held and stops with one line naming the first.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..errors import DLADenseError
from .logging import get_logger

LOCK_NAME = ".lock"


class WorkDirLock:
    """``with WorkDirLock(work_dir):`` holds the work dir's lock for the block (see the module docstring)."""

    def __init__(self, work_dir: str | os.PathLike) -> None:
        self.path = Path(work_dir) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> WorkDirLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise DLADenseError(
                f"cannot write into the work dir '{self.path.parent}' ({e.strerror}); pass --work-dir a folder "
                "you can write to"
            ) from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EAGAIN):
                os.close(fd)
                raise DLADenseError(
                    f"cannot lock '{self.path}' ({e.strerror}); pass --work-dir on a filesystem with file locks"
                ) from None
            holder = _describe(_read(fd))
            os.close(fd)
            raise DLADenseError(
                f"the work dir '{self.path.parent}' is in use by another training run ({holder}); wait for it "
                "to end, stop it, or pass another --work-dir"
            ) from None
        previous = _read(fd)
        if previous:
            get_logger().warning(
                f"took over the lock of '{self.path.parent}' left by a run that ended without releasing it "
                f"({_describe(previous)})"
            )
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _read(fd: int) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        data = os.pread(fd, 4096, 0)
        record = json.loads(data) if data else {}
        return record if isinstance(record, dict) else {}
    return {}


def _describe(record: dict[str, Any]) -> str:
    if not record:
        return "no details recorded"
    return f"pid {record.get('pid')} on host {record.get('host')}, started {record.get('started')}"
