"""The C allocator's handling of big arrays (glibc only).

perfkit allocates and frees arrays of tens of megabytes. By default glibc serves each one from a fresh ``mmap``
and unmaps it on ``free``, so every array pays one page fault per 4 KiB page when first written: about a third
of the time to load a 1M-sample profile on a virtual machine. :func:`tune_allocator` has glibc serve them from
its heap and keep up to :data:`KEEP_FREED` bytes of freed memory for the next array. The cost: a process holds
on to freed memory instead of returning it to the system. ``PERFKIT_ALLOCATOR=system`` keeps glibc's defaults.
"""
from __future__ import annotations

import ctypes
import functools
import os
import sys

ENV = "PERFKIT_ALLOCATOR"
BIG = 1 << 30              # blocks below this come from the heap, not from their own mmap
KEEP_FREED = 1 << 30       # freed memory kept at the top of the heap before any is returned
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3          # mallopt parameters (malloc.h)


@functools.cache
def tune_allocator() -> bool:
    """Apply the settings once per process; whether they are in effect (False: not glibc, or opted out)."""
    if os.environ.get(ENV, "").strip().lower() == "system" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):          # musl and others: leave their allocator alone
            return False
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, BIG)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, KEEP_FREED))
    except (OSError, AttributeError):
        return False


__all__ = ["tune_allocator", "ENV", "KEEP_FREED"]
