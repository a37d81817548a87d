"""Users and groups: who may sign in, and the groups rights are granted to."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from kartoteka.auth import service as auth
from kartoteka.auth.passwords import hash_password
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, ItemError, problem
from kartoteka.storage import schema
from kartoteka.storage.engine import iso, read_connection, utcnow

from .errors import (
    BadUserSpec,
    DuplicateEmail,
    DuplicateGroupName,
    GroupNotFound,
    LastAdministrator,
    UserNotFound,
)

USER_KEYS = ("email", "name", "password", "groups", "profile", "active", "is_admin", "lang")
SELF_KEYS = {"name", "password", "lang"}  # what users may change about themselves
#: Sent beside `password` when users change their own.
CURRENT_PASSWORD = "current_password"
GROUP_KEYS = ("name",)
MIN_PASSWORD = 8
MAX_PASSWORD = 4096
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
PROFILE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
LANG_RE = re.compile(r"^[a-z]{2}(-[A-Za-z]{2})?$")

users_t = schema.users
groups_t = schema.groups
user_groups_t = schema.user_groups
#: Why a value is refused: a message code and its parameters (kartoteka.messages).
Problem = tuple[str, dict[str, Any]]
Checker = Callable[[Any], tuple[Any, Problem | None]]


# ----- validation ---------------------------------------------------------------------
def _email(value: Any) -> tuple[Any, Problem | None]:
    if not isinstance(value, str) or not EMAIL_RE.match(value.strip()):
        return None, ("user_email", {})
    if len(value.strip()) > 320:
        return None, ("max_length", {"max": 320})
    return value.strip().lower(), None


def _name(value: Any) -> tuple[Any, Problem | None]:
    if not isinstance(value, str) or not value.strip():
        return None, ("user_name", {})
    if len(value.strip()) > 200:
        return None, ("max_length", {"max": 200})
    return value.strip(), None


def _password(value: Any) -> tuple[Any, Problem | None]:
    if value is None:
        return None, None
    problem = password_problem(value)
    return (None, problem) if problem else (value, None)


def password_problem(value: Any) -> tuple[str, dict[str, Any]] | None:
    """Why `value` cannot be a password, as a message code and its parameters (or None)."""
    if not isinstance(value, str) or len(value) < MIN_PASSWORD:
        return "new_password_short", {"min": MIN_PASSWORD}
    if len(value) > MAX_PASSWORD:
        return "new_password_long", {"max": MAX_PASSWORD}
    return None


def _groups(value: Any) -> tuple[Any, Problem | None]:
    if not isinstance(value, list) or not all(
        isinstance(g, int) and not isinstance(g, bool) for g in value
    ):
        return None, ("user_groups", {})
    return sorted(set(value)), None


def _profile_value_ok(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def _profile(value: Any) -> tuple[Any, Problem | None]:
    if not isinstance(value, dict):
        return None, ("user_profile", {})
    for key, item in value.items():
        if not isinstance(key, str) or not PROFILE_KEY_RE.match(key):
            return None, ("user_profile_key", {"key": key})
        if not _profile_value_ok(item):
            return None, ("user_profile_value", {"key": key})
    return dict(value), None


def _boolean(value: Any) -> tuple[Any, Problem | None]:
    return (value, None) if isinstance(value, bool) else (None, ("boolean", {}))


def _lang(value: Any) -> tuple[Any, Problem | None]:
    if value is None:
        return None, None
    if not isinstance(value, str) or not LANG_RE.match(value):
        return None, ("user_lang", {})
    return value, None


USER_CHECKS: dict[str, Checker] = {
    "email": _email,
    "name": _name,
    "password": _password,
    "groups": _groups,
    "profile": _profile,
    "active": _boolean,
    "is_admin": _boolean,
    "lang": _lang,
}


def _clean(spec: Any, checks: dict[str, Checker], required: tuple[str, ...]) -> dict[str, Any]:
    """Validate every key of `spec`; raise one BadUserSpec naming each bad key."""
    if not isinstance(spec, dict):
        raise BadUserSpec.of("body_object", "body")
    problems: list[ItemError] = []
    values: dict[str, Any] = {}
    for key, value in spec.items():
        check = checks.get(key)
        if check is None:
            problems.append(problem("unknown_key_allowed", str(key), allowed=", ".join(checks)))
            continue
        values[key], why = check(value)
        if why:
            problems.append(problem(why[0], key, **why[1]))
    for key in required:
        if key not in spec:
            problems.append(problem("required", key))
    if problems:
        raise BadUserSpec(errors=problems)
    return values


# ----- helpers ------------------------------------------------------------------------
def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden.of("users_admin_only")


def _require_user(actor: Actor) -> None:
    if actor.user_id is None and not actor.is_admin:
        raise Forbidden.of("sign_in_first")


def _read(ws: Workspace) -> Connection:
    return read_connection(ws.engine)


def _groups_of(conn: Connection, user_ids: list[int] | None) -> dict[int, list[int]]:
    query = sa.select(user_groups_t).order_by(user_groups_t.c.group_id)
    if user_ids is not None:
        query = query.where(user_groups_t.c.user_id.in_(user_ids))
    result: dict[int, list[int]] = {}
    for row in conn.execute(query):
        result.setdefault(row.user_id, []).append(row.group_id)
    return result


def _user_json(row: Row[Any], groups: list[int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "groups": groups,
        "profile": dict(row.profile or {}),
        "active": bool(row.active),
        "is_admin": bool(row.is_admin),
        "lang": row.lang,
        "created_at": iso(row.created_at),
    }


#: Workspace setting: may users who are not administrators see each other's e-mails.
SHOW_EMAILS_SETTING = "show_emails"


def _user_brief(row: Row[Any], with_email: bool) -> dict[str, Any]:
    """What any signed-in user sees of another: id, name, active; the e-mail only where
    the workspace shows e-mails (setting `show_emails`), since a list of every address
    is what a phishing campaign wants."""
    out = {"id": row.id, "name": row.name, "active": bool(row.active)}
    if with_email:
        out["email"] = row.email
    return out


def _emails_shown(actor: Actor) -> bool:
    return actor.workspace.meta().settings.get(SHOW_EMAILS_SETTING) is True


def _load_user(conn: Connection, user_id: Any) -> Row[Any]:
    row = None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        row = conn.execute(sa.select(users_t).where(users_t.c.id == user_id)).first()
    if row is None:
        raise UserNotFound.of("user_not_found", None, id=user_id)
    return row


def _full(conn: Connection, user_id: int) -> dict[str, Any]:
    return _user_json(_load_user(conn, user_id), _groups_of(conn, [user_id]).get(user_id, []))


def _check_groups_exist(conn: Connection, group_ids: list[int]) -> None:
    if not group_ids:
        return
    found = set(
        conn.execute(sa.select(groups_t.c.id).where(groups_t.c.id.in_(group_ids))).scalars()
    )
    missing = [g for g in group_ids if g not in found]
    if missing:
        raise BadUserSpec.of("no_group", "groups", id=missing[0])


def _check_email_free(conn: Connection, email: str, user_id: int | None = None) -> None:
    other = conn.execute(sa.select(users_t.c.id).where(users_t.c.email == email)).scalar()
    if other is not None and other != user_id:
        raise DuplicateEmail.of("email_taken", "email", email=email)


def _set_groups(conn: Connection, user_id: int, group_ids: list[int]) -> None:
    conn.execute(user_groups_t.delete().where(user_groups_t.c.user_id == user_id))
    if group_ids:
        conn.execute(
            user_groups_t.insert(), [{"user_id": user_id, "group_id": g} for g in group_ids]
        )


def _ensure_another_admin(conn: Connection, user_id: int) -> None:
    """Refuse a change that would leave no active administrator."""
    other = conn.execute(
        sa.select(users_t.c.id).where(
            users_t.c.is_admin.is_(True), users_t.c.active.is_(True), users_t.c.id != user_id
        )
    ).first()
    if other is None:
        raise LastAdministrator.of("last_administrator")


def find_user_id(ws: Workspace, email: str) -> int | None:
    """The id of the user with this email, if any."""
    with _read(ws) as conn:
        return conn.execute(
            sa.select(users_t.c.id).where(users_t.c.email == auth.normalise_email(email))
        ).scalar()


def active_emails(ws: Workspace) -> list[str]:
    """The e-mails of the workspace's active users (the instance's account directory)."""
    with _read(ws) as conn:
        return list(conn.execute(sa.select(users_t.c.email).where(users_t.c.active)).scalars())


def _accounts_changed(ws: Workspace) -> None:
    if ws.on_accounts_changed is not None:
        ws.on_accounts_changed(ws)


# ----- users --------------------------------------------------------------------------
def list_users(actor: Actor) -> list[dict[str, Any]]:
    """Every user; administrators see all details, others id, name, active (and e-mails
    where the workspace setting `show_emails` allows)."""
    _require_user(actor)
    with _read(actor.workspace) as conn:
        rows = conn.execute(sa.select(users_t).order_by(users_t.c.id)).all()
        if not actor.is_admin:
            shown = _emails_shown(actor)
            return [_user_brief(r, shown or r.id == actor.user_id) for r in rows]
        groups = _groups_of(conn, None)
    return [_user_json(r, groups.get(r.id, [])) for r in rows]


def get_user(actor: Actor, user_id: int) -> dict[str, Any]:
    """One user; full details for administrators and for the user themself."""
    _require_user(actor)
    with _read(actor.workspace) as conn:
        row = _load_user(conn, user_id)
        if not actor.is_admin and actor.user_id != row.id:
            return _user_brief(row, _emails_shown(actor))
        return _full(conn, row.id)


def create_user(actor: Actor, spec: dict[str, Any]) -> dict[str, Any]:
    """Create a user (administrators only)."""
    _require_admin(actor)
    values = _clean(spec, USER_CHECKS, ("email", "name"))
    password = values.pop("password", None)
    group_ids = values.pop("groups", [])
    try:
        with actor.workspace.engine.begin() as conn:
            _check_email_free(conn, values["email"])
            _check_groups_exist(conn, group_ids)
            user_id = conn.execute(
                users_t.insert()
                .values(
                    password_hash=hash_password(password) if password else None,
                    is_admin=values.pop("is_admin", False),
                    active=values.pop("active", True),
                    profile=values.pop("profile", {}),
                    auth_epoch=0,
                    created_at=utcnow(),
                    **values,
                )
                .returning(users_t.c.id)
            ).scalar_one()
            _set_groups(conn, user_id, group_ids)
            created = _full(conn, user_id)
    except IntegrityError:
        # Two concurrent creations with the same email: the unique index decides.
        raise DuplicateEmail.of("email_taken", "email", email=values["email"]) from None
    _accounts_changed(actor.workspace)
    return created


def update_user(actor: Actor, user_id: int, patch: dict[str, Any]) -> dict[str, Any]:
    """Change a user; password change and deactivation stop their sessions at once."""
    _require_user(actor)
    is_self = actor.user_id is not None and actor.user_id == user_id
    if isinstance(patch, dict) and is_self and "password" in patch:
        # A stolen session must not be enough to take the account over for good.
        patch = dict(patch)
        _check_current_password(actor, patch.pop(CURRENT_PASSWORD, None))
    if not actor.is_admin and not (is_self and isinstance(patch, dict) and set(patch) <= SELF_KEYS):
        raise Forbidden.of("users_admin_only")
    values = _clean(patch, USER_CHECKS, ())
    try:
        with actor.workspace.engine.begin() as conn:
            result = _apply_user_patch(conn, _load_user(conn, user_id), values)
    except IntegrityError:
        raise DuplicateEmail.of("email_taken", "email", email=values.get("email")) from None
    auth.evict_user(actor.workspace, user_id)
    actor.workspace.meta_holder.get("user_names", {}).pop(user_id, None)
    if "email" in values or "active" in values:
        _accounts_changed(actor.workspace)
    return result


def _check_current_password(actor: Actor, current: Any) -> None:
    """Changing one's own password needs the current one (422 naming `current_password`)."""
    if not isinstance(current, str) or not current:
        raise BadUserSpec.of("current_password_required", CURRENT_PASSWORD)
    if not auth.password_is_current(actor.workspace, actor.user_id or 0, current):
        raise BadUserSpec.of("current_password_wrong", CURRENT_PASSWORD)


