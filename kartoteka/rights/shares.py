"""Sharing one record with one user (administrators and catalog managers)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.access.visibility import require_visible
from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, NotFound, ValidationFailed
from kartoteka.security.log import log_event
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow


def list_shares(actor: Actor, catalog_ref: str | int, record_id: int) -> list[dict[str, Any]]:
    """Users a record is shared with."""
    catalog = _manageable(actor, catalog_ref)
    s, u = schema.record_shares, schema.users
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(
            sa.select(s.c.user_id, s.c.can_edit, u.c.name)
            .join(u, u.c.id == s.c.user_id)
            .where(s.c.catalog_id == catalog.id, s.c.record_id == record_id)
            .order_by(s.c.user_id)
        )
        return [{"user": {"id": r.user_id, "name": r.name}, "edit": r.can_edit} for r in rows]


def list_catalog_shares(actor: Actor, catalog_ref: str | int) -> list[dict[str, Any]]:
    """Every share of a catalog's records, newest first (the rights designer lists them)."""
    catalog = _manageable(actor, catalog_ref)
    s, u = schema.record_shares, schema.users
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(
            sa.select(s.c.record_id, s.c.user_id, s.c.can_edit, u.c.name)
            .join(u, u.c.id == s.c.user_id)
            .where(s.c.catalog_id == catalog.id)
            .order_by(s.c.created_at.desc(), s.c.record_id, s.c.user_id)
            .limit(500)
        )
        return [
            {
                "record_id": r.record_id,
                "user": {"id": r.user_id, "name": r.name},
                "edit": r.can_edit,
            }
            for r in rows
        ]


def _manageable(actor: Actor, catalog_ref: str | int) -> Catalog:
    catalog = get_catalog(actor, catalog_ref)
    if not access.can_manage(actor, catalog):
        raise Forbidden.of("share_forbidden")
    return catalog


def share_record(
    actor: Actor, catalog_ref: str | int, record_id: int, body: Any
) -> list[dict[str, Any]]:
    """Give one user access to one record (`{"user": id, "edit": bool}`)."""
    catalog = _manageable(actor, catalog_ref)
    require_visible(actor, catalog, record_id)
    if not isinstance(body, dict):
        raise ValidationFailed.of("expected_object", "body")
    user_id, edit = body.get("user"), body.get("edit", False)
    if not isinstance(edit, bool):
        raise ValidationFailed.of("boolean", "edit")
    u, s = schema.users, schema.record_shares
    with actor.workspace.engine.begin() as conn:
        if (
            isinstance(user_id, bool)
            or not isinstance(user_id, int)
            or conn.execute(sa.select(u.c.id).where(u.c.id == user_id)).first() is None
        ):
            raise ValidationFailed.of("share_no_user", "user")
        conn.execute(
            sa.delete(s).where(
                s.c.catalog_id == catalog.id, s.c.record_id == record_id, s.c.user_id == user_id
            )
        )
        conn.execute(
            sa.insert(s).values(
                catalog_id=catalog.id,
                record_id=record_id,
                user_id=user_id,
                can_edit=edit,
                created_by=actor.user_id,
                created_at=utcnow(),
            )
        )
    log_event(
        actor.workspace,
        "rights_changed",
        actor=actor,
        catalog=catalog.api_name,
        action="share",
        record_id=record_id,
        shared_with=user_id,
        edit=edit,
    )
    return list_shares(actor, catalog.id, record_id)


def unshare_record(actor: Actor, catalog_ref: str | int, record_id: int, user_id: int) -> None:
    """Take a user's share of a record away."""
    catalog = _manageable(actor, catalog_ref)
    s = schema.record_shares
    with actor.workspace.engine.begin() as conn:
        done = conn.execute(
            sa.delete(s).where(
                s.c.catalog_id == catalog.id, s.c.record_id == record_id, s.c.user_id == user_id
            )
        )
    if not done.rowcount:
        raise NotFound.of("share_not_found")
    log_event(
        actor.workspace,
        "rights_changed",
        actor=actor,
        catalog=catalog.api_name,
        action="unshare",
        record_id=record_id,
        shared_with=user_id,
    )
