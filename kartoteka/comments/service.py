"""Comments on records; readable by whoever may see the record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access.visibility import require_visible
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import ValidationFailed
from kartoteka.fields.datetime import render_datetime
from kartoteka.records import hooks
from kartoteka.records.service import get_catalog
from kartoteka.storage import counters, schema
from kartoteka.storage.engine import read_connection, utcnow

MAX_COMMENT = 20_000


def list_comments(actor: Actor, catalog_ref: str | int, record_id: int) -> list[dict[str, Any]]:
    """Comments of a record, oldest first."""
    catalog = get_catalog(actor, catalog_ref)
    require_visible(actor, catalog, record_id)
    c, u = schema.comments, schema.users
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(
            sa.select(c, u.c.name.label("user_name"))
            .outerjoin(u, u.c.id == c.c.user_id)
            .where(c.c.catalog_id == catalog.id, c.c.record_id == record_id)
            .order_by(c.c.id)
        )
        return [_json(r) for r in rows]


def _json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": render_datetime(r.at),
        "user": {"id": r.user_id, "name": r.user_name} if r.user_id else None,
        "text": r.text,
    }


def insert_comment(
    conn: Connection,
    actor: Actor,
    catalog: Catalog,
    record_id: int,
    text: str,
    at: datetime | None = None,
) -> int:
    """Insert one (checked) comment in the caller's transaction; returns its id.

    Comments are searched with their record: the write hooks reindex it here, so every
    way of adding a comment (the API, a scenario step) keeps the index right.
    """
    cid = counters.insert_id(
        conn,
        sa.insert(schema.comments).values(
            catalog_id=catalog.id,
            record_id=record_id,
            user_id=actor.user_id,
            at=at or utcnow(),
            text=text,
        ),
    )
    hooks.run_in_transaction(
        conn, actor, catalog, [{"record_id": record_id, "action": "comment", "changes": {}}]
    )
    return cid


def add_comment(actor: Actor, catalog_ref: str | int, record_id: int, body: Any) -> dict[str, Any]:
    """Add a comment to a record the actor may see."""
    catalog = get_catalog(actor, catalog_ref)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed.of("required", "text")
    if len(text) > MAX_COMMENT or "\x00" in text:
        raise ValidationFailed.of("max_length", "text", max=MAX_COMMENT)
    require_visible(actor, catalog, record_id)
    c, u = schema.comments, schema.users
    with actor.workspace.engine.begin() as conn:
        cid = insert_comment(conn, actor, catalog, record_id, text.strip())
        row = conn.execute(
            sa.select(c, u.c.name.label("user_name"))
            .outerjoin(u, u.c.id == c.c.user_id)
            .where(c.c.id == cid)
        ).one()
    return _json(row)
