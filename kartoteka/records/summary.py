"""Outbox events about a catalog but no single record (`import.completed`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.observability import context as request_context
from kartoteka.storage import counters, schema
from kartoteka.storage.engine import utcnow

from .write import EVENT_COUNTER


def record_summary(actor: Actor, catalog: Catalog, event_type: str, payload: dict[str, Any]) -> int:
    """One outbox event about a catalog but no single record (`import.completed`), in its
    own transaction; returns its sequence number."""
    with actor.workspace.engine.begin() as conn:
        seq = counters.take(conn, EVENT_COUNTER, 1)
        conn.execute(
            sa.insert(schema.events).values(
                seq=seq,
                type=event_type,
                catalog_id=catalog.id,
                record_id=None,
                user_id=actor.user_id,
                at=utcnow(),
                payload=payload,
                depth=actor.depth,
                request_id=request_context.request_id(),
            )
        )
    return seq