def _apply_user_patch(conn: Connection, row: Row[Any], values: dict[str, Any]) -> dict[str, Any]:
    if "email" in values:
        _check_email_free(conn, values["email"], row.id)
    if "groups" in values:
        _check_groups_exist(conn, values["groups"])
        _set_groups(conn, row.id, values.pop("groups"))
    losing_admin = values.get("is_admin") is False or values.get("active") is False
    if losing_admin and row.is_admin and row.active:
        _ensure_another_admin(conn, row.id)
    password = values.pop("password", None)
    if password:
        values["password_hash"] = hash_password(password)
    if values:
        conn.execute(users_t.update().where(users_t.c.id == row.id).values(**values))
    if password or (values.get("active") is False and row.active):
        auth.bump_auth_epoch(conn, row.id)
    if password:
        # A new password ends every session and revokes every API token of the user:
        # whoever knew the old one may have minted either.
        auth.end_sessions(conn, row.id)
        auth.revoke_api_tokens(conn, row.id)
    return _full(conn, row.id)


def delete_user(actor: Actor, user_id: int) -> None:
    """Delete a user with their tokens and memberships (administrators only)."""
    _require_admin(actor)
    with actor.workspace.engine.begin() as conn:
        row = _load_user(conn, user_id)
        if row.is_admin and row.active:
            _ensure_another_admin(conn, row.id)
        conn.execute(schema.tokens.delete().where(schema.tokens.c.user_id == row.id))
        conn.execute(user_groups_t.delete().where(user_groups_t.c.user_id == row.id))
        conn.execute(users_t.delete().where(users_t.c.id == row.id))
    auth.evict_user(actor.workspace, user_id)
    _accounts_changed(actor.workspace)


