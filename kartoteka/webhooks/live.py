"""The live feed: committed events streamed to a user as server-sent events, rights applied.

Each subscriber reads the `events` table past its last sequence number, keeping only
events of catalogs it can see whose record it can see now, without hidden fields.
Wake-ups: a commit in this process rings the bell at once (`after_commit` hook);
commits of other processes arrive through Redis pub/sub (when `KARTOTEKA_REDIS_URL`
is set) or PostgreSQL LISTEN/NOTIFY; and every subscriber polls every POLL_SECONDS
anyway, so a lost notification only delays an event, never drops it. The same
notifications (their payload is the workspace name) wake `kartoteka worker` processes:
they register with `on_remote_commit` and start the listener with `ensure_listener`.
Between reads the stream also checks the reader's own notices and sends a `notice`
event (unread count, newest id) when they changed: the web UI's bell follows it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
import orjson
import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView, visible_ids
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor, Workspace
from kartoteka.errors import DomainError
from kartoteka.fields.datetime import render_datetime
from kartoteka.notices import service as notices
from kartoteka.observability import metrics
from kartoteka.records import snapshots
from kartoteka.storage import counters, schema
from kartoteka.storage.engine import read_connection

POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
BATCH = 500
#: PostgreSQL's NOTIFY channel (one per database: instances in one database share their
#: workspaces' schemas anyway). Redis's carries the instance's prefix (`redis_channel`).
CHANNEL = "kartoteka_events"
log = logging.getLogger("kartoteka.webhooks.live")


class Bell:
    """Wakes every subscriber of this process; safe to ring from any thread."""

    def __init__(self) -> None:
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        """A new subscription for the running event loop."""
        sub = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        """Forget a subscription."""
        with self._lock:
            self._subscribers.discard(sub)

    def ring(self) -> None:
        """Wake every subscriber."""
        with self._lock:
            subs = list(self._subscribers)
        for loop, event in subs:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                # The subscriber's loop is closed; it is going away anyway.
                self.unsubscribe((loop, event))


bell = Bell()
_listeners: set[str] = set()
_listeners_lock = threading.Lock()
#: Called with a workspace name whenever another process says it committed events.
remote_commit_hooks: list[Callable[[str], None]] = []
_redis_clients: dict[str, Any] = {}


def on_remote_commit(hook: Callable[[str], None]) -> None:
    """Call `hook(workspace_name)` on every commit notification from another process."""
    if hook not in remote_commit_hooks:
        remote_commit_hooks.append(hook)


def _heard(payload: Any) -> None:
    bell.ring()
    name = payload.decode() if isinstance(payload, bytes) else str(payload)
    for hook in list(remote_commit_hooks):
        try:
            hook(name)
        except Exception:
            log.warning("live feed: a remote-commit hook failed", exc_info=True)


# ----- cross-process fan-out -----------------------------------------------------------
def _pg_conninfo(ws: Workspace) -> str:
    url = ws.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _publish(ws: Workspace) -> None:
    """Tell other processes that `ws` has new events (Redis or PostgreSQL NOTIFY)."""
    url = ws.settings.redis_url
    if url:
        import redis  # lazy: optional, only with KARTOTEKA_REDIS_URL

        # One client per URL: its connection pool is thread-safe, and a new TCP
        # connection per commit cost more than the publish itself.
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients.setdefault(url, redis.Redis.from_url(url))
        client.publish(redis_channel(ws.settings.redis_prefix), ws.name)
    elif ws.dialect == "postgresql":
        with ws.engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_notify(CHANNEL, ws.name)))
            conn.commit()


def on_commit(actor: Actor, first_seq: int, last_seq: int) -> None:
    """After a commit: ring the local bell and tell other processes (a write hook)."""
    bell.ring()
    ws = actor.workspace
    # Other web processes may have subscribers: publish whenever fan-out is possible.
    if not (ws.settings.redis_url or ws.dialect == "postgresql"):
        return
    try:
        _publish(actor.workspace)
    except Exception:
        # The write is committed; a lost notification only costs a poll interval.
        log.warning("live feed: could not publish a wake-up", exc_info=True)


def listener_name() -> str:
    """The name this process's Redis listener gives its connection (`CLIENT LIST`)."""
    return f"kartoteka-live-{socket.gethostname()}-{os.getpid()}"


def redis_channel(prefix: str) -> str:
    """The Redis channel of an instance's commits (`KARTOTEKA_REDIS_PREFIX`): instances
    sharing one Redis do not hear each other."""
    return f"{prefix}_events"


