"""Pruning execution history by age and by count, so the database does not grow unbounded."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from kartoteka.context import Workspace
from kartoteka.storage import schema

from .clock import clock

BATCH = 1000


def _delete_runs(ws: Workspace, ids: list[int]) -> int:
    r, st = schema.scenario_runs, schema.scenario_steps
    total = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with ws.engine.begin() as conn:
            conn.execute(sa.delete(st).where(st.c.run_id.in_(chunk)))
            total += conn.execute(sa.delete(r).where(r.c.id.in_(chunk))).rowcount or 0
    return total


def prune(ws: Workspace, max_rounds: int = 100) -> dict[str, int]:
    """Delete finished runs past `scenario_runs_keep_days` (failed: `..._failed_keep_days`)
    and beyond `scenario_runs_keep_max` per scenario; queued and waiting runs are kept."""
    settings = ws.settings
    now = clock.now()
    r = schema.scenario_runs
    pruned = 0
    ages: list[tuple[tuple[str, ...], int]] = [
        (("done", "cancelled", "skipped"), int(getattr(settings, "scenario_runs_keep_days", 14))),
        (("failed",), int(getattr(settings, "scenario_failed_keep_days", 30))),
    ]
    for statuses, days in ages:
        if days <= 0:
            continue
        for _ in range(max_rounds):
            with ws.engine.connect() as conn:
                ids = [
                    row[0]
                    for row in conn.execute(
                        sa.select(r.c.id)
                        .where(
                            r.c.status.in_(statuses), r.c.finished_at < now - timedelta(days=days)
                        )
                        .limit(BATCH)
                    )
                ]
            if not ids:
                break
            pruned += _delete_runs(ws, ids)
    pruned += _prune_by_count(ws, int(getattr(settings, "scenario_runs_keep_max", 0)))
    return {"scenario_runs_pruned": pruned}


def _prune_by_count(ws: Workspace, keep: int) -> int:
    if keep <= 0:
        return 0
    r = schema.scenario_runs
    pruned = 0
    finished = r.c.finished_at.is_not(None)
    with ws.engine.connect() as conn:
        heavy = conn.execute(
            sa.select(r.c.scenario_id)
            .where(finished)
            .group_by(r.c.scenario_id)
            .having(sa.func.count() > keep)
        ).all()
    for (scenario_id,) in heavy:
        with ws.engine.connect() as conn:
            # The id of the keep-th newest finished run: everything older goes.
            edge = conn.execute(
                sa.select(r.c.id)
                .where(r.c.scenario_id == scenario_id, finished)
                .order_by(r.c.id.desc())
                .offset(keep - 1)
                .limit(1)
            ).scalar()
            ids = [
                row[0]
                for row in conn.execute(
                    sa.select(r.c.id).where(r.c.scenario_id == scenario_id, finished, r.c.id < edge)
                )
            ]
        pruned += _delete_runs(ws, ids)
    return pruned
