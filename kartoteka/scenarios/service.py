"""Scenarios service: definitions (versioned), runs, manual and incoming starts, settings."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.catalogs import service as catalogs
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, ValidationFailed
from kartoteka.fields.datetime import render_datetime
from kartoteka.records import service as records
from kartoteka.storage import bulk, counters, schema
from kartoteka.storage.engine import read_connection
from kartoteka.webhooks.wakeup import wake

from . import definition, engine, mail, triggers
from .clock import clock
from .errors import ScenarioInactive, ScenarioInvalid, ScenarioNotFound, TriggerTokenInvalid
from .runs import insert_runs, new_run_row

EXPORT_FORMAT = 1
DEFAULT_RUNS = 20
MAX_RUNS = 200
TOKEN_PREFIX = "kts_"


def require_admin(actor: Actor) -> None:
    """Scenarios are built by administrators."""
    if not actor.is_admin:
        raise Forbidden("only administrators manage scenarios")


def _new_token() -> str:
    """A fresh incoming-call token (only its hash is stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ids(conn: Connection) -> frozenset[int]:
    return frozenset(r[0] for r in conn.execute(sa.select(schema.scenarios.c.id)))


# ----- rendering ----------------------------------------------------------------------------
def render(row: Any) -> dict[str, Any]:
    """The API representation of a scenario (its current version)."""
    d = row.definition
    return {
        "id": row.id,
        "name": row.name,
        "description": d.get("description"),
        "active": bool(row.active),
        "version": row.version,
        "trigger": d.get("trigger"),
        "steps": d.get("steps"),
        "options": d.get("options") or {},
        "has_token": row.token_hash is not None,
        "next_fire_at": _time(row.next_fire_at),
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
    }


def _time(value: Any) -> str | None:
    return render_datetime(value) if value is not None else None


def _row(conn: Connection, scenario_id: int) -> Any:
    s = schema.scenarios
    row = conn.execute(sa.select(s).where(s.c.id == scenario_id)).first()
    if row is None:
        raise ScenarioNotFound(f"scenario {scenario_id} not found")
    return row


# ----- definitions --------------------------------------------------------------------------
def list_scenarios(actor: Actor) -> list[dict[str, Any]]:
    """Every scenario of the workspace."""
    require_admin(actor)
    s = schema.scenarios
    with read_connection(actor.workspace.engine) as conn:
        return [render(r) for r in conn.execute(sa.select(s).order_by(s.c.id))]


def get_scenario(actor: Actor, scenario_id: int) -> dict[str, Any]:
    """One scenario."""
    require_admin(actor)
    with read_connection(actor.workspace.engine) as conn:
        return render(_row(conn, scenario_id))


def _timer_values(ws: Workspace, clean: dict[str, Any], conn: Connection) -> dict[str, Any]:
    """Derived columns of a (new or changed) definition: catalog, timers, start of events."""
    trigger = clean["trigger"]
    now = clock.now()
    catalog = ws.meta().catalog(trigger["catalog"]) if trigger.get("catalog") is not None else None
    values: dict[str, Any] = {
        "trigger_type": trigger["type"],
        "catalog_id": catalog.id if catalog else None,
        "start_seq": counters.peek(conn, "event_seq"),
        "next_fire_at": None,
        "checked_until": None,
    }
    if trigger["type"] == "schedule":
        values["next_fire_at"] = triggers.next_cron(trigger["cron"], now, ws.meta().timezone)
    if trigger["type"] == "date":
        values["checked_until"] = now
    return values


def _start_cursor(conn: Connection) -> None:
    """The scenario consumer starts at the current event, not at the start of history."""
    row = {
        "consumer": triggers.CONSUMER,
        "last_seq": counters.peek(conn, "event_seq"),
        "updated_at": clock.now(),
    }
    bulk.insert_rows(conn, schema.outbox_cursor, [row], skip_conflicts_on=["consumer"])


def create_scenario(actor: Actor, body: Any) -> dict[str, Any]:
    """Create a scenario (version 1); a `webhook` trigger's token is shown this once."""
    require_admin(actor)
    ws = actor.workspace
    s, v = schema.scenarios, schema.scenario_versions
    now = clock.now()
    with ws.engine.begin() as conn:
        clean = definition.validate(ws, body, _ids(conn))
        token = _new_token()
        webhook = clean["trigger"]["type"] == "webhook"
        new_id = conn.execute(
            sa.insert(s)
            .values(
                name=clean["name"],
                active=clean["active"],
                version=1,
                definition=clean,
                token_hash=_hash(token) if webhook else None,
                created_by=actor.user_id,
                created_at=now,
                updated_by=actor.user_id,
                updated_at=now,
                **_timer_values(ws, clean, conn),
            )
            .returning(s.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(v).values(
                scenario_id=new_id,
                version=1,
                definition=clean,
                created_by=actor.user_id,
                created_at=now,
            )
        )
        _start_cursor(conn)
        out = render(_row(conn, new_id))
    if webhook:
        out["token"] = token
    return out


def update_scenario(actor: Actor, scenario_id: int, body: Any) -> dict[str, Any]:
    """Change some keys; a change of trigger, steps or options makes a new version."""
    require_admin(actor)
    if not isinstance(body, dict):
        raise ScenarioInvalid("the body must be an object", fields={"body": "object"})
    ws = actor.workspace
    s, v = schema.scenarios, schema.scenario_versions
    now = clock.now()
    with ws.engine.begin() as conn:
        row = _row(conn, scenario_id)
        merged = {**row.definition, **body}
        clean = definition.validate(ws, merged, _ids(conn))
        values: dict[str, Any] = {
            "name": clean["name"],
            "active": clean["active"],
            "definition": clean,
            "updated_by": actor.user_id,
            "updated_at": now,
        }
        behaviour = ("trigger", "steps", "options")
        changed = any(clean.get(k) != row.definition.get(k) for k in behaviour)
        if changed:
            values["version"] = row.version + 1
            conn.execute(
                sa.insert(v).values(
                    scenario_id=scenario_id,
                    version=row.version + 1,
                    definition=clean,
                    created_by=actor.user_id,
                    created_at=now,
                )
            )
        if clean["trigger"] != row.definition.get("trigger") or (
            clean["active"] and not row.active
        ):
            # Switched on or retargeted: it hears events and dates from now on.
            values.update(_timer_values(ws, clean, conn))
        token = None
        if clean["trigger"]["type"] == "webhook" and row.token_hash is None:
            token = _new_token()
            values["token_hash"] = _hash(token)
        conn.execute(sa.update(s).where(s.c.id == scenario_id).values(**values))
        out = render(_row(conn, scenario_id))
    if token:
        out["token"] = token
    return out


def rotate_token(actor: Actor, scenario_id: int) -> dict[str, Any]:
    """A new incoming-call token (the old one stops working); shown this once."""
    require_admin(actor)
    s = schema.scenarios
    token = _new_token()
    with actor.workspace.engine.begin() as conn:
        row = _row(conn, scenario_id)
        if row.trigger_type != "webhook":
            raise ScenarioInactive("only scenarios started by an incoming call have a token")
        conn.execute(sa.update(s).where(s.c.id == scenario_id).values(token_hash=_hash(token)))
    return {"id": scenario_id, "token": token}


def delete_scenario(actor: Actor, scenario_id: int) -> None:
    """Delete a scenario, its versions and its runs."""
    require_admin(actor)
    s, r, st = schema.scenarios, schema.scenario_runs, schema.scenario_steps
    with actor.workspace.engine.begin() as conn:
        _row(conn, scenario_id)
        runs = sa.select(r.c.id).where(r.c.scenario_id == scenario_id)
        conn.execute(sa.delete(st).where(st.c.run_id.in_(runs)))
        conn.execute(sa.delete(r).where(r.c.scenario_id == scenario_id))
        conn.execute(
            sa.delete(schema.scenario_versions).where(
                schema.scenario_versions.c.scenario_id == scenario_id
            )
        )
        conn.execute(sa.delete(s).where(s.c.id == scenario_id))


def list_versions(actor: Actor, scenario_id: int) -> list[dict[str, Any]]:
    """Every version of a scenario, newest first."""
    require_admin(actor)
    v = schema.scenario_versions
    with read_connection(actor.workspace.engine) as conn:
        _row(conn, scenario_id)
        rows = conn.execute(
            sa.select(v).where(v.c.scenario_id == scenario_id).order_by(v.c.version.desc())
        )
        return [
            {
                "version": r.version,
                "created_at": _time(r.created_at),
                "created_by": r.created_by,
                "definition": r.definition,
            }
            for r in rows
        ]


def export_scenario(actor: Actor, scenario_id: int) -> dict[str, Any]:
    """The scenario as a file (importable into any workspace with the same catalogs)."""
    require_admin(actor)
    with read_connection(actor.workspace.engine) as conn:
        d = _row(conn, scenario_id).definition
    return {"kartoteka_scenario": EXPORT_FORMAT, **d}


def import_scenario(actor: Actor, body: Any) -> dict[str, Any]:
    """Create a scenario from an exported file."""
    if not isinstance(body, dict):
        raise ScenarioInvalid("a scenario file is a JSON object", fields={"body": "object"})
    fmt = body.get("kartoteka_scenario", EXPORT_FORMAT)
    if fmt != EXPORT_FORMAT:
        raise ScenarioInvalid(
            f"unknown scenario file format {fmt!r}",
            fields={"kartoteka_scenario": f"must be {EXPORT_FORMAT}"},
        )
    return create_scenario(actor, {k: v for k, v in body.items() if k != "kartoteka_scenario"})


# ----- starting runs ------------------------------------------------------------------------
def _insert_one(ws: Workspace, row: dict[str, Any]) -> int:
    r = schema.scenario_runs
    with ws.engine.begin() as conn:
        insert_runs(conn, [row])
        run_id = conn.execute(
            sa.select(r.c.id).where(r.c.scenario_id == row["scenario_id"], r.c.key == row["key"])
        ).scalar_one()
    return int(run_id)


def start_run(actor: Actor, scenario_id: int, body: Any) -> dict[str, Any]:
    """Start a run by hand (`record_id`, `vars`); `test: true` runs it now, sending nothing."""
    body = body if isinstance(body, dict) else {}
    unknown = set(body) - {"record_id", "vars", "test"}
    if unknown:
        raise ValidationFailed(
            f"unknown key(s): {', '.join(sorted(unknown))}",
            fields=dict.fromkeys(unknown, "unknown"),
        )
    ws = actor.workspace
    with read_connection(ws.engine) as conn:
        row = _row(conn, scenario_id)
    test = body.get("test", False) is True
    _may_start(actor, row, test)
    variables = body.get("vars") or {}
    if not isinstance(variables, dict):
        raise ValidationFailed("vars must be an object", fields={"vars": "object"})
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
        return get_run(Actor.system(ws), run_id)
    run_id = _insert_one(ws, run)
    wake(ws.name)
    return get_run(Actor.system(ws), run_id)


def _may_start(actor: Actor, row: Any, test: bool) -> None:
    if actor.is_admin:
        return
    if test or row.trigger_type != "manual":
        raise Forbidden("only administrators start this scenario")


def _run_record(actor: Actor, row: Any, record_id: Any) -> tuple[int | None, int | None]:
    if record_id is None:
        return row.catalog_id, None
    if isinstance(record_id, bool) or not isinstance(record_id, int):
        raise ValidationFailed("record_id must be a record id", fields={"record_id": "id"})
    if row.catalog_id is None:
        raise ValidationFailed(
            "this scenario's trigger names no catalog, so it runs without a record",
            fields={"record_id": "not expected"},
        )
    # 404 when the record does not exist or the actor may not see it.
    records.get_record(actor, row.catalog_id, record_id)
    if not actor.is_admin and not records.may_edit(
        actor, catalogs.get_catalog(actor, row.catalog_id), record_id
    ):
        raise Forbidden("you may not run scenarios on this record")
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
        or not hmac.compare_digest(row.token_hash, _hash(token))
    ):
        # The same answer for an unknown scenario and a wrong token: nothing to probe.
        raise TriggerTokenInvalid("unknown scenario or wrong token")
    if not row.active:
        raise ScenarioInactive("the scenario is switched off")
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


# ----- runs ----------------------------------------------------------------------------------
def _render_run(row: Any, steps: list[Any] | None) -> dict[str, Any]:
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
        "error": row.error,
        "due_at": _time(row.due_at) if row.status in ("queued", "waiting") else None,
        "created_at": _time(row.created_at),
        "started_at": _time(row.started_at),
        "finished_at": _time(row.finished_at),
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
                "error": s.error,
                "at": _time(s.at),
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


def list_runs(
    actor: Actor,
    scenario_id: int,
    status: str | None = None,
    limit: int = DEFAULT_RUNS,
    before: int | None = None,
) -> dict[str, Any]:
    """Runs of a scenario, newest first, each with its steps."""
    require_admin(actor)
    if not 1 <= limit <= MAX_RUNS:
        raise ValidationFailed(f"limit must be 1..{MAX_RUNS}", fields={"limit": f"1..{MAX_RUNS}"})
    r = schema.scenario_runs
    q = sa.select(r).where(r.c.scenario_id == scenario_id).order_by(r.c.id.desc())
    if status:
        q = q.where(r.c.status == status)
    if before:
        q = q.where(r.c.id < before)
    with read_connection(actor.workspace.engine) as conn:
        _row(conn, scenario_id)
        rows = conn.execute(q.limit(limit + 1)).all()
        page = rows[:limit]
        steps = _steps_of(conn, [x.id for x in page])
    return {
        "items": [_render_run(x, steps[x.id]) for x in page],
        "next_before": page[-1].id if len(rows) > limit else None,
    }


def get_run(actor: Actor, run_id: int, scenario_id: int | None = None) -> dict[str, Any]:
    """One run with every step's input, output and error."""
    require_admin(actor)
    r = schema.scenario_runs
    with read_connection(actor.workspace.engine) as conn:
        row = conn.execute(sa.select(r).where(r.c.id == run_id)).first()
        if row is None or (scenario_id is not None and row.scenario_id != scenario_id):
            raise ScenarioNotFound(f"run {run_id} not found")
        steps = _steps_of(conn, [run_id])[run_id]
    return _render_run(row, steps)


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
            raise ScenarioNotFound(f"run {run_id} not found")
        if row.status != "failed" or row.test:
            raise ScenarioInactive("only a failed run (not a test run) can be retried")
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
        raise ScenarioInactive("only a queued or waiting run can be cancelled")
    return get_run(actor, run_id)


# ----- SMTP settings -------------------------------------------------------------------------
def get_smtp(actor: Actor) -> dict[str, Any]:
    """The workspace's SMTP settings (the password is never shown)."""
    require_admin(actor)
    value = mail.smtp_settings(actor.workspace) or {}
    return {
        **{k: v for k, v in value.items() if k != "password"},
        "has_password": bool(value.get("password")),
    }


def set_smtp(actor: Actor, body: Any) -> dict[str, Any]:
    """Store the SMTP settings e-mail steps send through."""
    require_admin(actor)
    clean, errors = mail.clean_settings(body)
    if errors:
        first = next(iter(errors.items()))
        raise ValidationFailed(f"{first[0]}: {first[1]}", fields=errors)
    catalogs.set_setting(actor, mail.SETTING, clean)
    return get_smtp(actor)
