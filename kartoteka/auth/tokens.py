"""API tokens: creating, listing and revoking a user's tokens, and their scopes.

Checking a presented token (`actor_from_token`) is authentication and stays in
`service.py`; this module is the management of tokens a user holds.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from kartoteka.context import Actor
from kartoteka.errors import Forbidden
from kartoteka.security import log
from kartoteka.storage import schema
from kartoteka.storage.engine import iso, read_connection, utcnow

from .errors import BadTokenSpec, TokenNotFound
from .service import API_PREFIX, evict_user, own_user_id, token_hash

SCOPE_KEYS = {"read_only", "catalogs"}


def create_api_token(
    actor: Actor,
    name: str,
    scopes: dict[str, Any] | None = None,
    expires_at: datetime | str | None = None,
) -> dict[str, Any]:
    """Create an API token for the actor's user; the secret is in the result only."""
    user_id = own_user_id(actor)
    if actor.token_scopes:
        raise Forbidden.of("restricted_token")
    values: dict[str, Any] = {
        "name": _check_token_name(name),
        "scopes": check_scopes(scopes),
        "expires_at": _check_expiry(expires_at),
        "created_at": utcnow(),
    }
    token = API_PREFIX + secrets.token_urlsafe(32)
    with actor.workspace.engine.begin() as conn:
        token_id = conn.execute(
            schema.tokens.insert()
            .values(user_id=user_id, kind="api", token_hash=token_hash(token), **values)
            .returning(schema.tokens.c.id)
        ).scalar_one()
    log.log_event(
        actor.workspace,
        "token_created",
        actor=actor,
        token_id=token_id,
        name=values["name"],
        scopes=values["scopes"],
    )
    return {
        "id": token_id,
        "name": values["name"],
        "token": token,
        "created_at": iso(values["created_at"]),
        "expires_at": iso(values["expires_at"]),
        "scopes": values["scopes"],
    }


def _check_token_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadTokenSpec.of("user_name", "name")
    if len(name.strip()) > 200:
        raise BadTokenSpec.of("max_length", "name", max=200)
    return name.strip()


def check_scopes(scopes: Any) -> dict[str, Any] | None:
    """Validate token scopes: {"read_only": bool, "catalogs": [catalog ids]}."""
    if scopes is None:
        return None
    bad = _scope_problem(scopes)
    if bad:
        raise BadTokenSpec.of(bad[0], "scopes", **bad[1])
    return dict(scopes) or None


def _scope_problem(scopes: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(scopes, dict):
        return "expected_object", {}
    unknown = sorted(set(scopes) - SCOPE_KEYS)
    if unknown:
        return "scope_key", {"key": unknown[0]}
    if "read_only" in scopes and not isinstance(scopes["read_only"], bool):
        return "flag_option", {"key": "read_only"}
    cats = scopes.get("catalogs")
    if "catalogs" in scopes and not (
        isinstance(cats, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in cats)
    ):
        return "scope_catalogs", {}
    return None


def _check_expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        raise BadTokenSpec.of("datetime", "expires_at")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value <= utcnow():
        raise BadTokenSpec.of("future", "expires_at")
    return value


def _token_json(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": iso(row.created_at),
        "expires_at": iso(row.expires_at),
        "last_used_at": iso(row.last_used_at),
        "scopes": row.scopes,
    }


def list_tokens(actor: Actor) -> list[dict[str, Any]]:
    """The actor's API tokens, without secrets."""
    return _tokens_of(actor, own_user_id(actor))


def list_user_tokens(actor: Actor, user_id: int) -> list[dict[str, Any]]:
    """Another user's API tokens, without secrets (administrators, to revoke them)."""
    if not actor.is_admin and actor.user_id != user_id:
        raise Forbidden.of("tokens_admin_only")
    return _tokens_of(actor, user_id)


def _tokens_of(actor: Actor, user_id: int) -> list[dict[str, Any]]:
    tokens = schema.tokens
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(
            sa.select(tokens)
            .where(tokens.c.user_id == user_id, tokens.c.kind == "api")
            .order_by(tokens.c.id)
        ).all()
    return [_token_json(r) for r in rows]


def revoke_token(actor: Actor, token_id: int) -> None:
    """Revoke one of the actor's tokens (administrators may revoke anyone's)."""
    tokens = schema.tokens
    with actor.workspace.engine.begin() as conn:
        owner = conn.execute(sa.select(tokens.c.user_id).where(tokens.c.id == token_id)).scalar()
        if owner is None or (owner != actor.user_id and not actor.is_admin):
            raise TokenNotFound.of("token_not_found", None, id=token_id)
        conn.execute(tokens.delete().where(tokens.c.id == token_id))
    evict_user(actor.workspace, owner)
    log.log_event(actor.workspace, "token_revoked", actor=actor, token_id=token_id, owner=owner)
