"""Scenario runs: starting them (by hand, as a test, by an incoming call), reading them,
retrying a failed one and cancelling a waiting one."""

from __future__ import annotations

import hmac
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.catalogs import service as catalogs
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, ValidationFailed, problem
from kartoteka.records import service as records
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection
from kartoteka.webhooks.wakeup import wake

from . import engine
from .clock import clock
from .errors import (
    ScenarioInactive,
    ScenarioNotFound,
    TriggerTokenInvalid,
    run_error_text,
    step_error_text,
)
from .lookup import hash_token, render_time, require_admin, scenario_row
from .runs import insert_runs, new_run_row

DEFAULT_RUNS = 20
MAX_RUNS = 200


def _insert_one(ws: Workspace, row: dict[str, Any]) -> int:
    r = schema.scenario_runs
    with ws.engine.begin() as conn:
        insert_runs(conn, [row])
        run_id = conn.execute(
            sa.select(r.c.id).where(r.c.scenario_id == row["scenario_id"], r.c.key == row["key"])
        ).scalar_one()
    return int(run_id)


def start_run(actor: Actor, scenario_id: int, body: Any, *, lang: str = "en") -> dict[str, Any]:
    """Start a run by hand (`record_id`, `vars`); `test: true` runs it now, sending nothing.

    The answer is the run as `get_run` gives it, step errors in `lang`."""
    body = body if isinstance(body, dict) else {}
    unknown = set(body) - {"record_id", "vars", "test"}
    if unknown:
        raise ValidationFailed(
            errors=[problem("scenario_unknown_key", str(k)[:100]) for k in sorted(unknown, key=str)]
        )
    ws = actor.workspace
    with read_connection(ws.engine) as conn:
        row = scenario_row(conn, scenario_id)
    test = body.get("test", False) is True
    _may_start(actor, row, test)
    variables = body.get("vars") or {}
    if not isinstance(variables, dict):
        raise ValidationFailed.of("scenario_must_be_object", "vars")
    catalog_id, record_id = _run_record(actor, row, body.get("record_id"))
    now = clock.now()
    run = new_run_row(
        ws,
        scenario_id,
        key=f"{'test' if test else 'manual'}:{uuid.uuid4().hex}",
        trigger={
            "type": "manual",
            "user": {"id": actor.user_id, "email": actor.email, "name": actor.name},
        },
        now=now,
        catalog_id=catalog_id,
        record_id=record_id,
        test=test,
        variables=variables,
        version=row.version,
    )
    if test:
        # Test runs happen now, in this request: the answer is the whole trace.
        run["status"], run["owner"], run["due_at"] = "running", f"test-{uuid.uuid4().hex}", now
        run_id = _insert_one(ws, run)
        services = engine.Services(allow_private=bool(ws.settings.webhook_allow_private))
        try:
            engine.execute(ws, run_id, run["owner"], services)
        finally:
            services.close()
        return get_run(Actor.system(ws), run_id, lang=lang)
    run_id = _insert_one(ws, run)
    wake(ws.name)
    return get_run(Actor.system(ws), run_id, lang=lang)


def _may_start(actor: Actor, row: Any, test: bool) -> None:
    if actor.is_admin:
        return
    if test or row.trigger_type != "manual":
        raise Forbidden.of("scenario_start_admin_only")


def _run_record(actor: Actor, row: Any, record_id: Any) -> tuple[int | None, int | None]:
    if record_id is None:
        return row.catalog_id, None
    if isinstance(record_id, bool) or not isinstance(record_id, int):
        raise ValidationFailed.of("scenario_record_id", "record_id")
    if row.catalog_id is None:
        raise ValidationFailed.of("scenario_no_record_expected", "record_id")
    # 404 when the record does not exist or the actor may not see it.
    records.get_record(actor, row.catalog_id, record_id)
    if not actor.is_admin and not records.may_edit(
        actor, catalogs.get_catalog(actor, row.catalog_id), record_id
    ):
        raise Forbidden.of("scenario_record_forbidden")
    return row.catalog_id, record_id


