"""Authoring scenarios: create and change definitions (a new version when behaviour
changes), incoming-call tokens, versions, export and import."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Actor, Workspace
from kartoteka.storage import bulk, counters, schema
from kartoteka.storage.engine import read_connection

from . import definition, triggers
from .clock import clock
from .errors import ScenarioInactive, ScenarioInvalid
from .lookup import hash_token, render_time, require_admin, scenario_row

EXPORT_FORMAT = 1
TOKEN_PREFIX = "kts_"


def _new_token() -> str:
    """A fresh incoming-call token (only its hash is stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def _ids(conn: Connection) -> frozenset[int]:
    return frozenset(r[0] for r in conn.execute(sa.select(schema.scenarios.c.id)))


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
        "next_fire_at": render_time(row.next_fire_at),
        "created_at": render_time(row.created_at),
        "updated_at": render_time(row.updated_at),
    }


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
        return render(scenario_row(conn, scenario_id))


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
                token_hash=hash_token(token) if webhook else None,
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
        out = render(scenario_row(conn, new_id))
    if webhook:
        out["token"] = token
    return out


def update_scenario(actor: Actor, scenario_id: int, body: Any) -> dict[str, Any]:
    """Change some keys; a change of trigger, steps or options makes a new version."""
    require_admin(actor)
    if not isinstance(body, dict):
        raise ScenarioInvalid.of("scenario_body_object", "body")
    ws = actor.workspace
    s, v = schema.scenarios, schema.scenario_versions
    now = clock.now()
    with ws.engine.begin() as conn:
        row = scenario_row(conn, scenario_id)
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
            values["token_hash"] = hash_token(token)
        conn.execute(sa.update(s).where(s.c.id == scenario_id).values(**values))
        out = render(scenario_row(conn, scenario_id))
    if token:
        out["token"] = token
    return out


def rotate_token(actor: Actor, scenario_id: int) -> dict[str, Any]:
    """A new incoming-call token (the old one stops working); shown this once."""
    require_admin(actor)
    s = schema.scenarios
    token = _new_token()
    with actor.workspace.engine.begin() as conn:
        row = scenario_row(conn, scenario_id)
        if row.trigger_type != "webhook":
            raise ScenarioInactive.of("scenario_no_token")
        conn.execute(sa.update(s).where(s.c.id == scenario_id).values(token_hash=hash_token(token)))
    return {"id": scenario_id, "token": token}


def delete_scenario(actor: Actor, scenario_id: int) -> None:
    """Delete a scenario, its versions and its runs."""
    require_admin(actor)
    s, r, st = schema.scenarios, schema.scenario_runs, schema.scenario_steps
    with actor.workspace.engine.begin() as conn:
        scenario_row(conn, scenario_id)
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
        scenario_row(conn, scenario_id)
        rows = conn.execute(
            sa.select(v).where(v.c.scenario_id == scenario_id).order_by(v.c.version.desc())
        )
        return [
            {
                "version": r.version,
                "created_at": render_time(r.created_at),
                "created_by": r.created_by,
                "definition": r.definition,
            }
            for r in rows
        ]


def export_scenario(actor: Actor, scenario_id: int) -> dict[str, Any]:
    """The scenario as a file (importable into any workspace with the same catalogs)."""
    require_admin(actor)
    with read_connection(actor.workspace.engine) as conn:
        d = scenario_row(conn, scenario_id).definition
    return {"kartoteka_scenario": EXPORT_FORMAT, **d}


def import_scenario(actor: Actor, body: Any) -> dict[str, Any]:
    """Create a scenario from an exported file."""
    if not isinstance(body, dict):
        raise ScenarioInvalid.of("scenario_file_object", "body")
    fmt = body.get("kartoteka_scenario", EXPORT_FORMAT)
    if fmt != EXPORT_FORMAT:
        raise ScenarioInvalid.of(
            "scenario_file_format", "kartoteka_scenario", format=fmt, expected=EXPORT_FORMAT
        )
    return create_scenario(actor, {k: v for k, v in body.items() if k != "kartoteka_scenario"})
