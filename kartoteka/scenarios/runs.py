"""Creating runs: the row every trigger, manual start and `call` step inserts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.storage import bulk, counters, schema

DEFAULT_MAX_DEPTH = 5


def max_depth(ws: Workspace, options: dict[str, Any] | None = None) -> int:
    """How many scenario runs in a row may cause each other (`scenario_max_depth`)."""
    own = (options or {}).get("max_depth")
    if own:
        return int(own)
    return max(1, int(getattr(ws.settings, "scenario_max_depth", None) or DEFAULT_MAX_DEPTH))


def current_versions(conn: Connection, scenario_ids: list[int]) -> dict[int, int]:
    """The current version of each scenario."""
    s = schema.scenarios
    rows = conn.execute(sa.select(s.c.id, s.c.version).where(s.c.id.in_(scenario_ids)))
    return {sid: version for sid, version in rows}


def new_run_row(
    ws: Workspace,
    scenario_id: int,
    key: str,
    trigger: dict[str, Any],
    now: datetime,
    catalog_id: int | None = None,
    record_id: int | None = None,
    depth: int = 0,
    cause: str | None = None,
    test: bool = False,
    parent_run_id: int | None = None,
    variables: dict[str, Any] | None = None,
    version: int | None = None,
    status: str = "queued",
    error: str | None = None,
) -> dict[str, Any]:
    """The values of a new run (its version is filled in by `insert_runs` when None)."""
    finished = status in ("skipped", "failed")
    return {
        "scenario_id": scenario_id,
        "version": version,
        "status": status,
        "test": test,
        "key": key[:200],
        "trigger": trigger,
        "catalog_id": catalog_id,
        "record_id": record_id,
        "state": {"pc": 0, "vars": dict(variables or {}), "attempt": 1},
        "depth": depth,
        "cause": cause,
        "parent_run_id": parent_run_id,
        "due_at": None if finished else now,
        "steps_done": 0,
        "error": error,
        "error_code": None,
        "error_params": None,
        "created_at": now,
        "finished_at": now if finished else None,
        "updated_at": now,
    }


def insert_runs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert runs; one with a key its scenario already has is skipped (exactly once)."""
    if not rows:
        return
    missing = sorted({r["scenario_id"] for r in rows if r["version"] is None})
    versions = current_versions(conn, missing) if missing else {}
    # Whatever a run writes gets event numbers above this (see engine: seq_mark).
    mark = counters.peek(conn, "event_seq")
    for row in rows:
        if row["version"] is None:
            row["version"] = versions[row["scenario_id"]]
        row["state"].setdefault("seq_mark", mark)
    bulk.insert_rows(conn, schema.scenario_runs, rows, skip_conflicts_on=["scenario_id", "key"])
