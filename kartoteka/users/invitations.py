"""One-time links: an invitation for a new user, or a password reset for an existing one.

The administrator gets the link to copy (and, where the workspace has SMTP settings, it
is also e-mailed). The link carries a random token; only its hash is stored, in the
tokens table beside sessions and API tokens, with kind `invite` or `reset`, so deleting
a user deletes their links too. A link works once: redeeming deletes the row in the
same statement that proves it was there, so two tabs cannot both set a password.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa

from kartoteka.auth import service as auth
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, ItemError, NotFound, ValidationFailed
from kartoteka.scenarios import mail
from kartoteka.security import log
from kartoteka.storage import schema
from kartoteka.storage.engine import iso, read_connection, utcnow

from . import service as users

PREFIX = "kti_"
#: How long each kind of link stays valid.
LIFETIME = {"invite": timedelta(days=7), "reset": timedelta(days=1)}
tokens_t = schema.tokens


class LinkInvalid(NotFound):
    """The link is unknown, used, expired, or its user was deactivated."""


def issue_link(actor: Actor, user_id: int, purpose: str) -> dict[str, Any]:
    """A new one-time link for a user (administrators); earlier links of the user stop."""
    if not actor.is_admin:
        raise Forbidden.of("links_admin_only")
    if purpose not in LIFETIME:
        raise ValidationFailed(
            errors=[ItemError(None, None, "purpose", "link_purpose", {"allowed": "invite, reset"})]
        )
    user = users.get_user(actor, user_id)
    if not user["active"]:
        raise ValidationFailed(errors=[ItemError(None, None, "user", "link_inactive_user", {})])
    token = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + LIFETIME[purpose]
    with actor.workspace.engine.begin() as conn:
        _forget_links(conn, user_id)
        conn.execute(
            tokens_t.insert().values(
                user_id=user_id,
                kind=purpose,
                token_hash=auth.token_hash(token),
                created_at=now,
                expires_at=expires,
            )
        )
    log.log_event(
        actor.workspace, "access_link_created", actor=actor, target_user=user_id, purpose=purpose
    )
    return {"token": token, "purpose": purpose, "expires_at": iso(expires), "user": user}


def _forget_links(conn: sa.Connection, user_id: int) -> None:
    conn.execute(
        tokens_t.delete().where(tokens_t.c.user_id == user_id, tokens_t.c.kind.in_(tuple(LIFETIME)))
    )


def _hash_of(token: Any) -> str | None:
    if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > 100:
        return None
    return auth.token_hash(token)


def peek_link(ws: Workspace, token: Any) -> dict[str, Any]:
    """Whose link this is and what for (LinkInvalid when it cannot be used)."""
    hashed = _hash_of(token)
    u = schema.users
    with read_connection(ws.engine) as conn:
        row = (
            conn.execute(
                sa.select(tokens_t.c.kind, tokens_t.c.expires_at, u.c.id, u.c.email, u.c.name)
                .join(u, u.c.id == tokens_t.c.user_id)
                .where(
                    tokens_t.c.token_hash == hashed,
                    tokens_t.c.kind.in_(tuple(LIFETIME)),
                    u.c.active.is_(True),
                )
            ).first()
            if hashed
            else None
        )
    if row is None or _expired(row.expires_at):
        raise LinkInvalid.of("link_invalid")
    return {"purpose": row.kind, "user_id": row.id, "email": row.email, "name": row.name}


def _expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at <= utcnow()


def redeem_link(ws: Workspace, token: Any, password: Any) -> dict[str, Any]:
    """Set the user's password through the link and use the link up."""
    found = peek_link(ws, token)
    problem = users.password_problem(password)
    if problem is not None:
        raise ValidationFailed(errors=[ItemError(None, None, "password", *problem)])
    with ws.engine.begin() as conn:
        taken = conn.execute(
            tokens_t.delete()
            .where(tokens_t.c.token_hash == _hash_of(token), tokens_t.c.expires_at > utcnow())
            .returning(tokens_t.c.user_id)
        ).scalar()
    if taken is None:  # another request used it a moment ago
        raise LinkInvalid.of("link_invalid")
    users.update_user(Actor.system(ws), found["user_id"], {"password": password})
    log.log_event(ws, "access_link_used", user_id=found["user_id"], purpose=found["purpose"])
    return found


def mail_link(actor: Actor, to: str, subject: str, text: str) -> str:
    """E-mail a link through the workspace's SMTP server: `sent`, `no_smtp` or the error.

    The caller (the UI) writes the text in the reader's language; not sending is never an
    error here, because the administrator always has the link to copy.
    """
    settings = mail.smtp_settings(actor.workspace)
    if settings is None:
        return "no_smtp"
    message = EmailMessage()
    message["From"] = settings["from"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    try:
        mail.send(settings, message)
    except mail.MailError as exc:
        return str(exc)
    return "sent"
