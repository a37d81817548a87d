"""Claiming due deliveries, sending them concurrently, and recording every attempt.

`send_due` drains what is due as a pipeline on a `delivery.NotifyClient`'s event loop:
while one claimed batch is on the wire (hundreds of requests in flight over keep-alive
connections), the next batch is claimed and the previous one's outcomes are recorded
on the client's helper threads. Semantics do not depend on the pipeline: a claim is a
lease (a killed worker's batch lapses and goes out again under the same webhook-id), an
ordered webhook's later events stay held while an earlier one is pending (in flight
counts as pending), and a message whose lease is nearly over when its turn comes is
handed back unsent instead of risking a second worker sending it at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.storage import bulk, schema
from kartoteka.storage.engine import utcnow

from . import delivery, http1, proxy
from .disabling import disable

SEND_BATCH = 500
#: Claimed batches on the wire at once; with the next claim that makes three stages.
BATCHES_IN_FLIGHT = 2
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
    #: time.monotonic() after which this worker no longer starts sending it.
    send_by: float = field(default=0.0, compare=False)
    event_seq: int = 0
    #: The webhook's events per message (1: a message per event).
    batch_size: int = 1
    #: X-Request-ID of the API request behind the event (None: not made by one).
    request_id: str | None = None


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
            d.c.event_seq,
            w.c.batch_size,
            d.c.request_id,
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
                .where(bulk.id_in(conn, d.c.id, [r.id for r in rows]))
                .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
            )
    return [
        Claimed(
            r.id,
            r.webhook_id,
            r.webhook_msg_id,
            r.payload,
            r.attempts,
            r.url,
            r.secret,
            event_seq=r.event_seq,
            batch_size=r.batch_size or 1,
            request_id=r.request_id,
        )
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
    code, params = delivery.failure_code(outcome) or (None, None)
    values["p_last_error_code"], values["p_last_error_params"] = code, params
    if outcome.ok:
        values.update(p_status="done", p_last_error=None, p_next=None)
    elif outcome.gone:
        values.update(p_status="failed", p_next=None, p_last_error="HTTP 410 Gone")
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
    outcomes: list[delivery.Outcome | None],
    now: datetime,
    schedule: tuple[float, ...],
) -> None:
    """Write the attempt log and the deliveries' new state, set-based.

    An outcome of None means "not attempted" (its lease ran short): the delivery is
    handed back, due at `now`, with no attempt counted.
    """
    d = schema.webhook_deliveries
    tried = [(i, o) for i, o in zip(items, outcomes, strict=True) if o is not None]
    untried = [i.id for i, o in zip(items, outcomes, strict=True) if o is None]
    if untried:
        conn.execute(
            sa.update(d).where(bulk.id_in(conn, d.c.id, untried)).values(next_attempt_at=now)
        )
    if not tried:
        return
    at = utcnow()
    _insert_attempts(conn, tried, at)
    _update_deliveries(conn, [_result(i, o, now, schedule) for i, o in tried], at)
    for item in {i.webhook_id: i for i, o in tried if o.gone}.values():
        disable(conn, item.webhook_id, "webhook_disabled_gone", {"url": item.url})


def _attempt_row(item: Claimed, outcome: delivery.Outcome) -> dict[str, Any]:
    code, params = delivery.failure_code(outcome) or (None, None)
    return {
        "delivery_id": item.id,
        "attempt": item.attempts + 1,
        "request_body": item.payload,
        "response_status": outcome.status,
        "response_body": outcome.body,
        "error": outcome.error,
        "error_code": code,
        "error_params": params,
        "duration_ms": outcome.duration_ms,
    }


def _insert_attempts(
    conn: Connection, tried: list[tuple[Claimed, delivery.Outcome]], at: datetime
) -> None:
    """Append one attempt-log row per delivery tried (one statement on PostgreSQL)."""
    rows = [{**_attempt_row(i, o), "at": at} for i, o in tried]
    bulk.insert_rows(conn, schema.delivery_attempts, rows)


def _update_deliveries(conn: Connection, values: list[dict[str, Any]], at: datetime) -> None:
    """Set each delivery's new state (one statement on PostgreSQL, see storage.bulk)."""
    rows = [
        {
            "id": v["did"],
            "attempts": v["p_attempts"],
            "last_status": v["p_last_status"],
            "status": v["p_status"],
            "last_error": v["p_last_error"],
            "last_error_code": v["p_last_error_code"],
            "last_error_params": v["p_last_error_params"],
            "next_attempt_at": v["p_next"],
        }
        for v in values
    ]
    bulk.update_rows(conn, schema.webhook_deliveries, rows, same={"updated_at": at})


def _record(
    ws: Workspace, items: list[Claimed], outcomes: list[delivery.Outcome | None], now: datetime
) -> None:
    schedule = delivery.retry_schedule(ws.settings)
    with ws.engine.begin() as conn:
        record_outcomes(conn, items, outcomes, now, schedule)


async def _send_one(
    ws: Workspace, pool: http1.Pool, item: Claimed, proxies: proxy.Proxies
) -> delivery.Outcome | None:
    settings = ws.settings
    return await delivery.post_signed_async(
        pool,
        item.url,
        item.secret,
        item.msg_id,
        item.payload.encode(),
        delivery.delivery_timeout(settings),
        settings.webhook_allow_private,
        item.send_by or None,
        proxies,
        item.request_id,
    )