def trigger_incoming(
    ws: Workspace, scenario_id: int, token: str | None, body: Any, idempotency_key: str | None
) -> dict[str, Any]:
    """An outside system starts a run (`POST /scenarios/{id}/trigger` with the token)."""
    with read_connection(ws.engine) as conn:
        s = schema.scenarios
        row = conn.execute(sa.select(s).where(s.c.id == scenario_id)).first()
    if (
        row is None
        or row.token_hash is None
        or not token
        or not hmac.compare_digest(row.token_hash, hash_token(token))
    ):
        # The same answer for an unknown scenario and a wrong token: nothing to probe.
        raise TriggerTokenInvalid.of("scenario_token_invalid")
    if not row.active:
        raise ScenarioInactive.of("scenario_switched_off")
    key = f"http:{idempotency_key[:150]}" if idempotency_key else f"http:{uuid.uuid4().hex}"
    run = new_run_row(
        ws,
        scenario_id,
        key=key,
        trigger={"type": "webhook", "body": body},
        now=clock.now(),
        variables={"body": body},
        version=row.version,
    )
    run_id = _insert_one(ws, run)
    wake(ws.name)
    return {"run_id": run_id}


def _render_run(row: Any, steps: list[Any] | None, lang: str) -> dict[str, Any]:
    state = row.state or {}
    out = {
        "id": row.id,
        "scenario_id": row.scenario_id,
        "version": row.version,
        "status": row.status,
        "test": bool(row.test),
        "trigger": row.trigger,
        "record": {"catalog_id": row.catalog_id, "id": row.record_id} if row.record_id else None,
        "vars": state.get("vars") or {},
        "depth": row.depth,
        "error": run_error_text(row.error_code, row.error_params, lang) or row.error,
        "error_code": row.error_code,
        "error_params": row.error_params,
        "due_at": render_time(row.due_at) if row.status in ("queued", "waiting") else None,
        "created_at": render_time(row.created_at),
        "started_at": render_time(row.started_at),
        "finished_at": render_time(row.finished_at),
        "steps_done": row.steps_done,
    }
    if steps is not None:
        out["steps"] = [
            {
                "n": s.n,
                "id": s.step_id,
                "kind": s.kind,
                "status": s.status,
                "attempt": s.attempt,
                "input": s.input,
                "output": s.output,
                "error": step_error_text(s.error_code, s.error_params, lang) or s.error,
                "error_code": s.error_code,
                "error_params": s.error_params,
                "at": render_time(s.at),
                "duration_ms": s.duration_ms,
            }
            for s in steps
        ]
    return out


def _steps_of(conn: Connection, run_ids: list[int]) -> dict[int, list[Any]]:
    st = schema.scenario_steps
    out: dict[int, list[Any]] = {i: [] for i in run_ids}
    if run_ids:
        for s in conn.execute(
            sa.select(st).where(st.c.run_id.in_(run_ids)).order_by(st.c.run_id, st.c.n)
        ):
            out[s.run_id].append(s)
    return out


def _durations_of(conn: Connection, run_ids: list[int]) -> dict[int, int]:
    st = schema.scenario_steps
    out = dict.fromkeys(run_ids, 0)
    if run_ids:
        total = sa.func.coalesce(sa.func.sum(st.c.duration_ms), 0)
        query = sa.select(st.c.run_id, total).where(st.c.run_id.in_(run_ids))
        for run_id, spent in conn.execute(query.group_by(st.c.run_id)):
            out[run_id] = int(spent)
    return out


