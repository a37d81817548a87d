"""The worker's doorbell: which workspaces have new events or requeued deliveries.

Lives beside the webhooks it serves so that the services which queue deliveries (a
commit, a replay) ring it without importing the worker loop (`kartoteka.workers`),
which reads it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: Set when some workspace wants a look; the worker loop waits on it.
event = threading.Event()
_dirty: set[str] = set()
_dirty_lock = threading.Lock()
#: Other loops rung by the same bell (the scenario worker).
_listeners: list[Callable[[str], None]] = []


def on_wake(listener: Callable[[str], None]) -> None:
    """Also call `listener(workspace_name)` on every ring."""
    if listener not in _listeners:
        _listeners.append(listener)


def wake(workspace_name: str) -> None:
    """Ask the worker loops to look at a workspace now."""
    with _dirty_lock:
        _dirty.add(workspace_name)
    event.set()
    for listener in list(_listeners):
        listener(workspace_name)


def take_dirty() -> set[str]:
    """The workspaces rung since the last call (and forget them)."""
    with _dirty_lock:
        names = set(_dirty)
        _dirty.clear()
    return names


def pending() -> bool:
    """Has any workspace been rung since the last `take_dirty`?"""
    with _dirty_lock:
        return bool(_dirty)
