"""Outbox consumers: turn committed events into webhook deliveries and send them.

`kartoteka worker` runs `run_forever`; `kartoteka serve` runs the same loop in a
thread (`start_in_process`). Several workers may run against PostgreSQL: the
outbox cursor and the due deliveries are claimed with `FOR UPDATE SKIP LOCKED`.

What wakes the loop without waiting for the poll:
- a commit in this process, through an `after_commit` hook;
- a commit in another process, heard through the live feed's listener
  (`webhooks.live`: Redis pub/sub when `KARTOTEKA_REDIS_URL` is set, else PostgreSQL
  LISTEN/NOTIFY); every process that commits events publishes the workspace's name;
- on SQLite without Redis, a look at each workspace's event counter every
  `WATCH_SECONDS` (one indexed single-row read of a local file).
A full pass over every workspace every `POLL_SECONDS` stays as the safety net: it
finds retries that came due and anything a lost notification did not announce.

Every `MAINTENANCE_SECONDS` (and at start) a thread beside the loop runs the
maintenance pass (`webhooks.maintenance`: disabling webhooks failing for days, pruning
deliveries and events by age) with a time budget per workspace, marks import jobs
of dead processes interrupted and collects files nothing holds or can put back
(`files.service.delete_orphans`, after a day's grace); deliveries never wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kartoteka.context import Actor, Workspace
from kartoteka.files import service as files
from kartoteka.importer import resume
from kartoteka.observability.heartbeat import Heart
from kartoteka.scenarios import maintenance as scenario_maintenance
from kartoteka.scenarios import worker as scenario_worker
from kartoteka.search import attachments as search_attachments
from kartoteka.search import index as search_index
from kartoteka.storage import counters
from kartoteka.webhooks import delivery, live, maintenance, outbox, sender, wakeup
from kartoteka.webhooks.wakeup import wake

__all__ = ["wake"]  # re-exported: callers ask the worker loop to look at a workspace

POLL_SECONDS = 2.0
WATCH_SECONDS = 0.05
MAINTENANCE_SECONDS = 300.0
#: Seconds one workspace's maintenance may take per run; the next run carries on.
MAINTENANCE_BUDGET = 10.0
#: Seconds one pass may spend indexing records imports left waiting.
SEARCH_BUDGET = 1.0
log = logging.getLogger("kartoteka.workers")


def on_commit(actor: Actor, first_seq: int, last_seq: int) -> None:
    """After a commit in this process: look at its workspace now (a write hook)."""
    wake(actor.workspace.name)


def listen() -> None:
    """Wake up on commits in other processes too, heard through the live feed."""
    live.on_remote_commit(wake)


def _workspace(instance: Any, workspace: str | Workspace) -> Workspace:
    return instance.workspace(workspace) if isinstance(workspace, str) else workspace


def run_once(
    instance: Any,
    workspace: str | Workspace,
    now: datetime | None = None,
    client: Any = None,
) -> int:
    """Match new events to webhooks and send what is due at `now`; returns attempts made.

    `client` is a `webhooks.delivery.NotifyClient` to reuse (its connections stay
    open between passes); without one a client is made for this call.
    """
    ws = _workspace(instance, workspace)

    def refill() -> int:
        return outbox.match_events(ws)

    if client is not None:
        return sender.send_due(ws, client, now, refill)
    with delivery.make_notify_client() as own:
        return sender.send_due(ws, own, now, refill)


def _pass(instance: Any, names: list[str], client: Any) -> None:
    for name in names:
        try:
            run_once(instance, name, client=client)
        except Exception:
            # One broken workspace must not stop deliveries for the others.
            log.exception("worker pass failed for workspace %s", name)
    for name in names:
        try:
            # Records imported since the last pass join the search index, a few
            # thousand per pass so deliveries never wait long behind a big import.
            # Attached files' text is extracted first: their records then wait too.
            workspace = instance.workspace(name)
            search_attachments.extract_pending(workspace, budget_seconds=SEARCH_BUDGET)
            search_index.catch_up(workspace, budget_seconds=SEARCH_BUDGET)
        except Exception:
            log.exception("search catch-up failed for workspace %s", name)


def maintain(instance: Any, names: list[str]) -> None:
    """The periodic housekeeping of each workspace; a failure is logged, never raised."""
    for name in names:
        try:
            ws = instance.workspace(name)
            done = maintenance.run(ws, budget_seconds=MAINTENANCE_BUDGET)
            done.update(resume.sweep_and_resume(ws))
            done.update(scenario_maintenance.prune(ws))
            done["files_collected"] = files.delete_orphans(ws, files.ORPHAN_AGE)
            log.debug("maintenance of %s: %s", name, done)
        except Exception:
            log.exception("maintenance failed for workspace %s", name)


def _maintenance_loop(instance: Any, stop: threading.Event, only: list[str] | None) -> None:
    """At start, then every MAINTENANCE_SECONDS until `stop`: `maintain` every workspace."""
    while not stop.is_set():
        try:
            maintain(instance, only or [ws["name"] for ws in instance.list_workspaces()])
        except Exception:
            log.exception("maintenance pass failed")
        stop.wait(MAINTENANCE_SECONDS)


class Watch:
    """Hears other processes' commits: the live listener, or counters where there is none."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def follow(self, instance: Any, names: list[str]) -> None:
        """Make sure commits to these workspaces wake the loop (call before a full pass)."""
        for name in names:
            try:
                ws = instance.workspace(name)
                if not live.ensure_listener(ws):
                    # Read before the pass, so nothing committed during it goes unnoticed.
                    self.seen[name] = self._counter(ws)
            except Exception:
                log.warning("worker: cannot follow workspace %s", name, exc_info=True)
                self.seen.pop(name, None)

    @staticmethod
    def _counter(ws: Workspace) -> int:
        with ws.engine.connect() as conn:
            return counters.peek(conn, "event_seq")

    def look(self, instance: Any) -> None:
        """Wake the loop for every watched workspace whose event counter moved."""
        for name, seen in list(self.seen.items()):
            try:
                value = self._counter(instance.workspace(name))
            except Exception:
                self.seen.pop(name, None)  # deleted or broken; the full pass reports it
                continue
            if value != seen:
                self.seen[name] = value
                wake(name)

    def wait(self, instance: Any, seconds: float) -> None:
        """Sleep up to `seconds` or until woken."""
        if not self.seen:
            wakeup.event.wait(seconds)
            return
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if wakeup.event.wait(min(WATCH_SECONDS, left)):
                return
            self.look(instance)