def set_password(ws: Workspace, email: str, password: str) -> None:
    """Set a user's password by email (CLI); ends their sessions."""
    user_id = find_user_id(ws, email)
    if user_id is None:
        raise UserNotFound.of("user_email_unknown", None, email=email)
    update_user(Actor.system(ws), user_id, {"password": password})


# ----- groups -------------------------------------------------------------------------
def _group_json(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}


def _load_group(conn: Connection, group_id: Any) -> Row[Any]:
    row = None
    if isinstance(group_id, int) and not isinstance(group_id, bool):
        row = conn.execute(sa.select(groups_t).where(groups_t.c.id == group_id)).first()
    if row is None:
        raise GroupNotFound.of("group_not_found", None, id=group_id)
    return row


def _check_group_name_free(conn: Connection, name: str, group_id: int | None = None) -> None:
    other = conn.execute(sa.select(groups_t.c.id).where(groups_t.c.name == name)).scalar()
    if other is not None and other != group_id:
        raise DuplicateGroupName.of("group_taken", "name", name=name)


def list_groups(actor: Actor) -> list[dict[str, Any]]:
    """Every group (any signed-in user may see them)."""
    _require_user(actor)
    with _read(actor.workspace) as conn:
        rows = conn.execute(sa.select(groups_t).order_by(groups_t.c.id)).all()
    return [_group_json(r) for r in rows]