def messages(items: list[Claimed]) -> list[list[Claimed]]:
    """The claimed deliveries as messages: one each, or up to `batch_size` events of one
    webhook together (in sequence order) for webhooks that group them."""
    out: list[list[Claimed]] = []
    grouped: dict[int, list[Claimed]] = {}
    for item in items:
        if item.batch_size > 1:
            grouped.setdefault(item.webhook_id, []).append(item)
        else:
            out.append([item])
    for same in grouped.values():
        same.sort(key=lambda i: i.event_seq)
        size = same[0].batch_size
        out += [same[start : start + size] for start in range(0, len(same), size)]
    return out


def batch_message(unit: list[Claimed]) -> tuple[str, bytes]:
    """The `webhook-id` and body of a grouped message.

    `{"type": "batch", "events": [<each event's own message>...]}`; the `cause` block
    (loop protection) is repeated at the top when every event shares it, so the signed
    `kartoteka-cause` header goes out as for a single event.
    """
    first, last = unit[0], unit[-1]
    msg_id = f"batch_{first.event_seq}-{last.event_seq}_{first.webhook_id}"
    causes = {orjson.dumps(orjson.loads(i.payload).get("cause")) for i in unit}
    head = b'{"type":"batch","count":%d,' % len(unit)
    if len(causes) == 1 and (shared := causes.pop()) != b"null":
        head += b'"cause":' + shared + b","
    body = head + b'"events":[' + b",".join(i.payload.encode() for i in unit) + b"]}"
    return msg_id, body


async def _send_unit(
    ws: Workspace, pool: http1.Pool, unit: list[Claimed], proxies: proxy.Proxies
) -> delivery.Outcome | None:
    first = unit[0]
    if first.batch_size <= 1:
        return await _send_one(ws, pool, first, proxies)
    msg_id, body = batch_message(unit)
    settings = ws.settings
    return await delivery.post_signed_async(
        pool,
        first.url,
        first.secret,
        msg_id,
        body,
        delivery.delivery_timeout(settings),
        settings.webhook_allow_private,
        min(i.send_by for i in unit) or None,
        proxies,
        # A grouped message names a request only when all its events came from it.
        first.request_id if all(i.request_id == first.request_id for i in unit) else None,
    )


async def send_and_record(
    ws: Workspace, pool: http1.Pool, items: list[Claimed], now: datetime
) -> None:
    """Send claimed deliveries concurrently, then record the outcomes in one transaction.

    A grouped message's answer is the outcome of every delivery in it.
    """
    units = messages(items)
    # Read once per batch: the environment lookups cost more than the rest of the choice.
    proxies = proxy.proxies(ws.settings)
    answers = await asyncio.gather(*(_send_unit(ws, pool, unit, proxies) for unit in units))
    for answer in answers:
        if answer is not None:
            delivery.count_attempt("notify", answer)
    by_id = {item.id: answer for unit, answer in zip(units, answers, strict=True) for item in unit}
    outcomes = [by_id[item.id] for item in items]
    await asyncio.get_running_loop().run_in_executor(None, _record, ws, items, outcomes, now)


def _lease(ws: Workspace) -> tuple[float, float]:
    """(lease seconds, seconds after the claim by which a send must start)."""
    margin = getattr(ws.settings, "webhook_lease_margin", None) or LEASE_MARGIN
    # Half the margin is left for the last answer to be recorded before the lease ends.
    return delivery.delivery_timeout(ws.settings) + margin, margin / 2


async def drain(
    ws: Workspace,
    pool: http1.Pool,
    now: datetime | None = None,
    refill: Callable[[], int] | None = None,
) -> int:
    """Send every delivery due at `now` (default: the current time); returns claims made.

    `refill` (the outbox matcher, returning how many events it consumed) runs before
    each claim, so deliveries of new events join the pipeline while earlier ones are
    on the wire instead of waiting for the queue to drain.
    """
    lease, start_within = _lease(ws)
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()
    claimed = 0
    try:
        while True:
            matched = await loop.run_in_executor(None, refill) if refill else 0
            at = now or utcnow()
            items = await loop.run_in_executor(None, claim_due, ws, at, lease, SEND_BATCH)
            send_by = time.monotonic() + start_within
            for item in items:
                item.send_by = send_by
            if items:
                claimed += len(items)
                running.add(asyncio.ensure_future(send_and_record(ws, pool, items, at)))
            if not running and not matched:
                return claimed
            if (items or matched) and len(running) < BATCHES_IN_FLIGHT:
                continue
            # Full pipeline, or nothing due now: an answer may free more (a retry due at
            # once, the next event of an ordered webhook), so claim again after one.
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
    finally:
        if running:
            await asyncio.gather(*running, return_exceptions=True)


def send_batch(
    ws: Workspace, client: delivery.NotifyClient, items: list[Claimed], now: datetime
) -> None:
    """Send claimed deliveries in parallel and record the outcomes in one transaction."""
    client.run(send_and_record(ws, client.pool, items, now))


def send_due(
    ws: Workspace,
    client: delivery.NotifyClient,
    now: datetime | None = None,
    refill: Callable[[], int] | None = None,
) -> int:
    """Send every delivery due at `now` (default: the current time); returns attempts made."""
    return client.run(drain(ws, client.pool, now, refill))