def _listen_redis(url: str, channel: str) -> None:
    import redis  # lazy: optional, only with KARTOTEKA_REDIS_URL

    while True:
        try:
            # Named, so an operator (and a test) can tell whose subscription it is.
            client = redis.Redis.from_url(url, client_name=listener_name())
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel)
            for message in pubsub.listen():
                if message:
                    _heard(message.get("data", b""))
        except Exception:
            log.warning("live feed: Redis listener failed; retrying", exc_info=True)
            threading.Event().wait(POLL_SECONDS)


def _listen_pg(conninfo: str) -> None:
    import psycopg  # lazy: only on PostgreSQL

    while True:
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                for notify in conn.notifies():
                    _heard(notify.payload)
        except Exception:
            log.warning("live feed: PostgreSQL listener failed; retrying", exc_info=True)
            threading.Event().wait(POLL_SECONDS)


def ensure_listener(ws: Workspace) -> bool:
    """Start (once per process and server) the thread that hears other processes' commits.

    False when there is nothing to listen to (SQLite without Redis).
    """
    target: Callable[..., None]
    args: tuple[str, ...]
    if ws.settings.redis_url:
        channel = redis_channel(ws.settings.redis_prefix)
        key, target, args = (
            f"redis:{ws.settings.redis_url}:{channel}",
            _listen_redis,
            (
                ws.settings.redis_url,
                channel,
            ),
        )
    elif ws.dialect == "postgresql":
        conninfo = _pg_conninfo(ws)
        key, target, args = "pg:" + conninfo, _listen_pg, (conninfo,)
    else:
        return False
    with _listeners_lock:
        if key in _listeners:
            return True
        _listeners.add(key)
    threading.Thread(target=target, args=args, daemon=True, name="kartoteka-live").start()
    return True


# ----- reading visible events ----------------------------------------------------------
def current_seq(ws: Workspace) -> int:
    """The last event sequence number taken in the workspace."""
    with ws.engine.connect() as conn:
        return counters.peek(conn, "event_seq")


def _render(
    event: Any, catalog: Catalog, view: FieldView, merged: set[int] | None = None
) -> dict[str, Any]:
    payload = event.payload
    extra = {}
    if event.type == "record.merged":
        # The records merged away, among those the reader could see: their rows go.
        extra["merged"] = [i for i in payload.get("merged", []) if merged and i in merged]
    return {
        **extra,
        "type": event.type,
        "sequence": event.seq,
        "timestamp": render_datetime(event.at),
        "catalog": {"id": catalog.id, "api_name": catalog.api_name},
        "record_id": event.record_id,
        "user": {"id": event.user_id},
        "values": view.values(payload.get("values", {})),
        "previous": view.values(payload.get("previous", {})),
    }


def _visible_of_catalog(conn: Any, actor: Actor, catalog: Catalog, rows: list[Any]) -> list:
    if not access.can_see_catalog(actor, catalog):
        return []
    alive = visible_ids(conn, actor, catalog, [r.record_id for r in rows])
    gone = [r for r in rows if r.type == "record.deleted" and r.record_id not in alive]
    if gone and access.record_filter(actor, catalog, "view") is None:
        alive.update(r.record_id for r in gone)
    elif gone:
        # The row is gone: judge the rule against the row the deletion event kept.
        kept = [(r.payload or {}).get("row") for r in gone]
        alive.update(snapshots.visible(conn, actor, catalog, [k for k in kept if k]))
    merged_rows = [k for r in rows if r.type == "record.merged" for k in r.payload.get("rows", [])]
    merged = snapshots.visible(conn, actor, catalog, merged_rows) if merged_rows else set()
    view = FieldView.of(actor, catalog)
    return [_render(r, catalog, view, merged) for r in rows if r.record_id in alive]


def visible_events(actor: Actor, after: int, limit: int = BATCH) -> tuple[list[dict], int]:
    """Events after `after` that the actor may see now, and the last sequence number read."""
    ws = actor.workspace
    e = schema.events
    with read_connection(ws.engine) as conn:
        rows = conn.execute(
            sa.select(e).where(e.c.seq > after).order_by(e.c.seq).limit(limit)
        ).all()
        if not rows:
            return [], after
        by_catalog: dict[int, list[Any]] = {}
        for r in rows:
            if r.catalog_id is not None and r.record_id is not None:
                by_catalog.setdefault(r.catalog_id, []).append(r)
        out: list[dict[str, Any]] = []
        meta = ws.meta()
        for catalog_id, group in by_catalog.items():
            catalog = meta.catalog(catalog_id)
            if catalog is not None:
                out += _visible_of_catalog(conn, actor, catalog, group)
    out.sort(key=lambda ev: ev["sequence"])
    return out, int(rows[-1].seq)


