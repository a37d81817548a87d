"""Periodic upkeep of notify webhooks and the outbox.

`run` does, in order: track each active notify webhook's failing streak and disable
the ones failing for `webhook_disable_after_days` (with a notice to administrators);
prune delivered and failed deliveries with their attempts by age; empty attempt
request bodies that merely copy their delivery's payload; prune outbox events by
age that no consumer still needs; prune old read notices. Deletions go in chunks of
CHUNK rows, each in its own short transaction, so a huge backlog never holds a long
lock; `budget_seconds` stops a run early (the next run carries on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.notices import service as notices
from kartoteka.security.log import log_event
from kartoteka.storage import counters, schema
from kartoteka.storage.engine import utcnow

from . import disabling, service

CHUNK = 1000
#: Attempt request bodies younger than this are left as they are (a sender may still
#: be writing the log of that delivery).
BODY_SHARING_AFTER = timedelta(hours=1)
#: Read notices are kept this long; unread ones are kept until read.
NOTICE_KEEP = timedelta(days=90)
#: `counters` row remembering the last attempt id whose request body was looked at.
BODY_MARK = "maintenance_attempt_body"
FAILING = ("pending", "failed")

Progress = Callable[[str, int], None]


class Budget:
    """An optional time limit for one run."""

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def spent(self) -> bool:
        """True once the time is up."""
        return self.deadline is not None and time.monotonic() >= self.deadline


def run(
    ws: Workspace,
    now: datetime | None = None,
    *,
    budget_seconds: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One maintenance pass over a workspace; returns counts and whether it finished."""
    now = now or utcnow()
    budget = Budget(budget_seconds)
    report = progress or (lambda _step, _count: None)
    counts: dict[str, Any] = {"disabled": disable_failing(ws, now)}
    report("disabled", counts["disabled"])
    counts.update(prune_deliveries(ws, now, budget, report))
    counts["attempt_bodies_emptied"] = share_attempt_bodies(ws, now, budget, report)
    counts["events_pruned"] = prune_events(ws, now, budget, report)
    with ws.engine.begin() as conn:
        counts["notices_pruned"] = notices.prune_read(conn, now - NOTICE_KEEP)
    counts["complete"] = not budget.spent()
    return counts


# ----- failing webhooks ------------------------------------------------------------------
def _latest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _last_success(conn: Connection, hook: Any) -> datetime | None:
    """The last 2xx: a `done` delivery's updated_at is the time of its successful attempt."""
    d = schema.webhook_deliveries
    q = sa.select(sa.func.max(d.c.updated_at)).where(
        d.c.webhook_id == hook.id, d.c.status == "done"
    )
    if hook.last_success_at is not None:
        q = q.where(d.c.updated_at > hook.last_success_at)
    return _latest(conn.execute(q).scalar(), hook.last_success_at)


def _failed_attempts(hook: Any, after: datetime) -> sa.Select:
    """Attempts of the webhook after `after`; with no 2xx since, every one is a failure.

    An attempt is never newer than its delivery's updated_at, which the age index covers.
    """
    d, a = schema.webhook_deliveries, schema.delivery_attempts
    return (
        sa.select(sa.func.min(a.c.at), sa.func.max(a.c.at))
        .select_from(a.join(d, d.c.id == a.c.delivery_id))
        .where(
            d.c.webhook_id == hook.id,
            d.c.status.in_(FAILING),
            d.c.updated_at >= after,
            a.c.at > after,
        )
    )


def _streak(conn: Connection, hook: Any) -> tuple[datetime | None, datetime | None]:
    """(last 2xx, first failed attempt of the run of failures after it)."""
    last_ok = _last_success(conn, hook)
    # Changing or re-enabling a webhook starts the count again: the administrator acted.
    bound = _latest(last_ok, hook.updated_at)
    assert bound is not None
    if hook.failing_since is not None and hook.failing_since > bound:
        return last_ok, hook.failing_since
    first, _ = conn.execute(_failed_attempts(hook, bound)).one()
    return last_ok, first


def _failing_long_enough(conn: Connection, hook: Any, first: datetime, days: int) -> bool:
    """A failure at least `days` after the streak began: the endpoint failed all along."""
    _, last = conn.execute(
        _failed_attempts(hook, first + timedelta(days=days, microseconds=-1))
    ).one()
    return last is not None


