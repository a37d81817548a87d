"""Claiming due runs: queued ones, waits that came due, and runs a dead worker left.

A claim is a lease: the run's `due_at` (and `lease_until`) become "the lease ends",
and only the owner may write the run's progress until then (see `engine`). On
PostgreSQL claimers skip each other's locked rows; SQLite serialises writers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.storage import bulk, schema
from kartoteka.storage.engine import read_connection

LEASE_SECONDS = 60.0


def claim(ws: Workspace, owner: str, now: datetime, limit: int = 50) -> list[int]:
    """Take up to `limit` due runs (queued, waiting and come due, or abandoned by a dead
    worker); each stays ours until `now + LEASE_SECONDS` unless renewed."""
    return [run_id for run_id, _ in claim_runs(ws, owner, now, limit)]


def claim_runs(ws: Workspace, owner: str, now: datetime, limit: int = 50) -> list[tuple[int, bool]]:
    """`claim`, telling for each run whether it was taken over from a dead worker."""
    r = schema.scenario_runs
    q = (
        sa.select(r.c.id, r.c.scenario_id, r.c.status)
        .where(r.c.status.in_(("queued", "waiting", "running")), r.c.due_at <= now)
        .order_by(r.c.due_at, r.c.id)
        .limit(limit)
    )
    lease = now + timedelta(seconds=LEASE_SECONDS)
    with read_connection(ws.engine) as conn:
        if conn.execute(q.with_only_columns(r.c.id).limit(1)).first() is None:
            return []  # nothing due: no write lock taken
    with ws.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(of=r, skip_locked=True)
        rows = list(conn.execute(q).all())
        if not rows:
            return []
        taken = _within_concurrency(conn, rows, now)
        abandoned = {row.id for row in rows if row.status == "running"}
        if taken:
            conn.execute(
                sa.update(r)
                .where(bulk.id_in(conn, r.c.id, taken))
                .values(
                    status="running",
                    owner=owner,
                    due_at=lease,
                    lease_until=lease,
                    started_at=sa.func.coalesce(r.c.started_at, now),
                    updated_at=now,
                )
            )
    return [(run_id, run_id in abandoned) for run_id in taken]


def _within_concurrency(conn: Connection, rows: list[Any], now: datetime) -> list[int]:
    """Drop claims beyond each scenario's `concurrency` option (runs holding a lease count)."""
    s, r = schema.scenarios, schema.scenario_runs
    ids = sorted({row.scenario_id for row in rows})
    limits = {}
    for sid, definition_json in conn.execute(
        sa.select(s.c.id, s.c.definition).where(s.c.id.in_(ids))
    ):
        limit = ((definition_json or {}).get("options") or {}).get("concurrency")
        if limit:
            limits[sid] = int(limit)
    if not limits:
        return [row.id for row in rows]
    lock = sa.select(s.c.id).where(s.c.id.in_(sorted(limits)))
    if conn.dialect.name == "postgresql":
        # Claimers of one limited scenario queue here, so their counts cannot race.
        conn.execute(lock.with_for_update())
    # (A Result has .keys(), so dict(result) would treat it as a mapping: build it by hand.)
    busy: dict[int, int] = {
        sid: count
        for sid, count in conn.execute(
            sa.select(r.c.scenario_id, sa.func.count())
            .where(
                r.c.scenario_id.in_(sorted(limits)),
                r.c.status == "running",
                r.c.lease_until > now,
            )
            .group_by(r.c.scenario_id)
        )
    }
    taken = []
    for row in rows:
        limit = limits.get(row.scenario_id)
        if limit is not None:
            if busy.get(row.scenario_id, 0) >= limit:
                continue
            busy[row.scenario_id] = busy.get(row.scenario_id, 0) + 1
        taken.append(row.id)
    return taken