def run_forever(
    instance: Any,
    stop: threading.Event | None = None,
    poll_seconds: float = POLL_SECONDS,
    only: list[str] | None = None,
) -> None:
    """Consume every workspace's outbox (or `only` these) until `stop` is set."""
    listen()
    stop = stop or threading.Event()
    watch = Watch()
    upkeep = threading.Thread(
        target=_maintenance_loop, args=(instance, stop, only), daemon=True, name="kt-maintenance"
    )
    upkeep.start()
    # Scenario runs go on beside the deliveries, so a slow step never delays them.
    scenarios = scenario_worker.start_thread(instance, stop, only)
    try:
        _deliver(instance, stop, poll_seconds, only, watch)
    finally:
        stop.set()  # the maintenance and scenario threads end with the loop
        scenario_worker.stop_waiting()
        upkeep.join(timeout=30)
        scenarios.join(timeout=30)


def _deliver(
    instance: Any, stop: threading.Event, poll_seconds: float, only: list[str] | None, watch: Watch
) -> None:
    """The delivery loop of `run_forever`."""
    last_full = -poll_seconds
    heart = Heart(instance.dbs.control)
    with delivery.make_notify_client() as client:
        while not stop.is_set():
            heart.beat()
            wakeup.event.clear()
            dirty = wakeup.take_dirty()
            if time.monotonic() - last_full >= poll_seconds:
                # A full pass finds retries that came due and anything not announced.
                last_full = time.monotonic()
                names = only or [ws["name"] for ws in instance.list_workspaces()]
                watch.follow(instance, names)
                names = [n for n in names if n in dirty] + [n for n in names if n not in dirty]
            else:
                names = sorted(n for n in dirty if only is None or n in only)
            _pass(instance, names, client)
            if not wakeup.pending() and not stop.is_set():
                watch.wait(instance, max(0.0, poll_seconds - (time.monotonic() - last_full)))


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
    listen()
    thread.start()

    def stopper() -> None:
        stop.set()
        wakeup.event.set()
        thread.join(timeout=30)

    return stopper