def _last_error(conn: Connection, hook: Any) -> dict[str, Any]:
    """The last failure as `reason` (its English protocol detail) and, when the delivery
    log coded it (migration 0018), `reason_code` and `reason_params` for the reader's
    language."""
    d = schema.webhook_deliveries
    row = conn.execute(
        sa.select(d.c.last_error, d.c.last_status, d.c.last_error_code, d.c.last_error_params)
        .where(d.c.webhook_id == hook.id, d.c.status.in_(FAILING), d.c.attempts > 0)
        .order_by(d.c.updated_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return {"reason": "unknown"}
    detail = str(row.last_error or f"HTTP {row.last_status}")[:300]
    if not row.last_error_code:
        return {"reason": detail}
    return {
        "reason": detail,
        "reason_code": row.last_error_code,
        "reason_params": row.last_error_params or {},
    }


def _disable(conn: Connection, ws: Workspace, hook: Any, first: datetime, now: datetime) -> bool:
    """Switch the webhook off unless an administrator changed it meanwhile; post a notice."""
    days = ws.settings.webhook_disable_after_days
    last = _last_error(conn, hook)
    error = str(last["reason"])
    since = f"{first:%Y-%m-%d %H:%M} UTC"
    params = {"days": days, "since": since, **last}
    why = disabling.disabled_values("webhook_disabled_failing", params)
    reason = why["disabled_reason"]
    t = schema.webhooks
    done = conn.execute(
        sa.update(t)
        .where(t.c.id == hook.id, t.c.active.is_(True), t.c.updated_at == hook.updated_at)
        .values(active=False, **why, updated_at=now)
    )
    if not done.rowcount:
        return False
    notices.post(
        conn,
        "webhook.disabled",
        f"Webhook {hook.id} disabled",
        f"The webhook to {hook.url} was disabled: {reason}. Fix the receiver, then turn the "
        f"webhook back on (PATCH active: true) and replay what it missed.",
        level="error",
        data={
            "webhook_id": hook.id,
            "url": hook.url,
            "failing_since": first.isoformat() + "Z",
            "last_error": error,
            "days": days,
            # The UI words the last error in the reader's language (delivery log codes).
            "last_error_code": last.get("reason_code"),
            "last_error_params": last.get("reason_params") or {},
        },
        at=now,
    )
    return True


def _track_one(ws: Workspace, hook: Any, now: datetime) -> bool:
    """Update one webhook's failure columns; disable it when due. True when disabled."""
    days = ws.settings.webhook_disable_after_days
    t = schema.webhooks
    with ws.engine.begin() as conn:
        last_ok, first = _streak(conn, hook)
        if (last_ok, first) != (hook.last_success_at, hook.failing_since):
            conn.execute(
                sa.update(t)
                .where(t.c.id == hook.id)
                .values(last_success_at=last_ok, failing_since=first)
            )
        if days <= 0 or first is None or first > now - timedelta(days=days):
            return False
        if not _failing_long_enough(conn, hook, first, days):
            return False
        return _disable(conn, ws, hook, first, now)


def disable_failing(ws: Workspace, now: datetime) -> int:
    """Track failing streaks of active notify webhooks; disable those failing too long."""
    t = schema.webhooks
    with ws.engine.connect() as conn:
        hooks = conn.execute(
            sa.select(t).where(t.c.kind == "notify", t.c.active.is_(True)).order_by(t.c.id)
        ).all()
    disabled = [hook for hook in hooks if _track_one(ws, hook, now)]
    if disabled:
        service.invalidate(ws)
        _audit(ws, disabled)
    return len(disabled)


def _audit(ws: Workspace, hooks: list[Any]) -> None:

    for hook in hooks:
        log_event(ws, "webhook_disabled", webhook_id=hook.id, url=hook.url, by="maintenance")


# ----- pruning deliveries ----------------------------------------------------------------
def _prune_chunk(conn: Connection, webhook_id: int, status: str, cutoff: datetime) -> int:
    """Delete up to CHUNK old deliveries of one status with their attempts."""
    d, a = schema.webhook_deliveries, schema.delivery_attempts
    old = (d.c.webhook_id == webhook_id, d.c.status == status, d.c.updated_at < cutoff)
    q = sa.select(d.c.id).where(*old).order_by(d.c.updated_at).limit(CHUNK)
    if conn.dialect.name == "postgresql":
        # A replay re-queueing one of these waits for us (or we skip it), never half-deleted.
        q = q.with_for_update(skip_locked=True)
    ids = list(conn.execute(q).scalars())
    if not ids:
        return 0
    conn.execute(sa.delete(a).where(a.c.delivery_id.in_(ids)))
    return int(conn.execute(sa.delete(d).where(d.c.id.in_(ids))).rowcount or 0)


def prune_deliveries(
    ws: Workspace, now: datetime, budget: Budget, report: Progress
) -> dict[str, int]:
    """Delete finished deliveries (with attempts) older than their keep days.

    `skipped` deliveries (never sent, by loop protection) are finished like `done` ones
    and are kept as long.
    """
    settings = ws.settings
    keep = {"done": settings.webhook_keep_days, "failed": settings.webhook_failed_keep_days}
    statuses = {"done": ("done", "skipped"), "failed": ("failed",)}
    with ws.engine.connect() as conn:
        hook_ids = list(conn.execute(sa.select(schema.webhooks.c.id)).scalars())
    counts = {"done": 0, "failed": 0}
    for group, days in keep.items():
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        for hook_id, status in ((h, s) for h in hook_ids for s in statuses[group]):
            while not budget.spent():
                with ws.engine.begin() as conn:
                    removed = _prune_chunk(conn, hook_id, status, cutoff)
                counts[group] += removed
                report(f"deliveries_{group}_pruned", counts[group])
                if removed < CHUNK:
                    break
    return {"deliveries_done_pruned": counts["done"], "deliveries_failed_pruned": counts["failed"]}


# ----- attempt request bodies ------------------------------------------------------------
def _upsert_mark(conn: Connection, value: int) -> None:
    c = schema.counters
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(c)
        .values(name=BODY_MARK, value=value)
        .on_conflict_do_update(index_elements=[c.c.name], set_={"value": value})
    )


def _share_chunk(conn: Connection, mark: int, cutoff: datetime) -> tuple[int, int] | None:
    """Empty copied bodies among the next CHUNK attempts; (new mark, emptied) or None."""
    a, d = schema.delivery_attempts, schema.webhook_deliveries
    rows = conn.execute(
        sa.select(a.c.id, a.c.at).where(a.c.id > mark).order_by(a.c.id).limit(CHUNK)
    ).all()
    ripe = [r.id for r in rows if r.at < cutoff]
    # Ids grow with time: stop at the first attempt too young, and look again next run.
    ripe = ripe[: next((i for i, r in enumerate(rows) if r.at >= cutoff), len(rows))]
    if not ripe:
        return None
    payload = sa.select(d.c.payload).where(d.c.id == a.c.delivery_id).scalar_subquery()
    done = conn.execute(
        sa.update(a)
        .where(a.c.id.in_(ripe), a.c.request_body != "", a.c.request_body == payload)
        .values(request_body="")
    )
    _upsert_mark(conn, ripe[-1])
    return ripe[-1], int(done.rowcount or 0)


def share_attempt_bodies(ws: Workspace, now: datetime, budget: Budget, report: Progress) -> int:
    """Empty attempt request bodies that copy their delivery's payload (shown from it)."""
    cutoff = now - BODY_SHARING_AFTER
    emptied = 0
    with ws.engine.connect() as conn:
        mark = counters.peek(conn, BODY_MARK)
    while not budget.spent():
        with ws.engine.begin() as conn:
            step = _share_chunk(conn, mark, cutoff)
        if step is None:
            break
        mark, count = step
        emptied += count
        report("attempt_bodies_emptied", emptied)
    return emptied


# ----- pruning events --------------------------------------------------------------------
def event_floor(conn: Connection) -> int | None:
    """The newest event every consumer is done with (None: no limit from consumers).

    Consumers' cursors (`outbox_cursor`) bound it; so do pending deliveries of active
    webhooks (a replay of their range should still find the events), and, before any
    worker ever ran, the start of every active notify webhook.
    """
    c, d, w = schema.outbox_cursor, schema.webhook_deliveries, schema.webhooks
    bounds: list[int] = []
    cursor = conn.execute(sa.select(sa.func.min(c.c.last_seq))).scalar()
    if cursor is not None:
        bounds.append(int(cursor))
    else:
        start = conn.execute(
            sa.select(sa.func.min(w.c.start_seq)).where(w.c.kind == "notify", w.c.active.is_(True))
        ).scalar()
        if start is not None:
            bounds.append(int(start))
    pending = conn.execute(
        sa.select(sa.func.min(d.c.event_seq))
        .select_from(d.join(w, w.c.id == d.c.webhook_id))
        .where(d.c.status == "pending", w.c.active.is_(True))
    ).scalar()
    if pending is not None:
        bounds.append(int(pending) - 1)
    return min(bounds) if bounds else None


def _prune_events_chunk(conn: Connection, floor: int | None, cutoff: datetime) -> int:
    """Delete the oldest events up to CHUNK, stopping at the first one too young to go."""
    e = schema.events
    q = sa.select(e.c.seq, e.c.at).order_by(e.c.seq).limit(CHUNK)
    if floor is not None:
        q = q.where(e.c.seq <= floor)
    rows = conn.execute(q).all()
    # Pruned events stay a prefix of the sequence, so "the oldest available" is one number.
    young = next((i for i, r in enumerate(rows) if r.at >= cutoff), len(rows))
    if young == 0:
        return 0
    upto = rows[young - 1].seq
    return int(conn.execute(sa.delete(e).where(e.c.seq <= upto)).rowcount or 0)


def prune_events(ws: Workspace, now: datetime, budget: Budget, report: Progress) -> int:
    """Delete outbox events older than `events_keep_days` that no consumer needs."""
    days = ws.settings.events_keep_days
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    pruned = 0
    while not budget.spent():
        with ws.engine.begin() as conn:
            removed = _prune_events_chunk(conn, event_floor(conn), cutoff)
        pruned += removed
        report("events_pruned", pruned)
        if removed < CHUNK:
            break
    return pruned