def get_group(actor: Actor, group_id: int) -> dict[str, Any]:
    """One group."""
    _require_user(actor)
    with _read(actor.workspace) as conn:
        return _group_json(_load_group(conn, group_id))


def create_group(actor: Actor, spec: dict[str, Any]) -> dict[str, Any]:
    """Create a group (administrators only)."""
    _require_admin(actor)
    name = _clean(spec, {"name": _name}, GROUP_KEYS)["name"]
    try:
        with actor.workspace.engine.begin() as conn:
            _check_group_name_free(conn, name)
            group_id = conn.execute(
                groups_t.insert().values(name=name).returning(groups_t.c.id)
            ).scalar_one()
            return _group_json(_load_group(conn, group_id))
    except IntegrityError:
        raise DuplicateGroupName.of("group_taken", "name", name=name) from None


def update_group(actor: Actor, group_id: int, patch: dict[str, Any]) -> dict[str, Any]:
    """Rename a group (administrators only)."""
    _require_admin(actor)
    values = _clean(patch, {"name": _name}, ())
    try:
        with actor.workspace.engine.begin() as conn:
            row = _load_group(conn, group_id)
            if "name" in values:
                _check_group_name_free(conn, values["name"], row.id)
                conn.execute(groups_t.update().where(groups_t.c.id == row.id).values(**values))
            return _group_json(_load_group(conn, row.id))
    except IntegrityError:
        raise DuplicateGroupName.of("group_taken", "name", name=values.get("name")) from None


def delete_group(actor: Actor, group_id: int) -> None:
    """Delete a group; its members lose what it granted at once."""
    _require_admin(actor)
    with actor.workspace.engine.begin() as conn:
        row = _load_group(conn, group_id)
        members = list(
            conn.execute(
                sa.select(user_groups_t.c.user_id).where(user_groups_t.c.group_id == row.id)
            ).scalars()
        )
        conn.execute(user_groups_t.delete().where(user_groups_t.c.group_id == row.id))
        conn.execute(groups_t.delete().where(groups_t.c.id == row.id))
    for user_id in members:
        auth.evict_user(actor.workspace, user_id)
