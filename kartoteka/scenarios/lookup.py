"""What every scenarios service module needs: who may, which scenario, how times render."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Actor
from kartoteka.errors import Forbidden
from kartoteka.fields.datetime import render_datetime
from kartoteka.storage import schema

from .errors import ScenarioNotFound


def require_admin(actor: Actor) -> None:
    """Scenarios are built by administrators."""
    if not actor.is_admin:
        raise Forbidden.of("scenarios_admin_only")


def scenario_row(conn: Connection, scenario_id: int) -> Any:
    """The scenario's row, or ScenarioNotFound."""
    s = schema.scenarios
    row = conn.execute(sa.select(s).where(s.c.id == scenario_id)).first()
    if row is None:
        raise ScenarioNotFound.of("scenario_not_found", None, id=scenario_id)
    return row


def render_time(value: Any) -> str | None:
    """A stored moment as the API shows it (None stays None)."""
    return render_datetime(value) if value is not None else None


def hash_token(token: str) -> str:
    """The stored form of an incoming-call token."""
    return hashlib.sha256(token.encode()).hexdigest()
