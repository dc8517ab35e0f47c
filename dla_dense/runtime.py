"""Process-wide CPU runtime settings applied by the tools before the first large allocation."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

#: Set to ``0`` to leave the C allocator as it is.
MALLOC_ENV = "DLA_DENSE_MALLOC"
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap and are reused, not mmap-ed and page-faulted on every forward.
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit on 64-bit
#: Freed heap memory above this is returned to the system.
TRIM_THRESHOLD = 1024 * 1024 * 1024

_tuned: bool | None = None


def _better_allocator_loaded() -> bool:
    preload = os.environ.get("LD_PRELOAD", "")
    return any(name in preload for name in ("jemalloc", "tcmalloc", "mimalloc"))


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds so tensor buffers are reused instead of page-faulted anew.

    With glibc's defaults every forward pass of a DLA network maps and unmaps hundreds of MB, and the
    page faults cost about as much as the convolutions. Does nothing (and returns False) when
    ``DLA_DENSE_MALLOC=0``, off glibc, when jemalloc/tcmalloc/mimalloc is preloaded or when the user set
    ``GLIBC_TUNABLES`` for malloc. Returns whether the thresholds are set; safe to call more than once.
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if os.environ.get(MALLOC_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return _tuned
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or _better_allocator_loaded():
        return _tuned
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return _tuned
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return _tuned
    ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    _tuned = ok
    return _tuned