def _visible_after(actor: Actor, after: int | None) -> tuple[list[dict], int]:
    return visible_events(actor, after or 0)


#: The workspace's notices stamp is read at most this often per process and shared by
#: every stream: most wake-ups then cost a dictionary lookup, not two queries a stream
#: (a stream's own check cost 2-4 times its read of events).
STAMP_SECONDS = 1.0
_stamps: weakref.WeakKeyDictionary[Any, tuple[float, Any]] = weakref.WeakKeyDictionary()
_stamps_lock = threading.Lock()
#: (workspace stamp, the actor's newest notice id and unread count)
NoticeState = tuple[Any, tuple[int, int]]


def _notices_stamp(ws: Workspace) -> Any:
    """The workspace's notices stamp, fresh to STAMP_SECONDS."""
    now = time.monotonic()
    with _stamps_lock:
        hit = _stamps.get(ws.engine)
    if hit is not None and now - hit[0] < STAMP_SECONDS:
        return hit[1]
    with read_connection(ws.engine) as conn:
        found = notices.stamp(conn)
    with _stamps_lock:
        _stamps[ws.engine] = (now, found)
    return found


def _notice_state(actor: Actor) -> NoticeState | None:
    """The stamp and the actor's own notice state (None when it cannot be read)."""
    try:
        return _notices_stamp(actor.workspace), notices.latest_state(actor)
    except DomainError:
        return None


def _notice_news(actor: Actor, seen: NoticeState | None) -> tuple[NoticeState | None, bytes]:
    """A `notice` frame when the actor's notices changed since `seen` (else b"").

    The actor's own notices are read only when the workspace's stamp moved. The frame
    has no `id:` line: a reconnecting browser resumes by event sequence numbers, which
    notices do not have. It tells only the reader's own counts (never a notice of
    someone else), so the bell can update and fetch the list itself.
    """
    if seen is None:
        return _notice_state(actor), b""
    try:
        if _notices_stamp(actor.workspace) == seen[0]:
            return seen, b""
    except DomainError:
        return seen, b""
    now = _notice_state(actor)
    if now is None or now[1] == seen[1]:
        return (now or seen), b""
    (latest, unread), before = now[1], seen[1]
    data = orjson.dumps({"latest": latest, "unread": unread, "new": latest > before[0]})
    return now, b"event: notice\ndata: %s\n\n" % data


def _frame(event: dict[str, Any]) -> bytes:
    data = orjson.dumps(event)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event["sequence"], event["type"].encode(), data)


async def stream(
    actor: Actor, after: int | None, recheck: Callable[[], Actor] | None = None
) -> AsyncIterator[bytes]:
    """Server-sent events for the actor from `after` (default: only new events) on.

    `recheck` verifies the stream's credential again and returns the actor as it is
    now. It runs before every read of events — on every wake-up and at least every
    POLL_SECONDS — so a deactivated user, a revoked token or session, a changed password
    or removed groups close or narrow an open stream at once (a `revoked` event, then
    the end of the stream). It is cheap: verified credentials are cached and evicted
    by every such change.
    """
    ws = actor.workspace
    if after is None:
        after = await anyio.to_thread.run_sync(current_seq, ws)
    ensure_listener(ws)
    seen = await anyio.to_thread.run_sync(_notice_state, actor)
    sub = bell.subscribe()
    loop = sub[0]
    metrics.live_opened()
    try:
        yield b"retry: 2000\n\n"
        quiet_since = loop.time()
        while True:
            sub[1].clear()
            if recheck is not None:
                current = await anyio.to_thread.run_sync(_still_allowed, recheck)
                if current is None:
                    yield b"event: revoked\ndata: {}\n\n"
                    return
                actor = current
            before = after
            events, after = await anyio.to_thread.run_sync(_visible_after, actor, after)
            for event in events:
                yield _frame(event)
            if events:
                quiet_since = loop.time()
            if after != before:
                continue  # a full batch may have more behind it
            seen, news = await anyio.to_thread.run_sync(_notice_news, actor, seen)
            if news:
                yield news
                quiet_since = loop.time()
            if loop.time() - quiet_since >= HEARTBEAT_SECONDS:
                yield b": heartbeat\n\n"
                quiet_since = loop.time()
            try:
                await asyncio.wait_for(sub[1].wait(), POLL_SECONDS)
            except TimeoutError:
                pass
    finally:
        metrics.live_closed()
        bell.unsubscribe(sub)


def _still_allowed(recheck: Callable[[], Actor]) -> Actor | None:
    """The actor as the credential says now, or None when it no longer authenticates."""
    try:
        return recheck()
    except DomainError:
        return None
