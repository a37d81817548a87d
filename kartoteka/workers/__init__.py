"""Outbox consumers: turn committed events into webhook deliveries and send them.

`kartoteka worker` runs `run_forever`; `kartoteka serve` runs the same loop in a
thread (`start_in_process`). Several workers may run against PostgreSQL: the
outbox cursor and the due deliveries are claimed with `FOR UPDATE SKIP LOCKED`.
A commit in this process wakes the loop at once through an `after_commit` hook;
other processes' commits are picked up by polling every `POLL_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from kartoteka.context import Actor, Workspace
from kartoteka.records import hooks

POLL_SECONDS = 2.0
log = logging.getLogger("kartoteka.workers")

_wake = threading.Event()
_dirty: set[str] = set()
_dirty_lock = threading.Lock()


def wake(workspace_name: str) -> None:
    """Ask the worker loop to look at a workspace now."""
    with _dirty_lock:
        _dirty.add(workspace_name)
    _wake.set()


def _on_commit(actor: Actor, first_seq: int, last_seq: int) -> None:
    wake(actor.workspace.name)


def install_hooks() -> None:
    """Register the after-commit wake-up and the request-webhook check (idempotent)."""
    from kartoteka.webhooks import request_hooks

    request_hooks.install()
    if _on_commit not in hooks.after_commit:
        hooks.after_commit.append(_on_commit)


def _workspace(instance: Any, workspace: str | Workspace) -> Workspace:
    return instance.workspace(workspace) if isinstance(workspace, str) else workspace


def run_once(
    instance: Any,
    workspace: str | Workspace,
    now: datetime | None = None,
    client: httpx.Client | None = None,
) -> int:
    """Match new events to webhooks and send what is due at `now`; returns attempts made."""
    from kartoteka.webhooks import delivery, outbox, sender

    ws = _workspace(instance, workspace)
    while outbox.match_events(ws):
        pass
    if client is not None:
        return sender.send_due(ws, client, now)
    with delivery.make_client() as own:
        return sender.send_due(ws, own, now)


def _take_dirty() -> set[str]:
    with _dirty_lock:
        names = set(_dirty)
        _dirty.clear()
    return names


def _pass(instance: Any, names: list[str], client: httpx.Client) -> None:
    for name in names:
        try:
            run_once(instance, name, client=client)
        except Exception:
            # One broken workspace must not stop deliveries for the others.
            log.exception("worker pass failed for workspace %s", name)


def run_forever(
    instance: Any,
    stop: threading.Event | None = None,
    poll_seconds: float = POLL_SECONDS,
    only: list[str] | None = None,
) -> None:
    """Consume every workspace's outbox (or `only` these) until `stop` is set."""
    from kartoteka.webhooks import delivery

    install_hooks()
    stop = stop or threading.Event()
    last_full = -poll_seconds
    with delivery.make_client() as client:
        while not stop.is_set():
            _wake.clear()
            dirty = _take_dirty()
            if time.monotonic() - last_full >= poll_seconds:
                # A full pass finds retries that came due and commits of other processes.
                last_full = time.monotonic()
                names = only or [ws["name"] for ws in instance.list_workspaces()]
                names = [n for n in names if n in dirty] + [n for n in names if n not in dirty]
            else:
                names = sorted(n for n in dirty if only is None or n in only)
            _pass(instance, names, client)
            if not _dirty:
                _wake.wait(max(0.0, poll_seconds - (time.monotonic() - last_full)))


def start_in_process(
    instance: Any, only: list[str] | None = None, poll_seconds: float = POLL_SECONDS
) -> Callable[[], None]:
    """Run the worker loop in a daemon thread; returns a function that stops it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        args=(instance, stop, poll_seconds, only),
        daemon=True,
        name="kartoteka-worker",
    )
    install_hooks()
    thread.start()

    def stopper() -> None:
        stop.set()
        _wake.set()
        thread.join(timeout=30)

    return stopper
