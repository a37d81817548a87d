"""Replaying a range of event sequences to one notify webhook.

Existing deliveries in the range are queued again (same `webhook-id`, attempts carry
on); events in the range the webhook never got are matched with the same rules as
the outbox (catalog, events, fields, filter) and get new deliveries, as long as the
events are still in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.storage import schema

from .errors import WebhookInvalid
from .outbox import _delivery_rows, _filter_pass, _wants

#: The most sequences one replay may span: a replay is one transaction.
MAX_RANGE = 10_000
#: Existing deliveries a replay may queue again, by the `status` asked for.
REQUEUE = {None: ("failed", "done"), "failed": ("failed",), "done": ("done",)}
INSERT_CHUNK = 500


@dataclass(frozen=True)
class Plan:
    """A validated replay request."""

    from_seq: int
    to_seq: int
    status: str | None
    missing: bool


def _bad(key: str, code: str, **params: Any) -> WebhookInvalid:
    return WebhookInvalid.of(code, key, **params)


def _sequence(spec: dict[str, Any], key: str) -> int:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(key, "replay_sequence")
    return value


def parse_plan(spec: Any, last_seq: int) -> Plan:
    """Check a replay request against the limits and the workspace's last event."""
    if not isinstance(spec, dict):
        raise _bad("body", "body_object")
    unknown = sorted(set(spec) - {"from_sequence", "to_sequence", "status", "missing"})
    if unknown:
        raise _bad(unknown[0], "unknown_key")
    first, last = _sequence(spec, "from_sequence"), _sequence(spec, "to_sequence")
    if first > last:
        raise _bad("to_sequence", "replay_order")
    if last - first + 1 > MAX_RANGE:
        raise _bad("to_sequence", "replay_range", max=MAX_RANGE)
    if last > last_seq:
        raise _bad("to_sequence", "replay_beyond", last=last_seq)
    status = spec.get("status")
    if status not in REQUEUE:
        raise _bad("status", "replay_status")
    missing = spec.get("missing", status is None)
    if not isinstance(missing, bool):
        raise _bad("missing", "boolean")
    return Plan(first, last, status, missing)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _in_range(plan: Plan) -> Any:
    d = schema.webhook_deliveries
    return d.c.event_seq.between(plan.from_seq, plan.to_seq)


def _requeue(conn: Connection, hook: Any, plan: Plan, now: datetime) -> int:
    """Queue the range's existing deliveries of the asked status again, due now."""
    d = schema.webhook_deliveries
    done = conn.execute(
        sa.update(d)
        .where(d.c.webhook_id == hook.id, _in_range(plan), d.c.status.in_(REQUEUE[plan.status]))
        .values(status="pending", next_attempt_at=now, updated_at=now)
    )
    return int(done.rowcount or 0)


def _first_available(conn: Connection, last_seq: int) -> int:
    """The oldest event still in the outbox (events are pruned from the oldest on)."""
    oldest = conn.execute(sa.select(sa.func.min(schema.events.c.seq))).scalar()
    return int(oldest) if oldest is not None else last_seq + 1


def _unavailable(conn: Connection, hook: Any, plan: Plan, first_available: int) -> dict | None:
    """The pruned part of the range that the webhook has no delivery for."""
    upto = min(plan.to_seq, first_available - 1)
    if upto < plan.from_seq:
        return None
    d = schema.webhook_deliveries
    have = conn.execute(
        sa.select(sa.func.count())
        .select_from(d)
        .where(d.c.webhook_id == hook.id, d.c.event_seq.between(plan.from_seq, upto))
    ).scalar_one()
    count = upto - plan.from_seq + 1 - int(have)
    if count <= 0:
        return None
    return {"from_sequence": plan.from_seq, "to_sequence": upto, "count": count}


def _missing_events(conn: Connection, hook: Any, start: int, end: int) -> list[Any]:
    e, d = schema.events, schema.webhook_deliveries
    has_delivery = (
        sa.select(d.c.id).where(d.c.webhook_id == hook.id, d.c.event_seq == e.c.seq).exists()
    )
    return list(
        conn.execute(
            sa.select(e).where(e.c.seq.between(start, end), ~has_delivery).order_by(e.c.seq)
        ).all()
    )


def _create(
    ws: Workspace, conn: Connection, hook: Any, plan: Plan, first_available: int, now: datetime
) -> tuple[int, int]:
    """Deliveries for events of the range the webhook never got; returns (created, skipped)."""
    start = max(plan.from_seq, first_available)
    if start > plan.to_seq:
        return 0, 0
    events = _missing_events(conn, hook, start, plan.to_seq)
    # The webhook's start_seq keeps the live matcher off events from before it existed;
    # a replay asks for exactly those, so it is matched as if it had always been there.
    timeless = SimpleNamespace(**{**hook._mapping, "start_seq": 0})
    pairs = _filter_pass(ws, conn, [(timeless, ev) for ev in events if _wants(timeless, ev)])
    d = schema.webhook_deliveries
    # The same rows the live matcher writes: loop protection applies to replays too
    # (a self-caused event is logged as skipped, not sent).
    rows = _delivery_rows(ws, pairs)
    created = 0
    for chunk in range(0, len(rows), INSERT_CHUNK):
        # The outbox matcher may create the same delivery meanwhile; the unique key wins.
        stmt = (
            _insert(conn)(d)
            .values(rows[chunk : chunk + INSERT_CHUNK])
            .on_conflict_do_nothing(index_elements=[d.c.webhook_id, d.c.event_seq])
            .returning(d.c.id)
        )
        created += len(conn.execute(stmt).all())
    return created, len(events) - len(pairs)


def _left_alone(conn: Connection, hook: Any, plan: Plan) -> tuple[int, int]:
    """Deliveries of the range not queued again: (already pending, other status)."""
    d = schema.webhook_deliveries
    rows = conn.execute(
        sa.select(d.c.status, sa.func.count())
        .where(d.c.webhook_id == hook.id, _in_range(plan))
        .group_by(d.c.status)
    ).all()
    counts: dict[str, int] = {str(status): int(n) for status, n in rows}
    pending = int(counts.pop("pending", 0))
    others = sum(n for status, n in counts.items() if status not in REQUEUE[plan.status])
    return pending, others


def replay(
    ws: Workspace, conn: Connection, hook: Any, plan: Plan, last_seq: int, now: datetime
) -> dict[str, Any]:
    """Carry out a replay inside the caller's transaction; returns what was done."""
    pending, unchanged = _left_alone(conn, hook, plan)
    requeued = _requeue(conn, hook, plan, now)
    first_available = _first_available(conn, last_seq)
    created = skipped = 0
    unavailable = None
    if plan.missing:
        created, skipped = _create(ws, conn, hook, plan, first_available, now)
        unavailable = _unavailable(conn, hook, plan, first_available)
    return {
        "webhook_id": hook.id,
        "from_sequence": plan.from_seq,
        "to_sequence": plan.to_seq,
        "status": plan.status,
        "missing": plan.missing,
        "requeued": requeued,
        "created": created,
        "pending": pending,
        "unchanged": unchanged,
        "skipped": skipped,
        "unavailable": unavailable,
    }