def list_runs(
    actor: Actor,
    scenario_id: int,
    status: str | None = None,
    limit: int = DEFAULT_RUNS,
    before: int | None = None,
    *,
    lang: str = "en",
    with_steps: bool = True,
) -> dict[str, Any]:
    """Runs of a scenario, newest first, each with its steps (errors in `lang`) — or,
    `with_steps` false, with `duration_ms`, the sum of its steps' times, instead (a list
    of many runs of many steps need not read and render every step's input and output)."""
    require_admin(actor)
    if not 1 <= limit <= MAX_RUNS:
        raise ValidationFailed.of("whole_number_range", "limit", max=MAX_RUNS)
    r = schema.scenario_runs
    q = sa.select(r).where(r.c.scenario_id == scenario_id).order_by(r.c.id.desc())
    if status:
        q = q.where(r.c.status == status)
    if before:
        q = q.where(r.c.id < before)
    with read_connection(actor.workspace.engine) as conn:
        scenario_row(conn, scenario_id)
        rows = conn.execute(q.limit(limit + 1)).all()
        page = rows[:limit]
        if not with_steps:
            spent = _durations_of(conn, [x.id for x in page])
            items = [{**_render_run(x, None, lang), "duration_ms": spent[x.id]} for x in page]
        else:
            steps = _steps_of(conn, [x.id for x in page])
            items = [_render_run(x, steps[x.id], lang) for x in page]
    return {
        "items": items,
        "next_before": page[-1].id if len(rows) > limit else None,
    }


def get_run(
    actor: Actor, run_id: int, scenario_id: int | None = None, *, lang: str = "en"
) -> dict[str, Any]:
    """One run with every step's input, output and error (in `lang` when it has a code)."""
    require_admin(actor)
    r = schema.scenario_runs
    with read_connection(actor.workspace.engine) as conn:
        row = conn.execute(sa.select(r).where(r.c.id == run_id)).first()
        if row is None or (scenario_id is not None and row.scenario_id != scenario_id):
            raise ScenarioNotFound.of("scenario_run_not_found", None, id=run_id)
        steps = _steps_of(conn, [run_id])[run_id]
    return _render_run(row, steps, lang)


def retry_run(actor: Actor, scenario_id: int, run_id: int) -> dict[str, Any]:
    """Run a failed run again from the step that failed (same version, same variables)."""
    require_admin(actor)
    r = schema.scenario_runs
    now = clock.now()
    with actor.workspace.engine.begin() as conn:
        row = conn.execute(
            sa.select(r).where(r.c.id == run_id, r.c.scenario_id == scenario_id)
        ).first()
        if row is None:
            raise ScenarioNotFound.of("scenario_run_not_found", None, id=run_id)
        if row.status != "failed" or row.test:
            raise ScenarioInactive.of("scenario_run_not_retriable")
        state = dict(row.state or {})
        state["pc"] = state.pop("failed_pc", state.get("pc", 0))
        state["attempt"] = 1
        conn.execute(
            sa.update(r)
            .where(r.c.id == run_id)
            .values(
                status="queued",
                state=state,
                due_at=now,
                error=None,
                error_code=None,
                error_params=None,
                finished_at=None,
                updated_at=now,
            )
        )
    wake(actor.workspace.name)
    return get_run(actor, run_id)


def cancel_run(actor: Actor, scenario_id: int, run_id: int) -> dict[str, Any]:
    """Stop a queued or waiting run."""
    require_admin(actor)
    r = schema.scenario_runs
    now = clock.now()
    with actor.workspace.engine.begin() as conn:
        done = conn.execute(
            sa.update(r)
            .where(
                r.c.id == run_id,
                r.c.scenario_id == scenario_id,
                r.c.status.in_(("queued", "waiting")),
            )
            .values(
                status="cancelled",
                due_at=None,
                watch_catalog_id=None,
                watch_record_id=None,
                finished_at=now,
                updated_at=now,
            )
        ).rowcount
    if not done:
        get_run(actor, run_id, scenario_id)  # 404 when it does not exist
        raise ScenarioInactive.of("scenario_run_not_cancellable")
    return get_run(actor, run_id)
