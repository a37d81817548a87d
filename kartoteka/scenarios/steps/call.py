"""`call`: start another scenario (optionally waiting for it and taking its variables)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from ..errors import StepFailed
from ..runs import insert_runs, max_depth, new_run_row
from .base import Checker, StepKind, StepResult
from .records import _catalog, _record_id

WAIT_LIMIT_DAYS = 30


class CallScenario(StepKind):
    kind = "call"
    keys = frozenset({"scenario", "vars", "record", "catalog", "wait"})
    effect = "local"
    summary = "Run another scenario with `vars`; `wait: true` waits and returns its variables."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        target = spec.get("scenario")
        if isinstance(target, bool) or not isinstance(target, int):
            check.add(f"{where}.scenario", "scenario_call_target")
        elif check.scenario_ids and target not in check.scenario_ids:
            check.add(f"{where}.scenario", "scenario_call_unknown", id=target)
        if "vars" in spec and not isinstance(spec["vars"], dict):
            check.add(f"{where}.vars", "scenario_must_be_object")
        if not isinstance(spec.get("wait", False), bool):
            check.add(f"{where}.wait", "boolean")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        calls = ctx.state.setdefault("calls", {})
        key = str(instr["pc"])
        if key in calls:
            return _collect(ctx, calls, key)
        target = int(spec["scenario"])
        limit = max_depth(ctx.ws, ctx.run.options)
        if ctx.run.depth + 1 >= limit:
            # Calls (a scenario calling itself too) count toward the same depth limit.
            raise StepFailed.of("step_depth_limit", limit=limit)
        variables = ctx.render("vars", spec.get("vars") or {})
        catalog_id, record_id = ctx.run.catalog_id, ctx.run.record_id
        if spec.get("record") is not None:
            ref = _catalog(ctx, spec)
            catalog = ctx.ws.meta().catalog(ref)
            catalog_id, record_id = (catalog.id if catalog else None), _record_id(ctx, spec)
        row = new_run_row(
            ctx.ws,
            target,
            key=f"call:{ctx.run.id}:{ctx.n}",
            trigger={"type": "call", "run": ctx.run.id, "vars": variables},
            catalog_id=catalog_id,
            record_id=record_id,
            depth=ctx.run.depth + 1,
            test=ctx.test,
            parent_run_id=ctx.run.id if spec.get("wait") else None,
            variables=variables,
            now=ctx.now,
        )

        def write(conn: Any) -> None:
            insert_runs(conn, [row])

        if not spec.get("wait"):
            return StepResult(output={"scenario": target, "started": True}, writes=[write])
        calls[key] = {"key": row["key"], "scenario": target}
        return StepResult(
            output={"scenario": target, "waiting": True},
            writes=[write],
            wait_until=ctx.now + _limit(),
            repeat=True,
        )


def _limit() -> timedelta:
    return timedelta(days=WAIT_LIMIT_DAYS)


def _collect(ctx: Any, calls: dict[str, Any], key: str) -> StepResult:
    """The called run finished (or the wait ran out): take its outcome."""
    r = schema.scenario_runs
    info = calls[key]
    with read_connection(ctx.ws.engine) as conn:
        child = conn.execute(
            sa.select(
                r.c.id, r.c.status, r.c.state, r.c.error, r.c.error_code, r.c.error_params
            ).where(r.c.scenario_id == info["scenario"], r.c.key == info["key"])
        ).first()
    if child is None:
        calls.pop(key, None)
        raise StepFailed.of("step_call_gone")
    if child.status not in ("done", "failed", "cancelled", "skipped"):
        return StepResult(
            output={"run": child.id, "waiting": True},
            wait_until=ctx.now + _limit(),
            repeat=True,
        )
    calls.pop(key, None)
    output = {"run": child.id, "status": child.status, "vars": (child.state or {}).get("vars")}
    if child.status != "done":
        # The called run's own code goes along, so its reason reads in the reader's language.
        coded = {"error_code": child.error_code, "error_params": child.error_params}
        params = {"status": child.status, "error": child.error or "", **coded}
        raise StepFailed.of("step_call_ended", output, **params)
    return StepResult(output=output)
