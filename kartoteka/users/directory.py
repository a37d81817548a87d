"""Finding users page by page and setting a group's members (the administrators' screens).

The plain lookups and changes of one user or group are in `service.py`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.auth import service as auth
from kartoteka.context import Actor
from kartoteka.storage.engine import read_connection
from kartoteka.storage.fulltext import fold_sql, fold_text, like_escape

from .errors import BadUserSpec

# The package's own helpers: one module reads users the same way as the other.
from .service import _groups_of, _load_group, _require_admin, _user_json, user_groups_t, users_t

#: Largest page of `find_users`.
MAX_PAGE = 200


def find_users(
    actor: Actor, search: str = "", offset: int = 0, limit: int = 50, group_id: int | None = None
) -> dict[str, Any]:
    """A page of users (administrators): `search` matches name or e-mail in any case,
    `group_id` keeps that group's members; `total` counts every match."""
    _require_admin(actor)
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    where: list[Any] = []
    text = search.strip() if isinstance(search, str) else ""
    if text and "\x00" not in text:
        pattern = "%" + like_escape(fold_text(text[:200])) + "%"
        where.append(
            sa.or_(
                fold_sql(users_t.c.name, True).like(pattern, escape="\\"),
                fold_sql(users_t.c.email, True).like(pattern, escape="\\"),
            )
        )
    if group_id is not None:
        members = sa.select(user_groups_t.c.user_id).where(user_groups_t.c.group_id == group_id)
        where.append(users_t.c.id.in_(members))
    with read_connection(actor.workspace.engine) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(users_t).where(*where)).scalar()
        rows = conn.execute(
            sa.select(users_t)
            .where(*where)
            .order_by(users_t.c.active.desc(), users_t.c.name, users_t.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        groups = _groups_of(conn, [r.id for r in rows])
    items = [_user_json(r, groups.get(r.id, [])) for r in rows]
    return {"items": items, "total": int(total or 0), "offset": offset, "limit": limit}


def set_group_members(actor: Actor, group_id: int, user_ids: list[int]) -> list[int]:
    """Make exactly `user_ids` the members of a group (administrators); those who leave or
    join get their new rights at once."""
    _require_admin(actor)
    wanted = sorted({u for u in user_ids if isinstance(u, int) and not isinstance(u, bool)})
    with actor.workspace.engine.begin() as conn:
        row = _load_group(conn, group_id)
        known = set(conn.execute(sa.select(users_t.c.id).where(users_t.c.id.in_(wanted))).scalars())
        missing = [u for u in wanted if u not in known]
        if missing:
            raise BadUserSpec.of("no_user", "members", id=missing[0])
        before = set(
            conn.execute(
                sa.select(user_groups_t.c.user_id).where(user_groups_t.c.group_id == row.id)
            ).scalars()
        )
        conn.execute(
            user_groups_t.delete().where(
                user_groups_t.c.group_id == row.id, user_groups_t.c.user_id.not_in(wanted)
            )
        )
        added = [u for u in wanted if u not in before]
        if added:
            conn.execute(
                user_groups_t.insert(), [{"user_id": u, "group_id": row.id} for u in added]
            )
    for user_id in before.symmetric_difference(wanted):
        auth.evict_user(actor.workspace, user_id)
    return wanted


def group_member_counts(actor: Actor) -> dict[int, int]:
    """Group id -> number of members (administrators)."""
    _require_admin(actor)
    ug = user_groups_t
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(sa.select(ug.c.group_id, sa.func.count()).group_by(ug.c.group_id))
        return {int(g): int(n) for g, n in rows}


def profile_keys(actor: Actor) -> list[str]:
    """Every profile key some user has (administrators): what rules may use as `$user.<key>`."""
    _require_admin(actor)
    keys: set[str] = set()
    with read_connection(actor.workspace.engine) as conn:
        for profile in conn.execute(sa.select(users_t.c.profile)).scalars():
            keys.update(k for k in (profile or {}) if isinstance(k, str))
    return sorted(keys)
