"""Claiming due deliveries, sending them concurrently, and recording every attempt."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow

from . import delivery
from .service import disable

SEND_BATCH = 200
SEND_THREADS = 8
#: A claimed delivery is invisible to other workers for the timeout plus this margin;
#: a worker killed mid-send lets the lease lapse and the message goes out again.
LEASE_MARGIN = 60.0


@dataclass
class Claimed:
    """One delivery taken by this worker, with what sending it needs."""

    id: int
    webhook_id: int
    msg_id: str
    payload: str
    attempts: int
    url: str
    secret: str


def _due_query(now: datetime, limit: int) -> sa.Select:
    d, w = schema.webhook_deliveries, schema.webhooks
    earlier = sa.alias(d, "earlier")
    # Ordered webhooks send their oldest pending event first; later ones wait behind it.
    held = sa.exists().where(
        earlier.c.webhook_id == d.c.webhook_id,
        earlier.c.status == "pending",
        earlier.c.event_seq < d.c.event_seq,
    )
    return (
        sa.select(
            d.c.id,
            d.c.webhook_id,
            d.c.webhook_msg_id,
            d.c.payload,
            d.c.attempts,
            w.c.url,
            w.c.secret,
        )
        .join(w, w.c.id == d.c.webhook_id)
        .where(
            d.c.status == "pending",
            d.c.next_attempt_at <= now,
            w.c.active.is_(True),
            sa.or_(w.c.ordered.is_(False), ~held),
        )
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )


def claim_due(ws: Workspace, now: datetime, lease_seconds: float, limit: int) -> list[Claimed]:
    """Take up to `limit` due deliveries, pushing their due time past the lease."""
    d = schema.webhook_deliveries
    q = _due_query(now, limit)
    with ws.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(of=d, skip_locked=True)
        rows = conn.execute(q).all()
        if rows:
            conn.execute(
                sa.update(d)
                .where(d.c.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
            )
    return [
        Claimed(r.id, r.webhook_id, r.webhook_msg_id, r.payload, r.attempts, r.url, r.secret)
        for r in rows
    ]


def _result(
    item: Claimed, outcome: delivery.Outcome, now: datetime, schedule: tuple[float, ...]
) -> dict[str, Any]:
    """The delivery row's new values after one attempt."""
    attempt = item.attempts + 1
    values: dict[str, Any] = {
        "did": item.id,
        "p_attempts": attempt,
        "p_last_status": outcome.status,
    }
    if outcome.ok:
        values.update(p_status="done", p_last_error=None, p_next=None)
    elif outcome.gone:
        values.update(
            p_status="failed",
            p_next=None,
            p_last_error="the receiver answered 410 Gone; the webhook was disabled",
        )
    else:
        due = delivery.next_attempt(attempt, schedule, now, outcome.retry_after)
        values.update(
            p_last_error=delivery.describe_failure(outcome),
            p_status="pending" if due else "failed",
            p_next=due,
        )
    return values


def record_outcomes(
    conn: Connection,
    items: list[Claimed],
    outcomes: list[delivery.Outcome],
    now: datetime,
    schedule: tuple[float, ...],
) -> None:
    """Write the attempt log and the deliveries' new state, set-based (executemany)."""
    d, a = schema.webhook_deliveries, schema.delivery_attempts
    at = utcnow()
    conn.execute(
        sa.insert(a),
        [
            {
                "delivery_id": item.id,
                "attempt": item.attempts + 1,
                "at": at,
                "request_body": item.payload,
                "response_status": outcome.status,
                "response_body": outcome.body,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
            }
            for item, outcome in zip(items, outcomes, strict=True)
        ],
    )
    stmt = (
        sa.update(d)
        .where(d.c.id == sa.bindparam("did"))
        .values(
            attempts=sa.bindparam("p_attempts"),
            last_status=sa.bindparam("p_last_status"),
            status=sa.bindparam("p_status"),
            last_error=sa.bindparam("p_last_error"),
            next_attempt_at=sa.bindparam("p_next"),
            updated_at=at,
        )
    )
    conn.execute(stmt, [_result(i, o, now, schedule) for i, o in zip(items, outcomes, strict=True)])
    for item in {i.webhook_id: i for i, o in zip(items, outcomes, strict=True) if o.gone}.values():
        disable(conn, item.webhook_id, f"disabled after 410 Gone from {item.url}")


def send_batch(ws: Workspace, client: httpx.Client, items: list[Claimed], now: datetime) -> None:
    """Send claimed deliveries in parallel and record the outcomes in one transaction."""
    settings = ws.settings
    timeout = delivery.delivery_timeout(settings)

    def send(item: Claimed) -> delivery.Outcome:
        return delivery.post_signed(
            client,
            item.url,
            item.secret,
            item.msg_id,
            item.payload.encode(),
            timeout,
            settings.webhook_allow_private,
        )

    with ThreadPoolExecutor(
        max_workers=min(SEND_THREADS, len(items)), thread_name_prefix="kt-webhook-send"
    ) as pool:
        outcomes = list(pool.map(send, items))
    schedule = delivery.retry_schedule(settings)
    with ws.engine.begin() as conn:
        record_outcomes(conn, items, outcomes, now, schedule)


def send_due(ws: Workspace, client: httpx.Client, now: datetime | None = None) -> int:
    """Send every delivery due at `now` (default: the current time); returns attempts made."""
    margin = getattr(ws.settings, "webhook_lease_margin", None) or LEASE_MARGIN
    lease = delivery.delivery_timeout(ws.settings) + margin
    sent = 0
    while True:
        at = now or utcnow()
        items = claim_due(ws, at, lease, SEND_BATCH)
        if not items:
            return sent
        send_batch(ws, client, items, at)
        sent += len(items)
