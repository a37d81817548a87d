"""Turning outbox events into webhook deliveries, past a per-consumer cursor."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kartoteka import messages
from kartoteka.context import Actor, Workspace
from kartoteka.fields.datetime import render_datetime
from kartoteka.records.query import compile_filter
from kartoteka.storage import bulk, schema
from kartoteka.storage.engine import utcnow

from . import loops

CONSUMER = "webhooks"
MATCH_BATCH = 500
log = logging.getLogger("kartoteka.webhooks.outbox")


def message_id(seq: int, webhook_id: int) -> str:
    """The stable `webhook-id` of one event sent to one webhook (same on every retry)."""
    return f"evt_{seq}_{webhook_id}"


def _insert(conn: Connection):
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def claim_cursor(conn: Connection, consumer: str) -> int | None:
    """Lock a consumer's cursor for this transaction; None when another worker holds it.

    On PostgreSQL `SKIP LOCKED` lets a second worker go straight to sending instead of
    waiting; SQLite writers are serialised by `BEGIN IMMEDIATE` already.
    """
    c = schema.outbox_cursor
    conn.execute(
        _insert(conn)(c)
        .values(consumer=consumer, last_seq=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=[c.c.consumer])
    )
    q = sa.select(c.c.last_seq).where(c.c.consumer == consumer)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    value = conn.execute(q).scalar()
    return None if value is None else int(value)


def move_cursor(conn: Connection, consumer: str, last_seq: int) -> None:
    """Record that every event up to `last_seq` has been handled by `consumer`."""
    c = schema.outbox_cursor
    conn.execute(
        sa.update(c).where(c.c.consumer == consumer).values(last_seq=last_seq, updated_at=utcnow())
    )


def body_of(event: Any, webhook_id: int | None = None) -> bytes:
    """The notify payload of one event, as the contract describes it.

    Given the receiving webhook, it also carries the `cause` block (loop protection),
    which the `kartoteka-cause` header restates, signed.
    """
    payload = event.payload
    body = {
        "type": event.type,
        "sequence": event.seq,
        "timestamp": render_datetime(event.at),
        "catalog": payload.get("catalog"),
        "record_id": event.record_id,
        "user": {"id": event.user_id},
        "values": payload.get("values", {}),
        "previous": payload.get("previous", {}),
    }
    if event.type == "import.completed":
        body["import"] = payload.get("import")
    if event.type == "record.merged":  # the records merged into this one (now deleted)
        body["merged"] = payload.get("merged", [])
    if webhook_id is not None:
        body["cause"] = loops.message_cause(loops.parse_chain(event.cause), webhook_id)
    return orjson.dumps(body)


def _wants(hook: Any, event: Any) -> bool:
    if hook.catalog_id != event.catalog_id or event.type not in hook.events:
        return False
    if event.seq <= hook.start_seq:
        return False
    if ((event.payload or {}).get("import") or {}).get("webhooks") is False:
        return False  # an import asked to send one `import.completed` instead
    if hook.fields:
        changed = set(event.payload.get("values", {}))
        return bool(changed.intersection(hook.fields))
    return True


def _matching_filter(ws: Workspace, conn: Connection, hook: Any, record_ids: set[int]) -> set[int]:
    """Records among `record_ids` that match the webhook's filter now."""
    catalog = ws.meta().catalog(hook.catalog_id)
    if catalog is None:
        return set()
    clause = compile_filter(Actor.system(ws), catalog, hook.filter)
    table = catalog.table
    found: set[int] = set()
    ids = sorted(record_ids)
    for start in range(0, len(ids), 900):
        q = sa.select(table.c.id).where(table.c.id.in_(ids[start : start + 900]))
        if clause is not None:
            q = q.where(clause)
        found.update(r[0] for r in conn.execute(q))
    return found


def _filter_pass(ws: Workspace, conn: Connection, pairs: list[tuple[Any, Any]]) -> list:
    """Drop (hook, event) pairs whose record does not match the hook's filter.

    A deleted record cannot be matched any more, so deletions always pass.
    """
    wanted: dict[int, set[int]] = {}
    hooks = {}
    for hook, event in pairs:
        if hook.filter and event.type != "record.deleted" and event.record_id is not None:
            wanted.setdefault(hook.id, set()).add(event.record_id)
            hooks[hook.id] = hook
    passing = {hid: _matching_filter(ws, conn, hooks[hid], ids) for hid, ids in wanted.items()}
    return [
        (hook, event)
        for hook, event in pairs
        if hook.id not in passing
        or event.type == "record.deleted"
        or event.record_id is None
        or event.record_id in passing[hook.id]
    ]


def match_events(ws: Workspace, limit: int = MATCH_BATCH) -> int:
    """Create deliveries for up to `limit` new events; returns how many events were consumed."""
    e, w, d = schema.events, schema.webhooks, schema.webhook_deliveries
    with ws.engine.begin() as conn:
        last = claim_cursor(conn, CONSUMER)
        if last is None:
            return 0
        events = conn.execute(
            sa.select(e).where(e.c.seq > last).order_by(e.c.seq).limit(limit)
        ).all()
        if not events:
            return 0
        hooks = conn.execute(sa.select(w).where(w.c.kind == "notify", w.c.active.is_(True))).all()
        pairs = [(h, ev) for ev in events for h in hooks if _wants(h, ev)]
        pairs = _filter_pass(ws, conn, pairs)
        rows = _delivery_rows(ws, pairs)
        # The unique (webhook, event) key makes a re-run after a crash harmless.
        bulk.insert_rows(conn, d, rows, skip_conflicts_on=["webhook_id", "event_seq"])
        move_cursor(conn, CONSUMER, events[-1].seq)
    return len(events)


def _delivery_rows(ws: Workspace, pairs: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """One delivery per (webhook, event): pending, or `skipped` by loop protection.

    A skipped delivery is kept in the webhook's log with the reason, so an
    administrator sees why nothing was sent (and may still replay it by hand).
    """
    now = utcnow()
    limit = loops.max_depth(ws.settings)
    rows = []
    for h, ev in pairs:
        skip = loops.skip_code(h.id, loops.parse_chain(ev.cause), ev.depth or 0, limit)
        reason = messages.message(*skip, "en") if skip else None
        rows.append(
            {
                "webhook_id": h.id,
                "event_seq": ev.seq,
                "webhook_msg_id": message_id(ev.seq, h.id),
                "payload": body_of(ev, h.id).decode(),
                "status": "skipped" if reason else "pending",
                "attempts": 0,
                "next_attempt_at": None if reason else now,
                "last_error": reason,
                "last_error_code": skip[0] if skip else None,
                "last_error_params": skip[1] if skip else None,
                "created_at": now,
                "updated_at": now,
                "request_id": ev.request_id,
            }
        )
    skipped = sum(1 for r in rows if r["status"] == "skipped")
    if skipped:
        log.info("loop protection skipped %d deliveries in workspace %s", skipped, ws.name)
    return rows
