"""The cyclic garbage collector, paused while many objects are made at once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a million rule objects are made (loading
    rules, restoring a saved engine): none of them is in a cycle, and each full collection
    would walk every object alive in the process, making the work grow faster than the
    rules. Restored on exit, as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
