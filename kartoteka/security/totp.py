"""Optional TOTP two-factor login (RFC 6238, 30-second codes, 6 digits) with pyotp.

Setup stores the new secret as `pending:<secret>`; only a correct code turns it on, so
a user who never finishes setup is not locked out by an authenticator they lack.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

import pyotp
import sqlalchemy as sa

from kartoteka.context import Actor, Workspace
from kartoteka.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kartoteka.storage import schema

from . import log

PENDING = "pending:"
ISSUER = "Kartoteka"
VALID_WINDOW = 1  # accept the previous and next 30-second code: phone clocks drift


def _secret_of(ws: Workspace, user_id: int) -> str | None:
    users = schema.users
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(users.c.totp_secret).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound.of("user_not_found", None, id=user_id)
    return row[0]


def _store(ws: Workspace, user_id: int, value: str | None) -> None:
    users = schema.users
    with ws.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(totp_secret=value))


def enabled_secret(ws: Workspace, user_id: int) -> str | None:
    """The active secret of a user, or None when two-factor login is off."""
    secret = _secret_of(ws, user_id)
    return None if not secret or secret.startswith(PENDING) else secret


def clock() -> datetime:
    """The current time (tests replace it to step through code windows)."""
    return datetime.now(UTC)


def matched_step(secret: str, code: Any, now: datetime | None = None) -> int | None:
    """The time step (30-second counter) whose code `code` is, within ±VALID_WINDOW."""
    if isinstance(code, int) and not isinstance(code, bool):
        code = f"{code:06d}"
    if not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or clock())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_code(ws: Workspace, user_id: int, secret: str, code: Any) -> bool:
    """Accept `code` once: true when it matches and no code of this or a later time step
    was accepted for the user before (a code seen over a shoulder or in a proxy log
    cannot be replayed within its window)."""
    step = matched_step(secret, code)
    if step is None:
        return False
    users = schema.users
    last = users.c.totp_last_step
    with ws.engine.begin() as conn:
        done = conn.execute(
            users.update()
            .where(users.c.id == user_id, sa.or_(last.is_(None), last < step))
            .values(totp_last_step=step)
        )
    return bool(done.rowcount)


def _user(actor: Actor) -> int:
    if actor.user_id is None:
        raise Forbidden.of("totp_user_only")
    if actor.token_scopes:
        raise Forbidden.of("totp_restricted_token")
    return actor.user_id


def _require_code(ws: Workspace, user_id: int, secret: str, code: Any) -> None:
    if not use_code(ws, user_id, secret, code):
        raise ValidationFailed.of("totp_code", "code")


def setup(actor: Actor) -> dict[str, Any]:
    """Start enabling two-factor login: a new secret and its otpauth:// URI."""
    user_id = _user(actor)
    if enabled_secret(actor.workspace, user_id):
        raise Conflict.of("totp_on_disable_first")
    secret = pyotp.random_base32()
    _store(actor.workspace, user_id, PENDING + secret)
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.email, issuer_name=ISSUER)
    return {"secret": secret, "uri": uri, "enabled": False}


def pending_uri(actor: Actor) -> dict[str, Any] | None:
    """The secret and URI of a setup not confirmed yet (to show its QR code again)."""
    stored = _secret_of(actor.workspace, _user(actor))
    if not stored or not stored.startswith(PENDING):
        return None
    secret = stored.removeprefix(PENDING)
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.email, issuer_name=ISSUER)
    return {"secret": secret, "uri": uri, "enabled": False}


def enable(actor: Actor, code: Any, address: str | None = None) -> dict[str, Any]:
    """Turn two-factor login on once the user proves their authenticator works."""
    user_id = _user(actor)
    stored = _secret_of(actor.workspace, user_id)
    if not stored or not stored.startswith(PENDING):
        if stored:
            raise Conflict.of("totp_on")
        raise Conflict.of("totp_setup_first")
    secret = stored.removeprefix(PENDING)
    _require_code(actor.workspace, user_id, secret, code)
    _store(actor.workspace, user_id, secret)
    log.log_event(actor.workspace, "totp_enabled", actor=actor, address=address)
    return {"enabled": True}


def disable(actor: Actor, code: Any, address: str | None = None) -> dict[str, Any]:
    """Turn two-factor login off (needs a current code, so a stolen session cannot)."""
    user_id = _user(actor)
    secret = enabled_secret(actor.workspace, user_id)
    if secret is None:
        raise Conflict.of("totp_off")
    _require_code(actor.workspace, user_id, secret, code)
    _store(actor.workspace, user_id, None)
    log.log_event(actor.workspace, "totp_disabled", actor=actor, address=address)
    return {"enabled": False}


def reset(actor: Actor, user_id: int, address: str | None = None) -> None:
    """An administrator turns a user's two-factor login off (lost phone)."""
    if not actor.is_admin:
        raise Forbidden.of("totp_admin_only")
    _secret_of(actor.workspace, user_id)
    _store(actor.workspace, user_id, None)
    log.log_event(
        actor.workspace, "totp_disabled", actor=actor, address=address, target_user=user_id
    )
