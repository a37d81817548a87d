"""The cyclic garbage collector, spaced out while an import runs.

A chunk makes ~100,000 container objects (rows, value dicts, history changes, event
payloads) that live until the chunk is written. With CPython's default thresholds
(700, 10, 10) they set off a young collection every 700 allocations and, as they
survive, full collections that walk every object of the process (the modules,
SQLAlchemy's metadata, the catalogs): ~30 % of an import's CPU time (docs/benchmarks.md,
"Imports at scale", session 7). Nearly all of those objects are freed by reference
counting when the chunk is done; the collector only has cycles to find, and finding them
every 50,000 allocations instead of every 700 costs a few megabytes at most.

The thresholds are process-wide: imports running side by side share one spacing, and
the previous thresholds come back when the last of them ends.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: Collector thresholds while an import runs (CPython's defaults are 700, 10, 10).
IMPORT_THRESHOLDS = (50_000, 20, 100)

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def spaced_out() -> Iterator[None]:
    """Collect less often for the length of the block (nested and concurrent blocks
    share it; the thresholds before the first are restored after the last)."""
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            if _saved[0]:  # 0: collection is off altogether, leave it so
                gc.set_threshold(*IMPORT_THRESHOLDS)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.set_threshold(*_saved)
