"""Manual scenarios from a record's point of view: which a user may start on a record
(the card's run buttons) and how a run they started is doing.

Starting itself is `service.start_run`; who may start follows it: administrators any
scenario, other users the active `manual` scenarios of the catalog on records they may
edit. A run's status is for administrators and for the user who started it by hand.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.fields.datetime import render_datetime
from kartoteka.records import service as records
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from .errors import ScenarioNotFound, run_error_text


def runnable_on(actor: Actor, catalog: Catalog, record_id: int) -> list[dict[str, Any]]:
    """The active manual scenarios of `catalog` the actor may start on the record."""
    if not actor.is_admin and not records.may_edit(actor, catalog, record_id):
        return []
    s = schema.scenarios
    q = (
        sa.select(s.c.id, s.c.name)
        .where(s.c.trigger_type == "manual", s.c.catalog_id == catalog.id, s.c.active.is_(True))
        .order_by(s.c.name, s.c.id)
    )
    with read_connection(actor.workspace.engine) as conn:
        return [{"id": r.id, "name": r.name} for r in conn.execute(q)]


def _starter(trigger: Any) -> int | None:
    user = trigger.get("user") if isinstance(trigger, dict) else None
    value = user.get("id") if isinstance(user, dict) else None
    return value if isinstance(value, int) else None


def run_status(actor: Actor, scenario_id: int, run_id: int, lang: str = "en") -> dict[str, Any]:
    """Where a run is (`status`, `error` in `lang`, `finished_at`): for its starter and
    administrators."""
    r = schema.scenario_runs
    with read_connection(actor.workspace.engine) as conn:
        row = conn.execute(
            sa.select(
                r.c.id,
                r.c.status,
                r.c.error,
                r.c.error_code,
                r.c.error_params,
                r.c.finished_at,
                r.c.trigger,
            ).where(r.c.id == run_id, r.c.scenario_id == scenario_id)
        ).first()
    mine = row is not None and actor.user_id is not None and _starter(row.trigger) == actor.user_id
    if row is None or not (actor.is_admin or mine):
        raise ScenarioNotFound.of("scenario_run_not_found", None, id=run_id)
    return {
        "id": row.id,
        "status": row.status,
        "error": run_error_text(row.error_code, row.error_params, lang) or row.error,
        "error_code": row.error_code,
        "error_params": row.error_params,
        "finished_at": render_datetime(row.finished_at) if row.finished_at else None,
    }
