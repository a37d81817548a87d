"""The scenario consumer of a worker process, beside the webhook delivery loop.

It runs in its own thread so a slow HTTP step never holds up webhook deliveries.
Each pass over a workspace: turn new events into runs (and wake waits), fire timers,
then claim and execute due runs. It is woken by the same signals as the delivery loop
(commits here and in other processes); a full pass every `POLL_SECONDS` finds waits
and retries that came due.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from kartoteka.context import Workspace
from kartoteka.webhooks import wakeup

from . import engine, passes, triggers
from .clock import clock

POLL_SECONDS = 1.0
log = logging.getLogger("kartoteka.scenarios.worker")

_wake = threading.Event()
_dirty: set[str] = set()
_dirty_lock = threading.Lock()


def owner_name() -> str:
    """Who holds a claimed run: host, process and a per-call nonce."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def services_for(settings: Any) -> engine.Services:
    """The step services the settings ask for (private addresses, runs at once)."""
    return engine.Services(
        allow_private=bool(settings.webhook_allow_private),
        threads=int(getattr(settings, "scenario_threads", 1) or 1),
    )


def _heard(workspace_name: str) -> None:
    with _dirty_lock:
        _dirty.add(workspace_name)
    _wake.set()


def install_hooks() -> None:
    """Wake this loop whenever runs were queued or events committed."""
    wakeup.on_wake(_heard)


def run_once(
    ws: Workspace,
    services: engine.Services | None = None,
    now: datetime | None = None,
    owner: str | None = None,
) -> int:
    """One pass over one workspace; returns how many runs were executed."""
    moment = now or clock.now()
    while triggers.consume_events(ws, moment):
        pass
    triggers.fire_timers(ws, moment)
    own = services or services_for(ws.settings)
    try:
        return passes.run_due(ws, owner or owner_name(), own)
    finally:
        if services is None:
            own.close()


def loop(instance: Any, stop: threading.Event, only: list[str] | None = None) -> None:
    """Consume every workspace (or `only` these) until `stop` is set."""
    install_hooks()
    owner = owner_name()
    services = services_for(instance.settings)
    last_full = -POLL_SECONDS
    try:
        while not stop.is_set():
            _wake.clear()
            with _dirty_lock:
                dirty = set(_dirty)
                _dirty.clear()
            if time.monotonic() - last_full >= POLL_SECONDS:
                last_full = time.monotonic()
                names = only or [w["name"] for w in instance.list_workspaces()]
            else:
                names = sorted(n for n in dirty if only is None or n in only)
            for name in names:
                try:
                    run_once(instance.workspace(name), services, owner=owner)
                except Exception:
                    log.exception("scenario pass failed for workspace %s", name)
            if not _dirty and not stop.is_set():
                _wake.wait(max(0.0, POLL_SECONDS - (time.monotonic() - last_full)))
    finally:
        services.close()


def start_thread(instance: Any, stop: threading.Event, only: list[str] | None) -> threading.Thread:
    """Run `loop` in a daemon thread (ends when `stop` is set)."""
    thread = threading.Thread(
        target=loop, args=(instance, stop, only), daemon=True, name="kt-scenarios"
    )
    thread.start()
    return thread


def stop_waiting() -> None:
    """Let a waiting loop see its stop flag now."""
    _wake.set()
