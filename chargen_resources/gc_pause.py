"""Pausing Python's cycle collector around work that allocates much and makes no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Listing an inbox, planning a sensor tick or building the catalog makes a few objects
    per file and character and no reference cycles; left on, the cycle collector rescans the
    whole process heap (a code server's definitions, Dagster's caches, the entries made so far)
    many times over while it runs: most of a tick over thousands of characters, growing faster
    than the cast. Paused here only (as a `with` block or a decorator); a pause already in
    force is left as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
