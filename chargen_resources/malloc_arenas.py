"""Fewer glibc malloc arenas in a process whose worker threads come and go.

glibc gives a thread that meets another in `malloc` an arena of its own (up to eight per core),
and memory freed in one arena is never used for another's allocations: a run's upload, storage
and image threads left some 20 MB of peak memory per run worker in arenas they no longer used.
Two arenas keep that memory in use. `MALLOC_ARENA_MAX` in the environment (set in
`deploy/Dockerfile` for every process of the image) says the same and is left to decide.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # the `mallopt` parameter, from glibc's malloc.h
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas for the threads this process starts from now on; False when the
    environment already says (`MALLOC_ARENA_MAX`) or the C library has no `mallopt`."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # not glibc (macOS has no mallopt)
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
