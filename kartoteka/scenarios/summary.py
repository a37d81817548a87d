"""Run counts per scenario, for lists of scenarios (the browser's scenario list)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.context import Actor
from kartoteka.fields.datetime import render_datetime
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from .service import require_admin


def run_summaries(actor: Actor) -> dict[int, dict[str, Any]]:
    """Per scenario id: `runs`, `failed` (kept runs, test runs aside) and the last run's
    `last_status`, `last_at`, `last_id`; scenarios without runs are absent."""
    require_admin(actor)
    r = schema.scenario_runs
    real = r.c.test == sa.false()
    counts = (
        sa.select(
            r.c.scenario_id,
            sa.func.count().label("runs"),
            sa.func.sum(sa.case((r.c.status == "failed", 1), else_=0)).label("failed"),
            sa.func.max(r.c.id).label("last_id"),
        )
        .where(real)
        .group_by(r.c.scenario_id)
        .subquery()
    )
    q = sa.select(counts, r.c.status, r.c.created_at).join(r, r.c.id == counts.c.last_id)
    with read_connection(actor.workspace.engine) as conn:
        return {
            row.scenario_id: {
                "runs": int(row.runs),
                "failed": int(row.failed or 0),
                "last_id": row.last_id,
                "last_status": row.status,
                "last_at": render_datetime(row.created_at),
            }
            for row in conn.execute(q)
        }
