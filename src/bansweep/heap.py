"""Process heap settings for large runs."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter (malloc.h)
_MMAP_BYTES = 128 * 1024  # glibc's own starting value


@functools.cache
def return_large_blocks() -> bool:
    """Have glibc map every block of 128 KiB or more (a list of a run's records) on its own, so that freeing it
    returns the memory. By default glibc raises that threshold after the first such block is freed, and large
    lists made and dropped one after another then stay in the heap. False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES))
