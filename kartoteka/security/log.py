"""The security log: logins, failures, lockouts, tokens, two-factor, rights, reveals.

Each entry is written in its own short transaction so it survives a rollback of the
operation it describes (a failed login has nothing to commit, but must be logged).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kartoteka.context import Actor, Workspace
from kartoteka.errors import BadRequest, Forbidden, ValidationFailed
from kartoteka.storage import schema
from kartoteka.storage.engine import iso, utcnow

#: Every event the platform writes, with what it means (docs/security.md lists them).
EVENTS = {
    "login": "a successful password login (API or web form)",
    "login_failed": "a wrong email, password or two-factor code",
    "lockout": "a failure that started or extended a login delay",
    "logout_everywhere": "a user ended all their sessions",
    "token_created": "an API token was created",
    "token_revoked": "an API token was revoked",
    "totp_enabled": "two-factor login turned on",
    "totp_disabled": "two-factor login turned off (by the user or an administrator)",
    "rights_changed": "catalog rights, rules or sharing changed",
    "reveal": "a masked value was revealed",
    "rate_limits_changed": "the workspace request limits changed",
    "webhook_disabled": "a webhook failing for too long was switched off by the maintenance pass",
    "access_link_created": "an administrator made an invitation or password-reset link",
    "access_link_used": "a user set their password through such a link",
    "see_as": "an administrator looked at a catalog as another user sees it",
    "settings_changed": "workspace settings changed in the web interface",
    "workspace_backup": "a hosting administrator downloaded or restored a workspace backup",
}
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_ADDRESS = 100

logger = logging.getLogger("kartoteka.security")


def log_event(
    ws: Workspace,
    event: str,
    actor: Actor | None = None,
    address: str | None = None,
    **detail: Any,
) -> None:
    """Append one entry; `actor` (or `user_id`/`email` in detail) says whose it is."""
    user_id = detail.pop("user_id", None)
    email = detail.pop("email", None)
    if actor is not None:
        user_id = actor.user_id if user_id is None else user_id
        email = actor.email or email
    values = {
        "at": utcnow(),
        "user_id": user_id,
        "email": (email or None) and str(email)[:320],
        "address": (address or None) and str(address)[:MAX_ADDRESS],
        "event": event[:40],
        "detail": detail,
    }
    try:
        with ws.engine.begin() as conn:
            conn.execute(schema.security_log.insert().values(**values))
    except sa.exc.SQLAlchemyError:
        # Losing an audit line must not turn a login into a 500; the process log keeps it.
        logger.exception("could not write security log entry %s", values)


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": iso(row.at),
        "event": row.event,
        "user_id": row.user_id,
        "email": row.email,
        "address": row.address,
        "detail": row.detail or {},
    }


def _int_param(name: str, value: Any, low: int, high: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = low - 1
    if number < low or (high is not None and number > high):
        if high is None:
            raise ValidationFailed.of("integer_at_least", name, low=low)
        raise ValidationFailed.of("integer_between", name, low=low, high=high)
    return number


def _user_clause(ws: Workspace, text: str) -> Any:
    """Entries of a user by id or email; failed logins only know the email that was tried."""
    log, users = schema.security_log, schema.users
    if not text.isdecimal() or len(text) > 18:  # too long for an id: compare as an email
        return log.c.email == text.lower()
    with ws.engine.connect() as conn:
        email = conn.execute(sa.select(users.c.email).where(users.c.id == int(text))).scalar()
    return (
        sa.or_(log.c.user_id == int(text), log.c.email == email)
        if email
        else (log.c.user_id == int(text))
    )


def query_log(
    actor: Actor,
    event: str | None = None,
    user: Any = None,
    limit: Any = None,
    cursor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Entries newest first (administrators only), filtered by event, user id or email, and
    time (`since` inclusive, `until` exclusive; naive UTC like the stored times)."""
    if not actor.is_admin:
        raise Forbidden.of("security_log_admin_only")
    log = schema.security_log
    size = DEFAULT_LIMIT if limit in (None, "") else _int_param("limit", limit, 1, MAX_LIMIT)
    query = sa.select(log).order_by(log.c.id.desc()).limit(size + 1)
    if event:
        if event not in EVENTS:
            raise ValidationFailed.of("one_of", "event", allowed=", ".join(EVENTS))
        query = query.where(log.c.event == event)
    if user not in (None, ""):
        query = query.where(_user_clause(actor.workspace, str(user).strip()))
    if since is not None:
        query = query.where(log.c.at >= since)
    if until is not None:
        query = query.where(log.c.at < until)
    if cursor:
        if not cursor.isdecimal():
            raise BadRequest.of("log_cursor_invalid", "cursor")
        query = query.where(log.c.id < int(cursor))
    with actor.workspace.engine.connect() as conn:
        rows = conn.execute(query).all()
    items = [_entry(r) for r in rows[:size]]
    next_cursor = str(rows[size - 1].id) if len(rows) > size else None
    return {"items": items, "next_cursor": next_cursor}
