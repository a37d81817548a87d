"""Notices: to administrators (posted by background jobs) or to one user (scenario steps).

Administrators see the notices for administrators and their own; every other user
sees only the notices addressed to them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from string import Formatter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka import messages
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, ValidationFailed
from kartoteka.fields.datetime import render_datetime
from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow

from .errors import NoticeNotFound

LEVELS = ("info", "warning", "error")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
log = logging.getLogger("kartoteka.notices")
#: Notice kinds posted by Kartoteka itself -> the message codes of their title and text,
#: filled from the notice's data. Other notices (a scenario's `notify`) are shown as posted.
KIND_TEXTS = {
    "webhook.disabled": ("notice_webhook_disabled_title", "notice_webhook_disabled"),
}
#: Kind -> the names its title and text fill in (a notice lacking one reads as posted).
_NAMED = {
    kind: {name for c in codes for _, name, _, _ in Formatter().parse(messages.EN[c]) if name}
    for kind, codes in KIND_TEXTS.items()
}


def require_admin(actor: Actor) -> None:
    """Some notice actions are for administrators only."""
    if not actor.is_admin:
        raise Forbidden.of("notices_admin_only")


def _mine(actor: Actor) -> Any:
    """The notices `actor` may see."""
    t = schema.notices
    own = t.c.user_id == actor.user_id if actor.user_id is not None else sa.false()
    return sa.or_(t.c.user_id.is_(None), own) if actor.is_admin else own


def post(
    conn: Connection,
    kind: str,
    title: str,
    message: str,
    level: str = "warning",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    user_id: int | None = None,
) -> int:
    """Add a notice inside the caller's transaction (so it exists only if the change does)."""
    if level not in LEVELS:
        # english-ok: a caller's bug (levels are constants in the code), never a user's input.
        raise ValueError(f"unknown notice level {level!r}")
    t = schema.notices
    values = {
        "at": at or utcnow(),
        "level": level,
        "kind": kind[:60],
        "title": title[:200],
        "message": message,
        "data": data or {},
        "user_id": user_id,
    }
    new_id = conn.execute(sa.insert(t).values(**values).returning(t.c.id)).scalar_one()
    # The process log carries it too, for operators who watch logs rather than the UI.
    log.log(logging.ERROR if level == "error" else logging.WARNING, "%s: %s", title, message)
    return int(new_id)


def render(row: Any) -> dict[str, Any]:
    """The API representation of a notice."""
    return {
        "id": row.id,
        "at": render_datetime(row.at),
        "level": row.level,
        "kind": row.kind,
        "title": row.title,
        "message": row.message,
        "data": row.data or {},
        "read_at": render_datetime(row.read_at) if row.read_at else None,
        "read_by": row.read_by,
        "user_id": row.user_id,
    }


def worded(notice: dict[str, Any], lang: str) -> tuple[str, str]:
    """A notice's title and text in `lang` when Kartoteka posted it (`KIND_TEXTS`), else
    as posted. The last error of a disabled webhook is worded from its code."""
    codes = KIND_TEXTS.get(notice["kind"])
    if codes is None:
        return notice["title"], notice["message"]
    data = {k: v for k, v in (notice.get("data") or {}).items() if isinstance(k, str)}
    code, params = data.get("last_error_code"), data.get("last_error_params")
    if isinstance(code, str) and code:
        data["last_error"] = messages.message(
            code, params if isinstance(params, dict) else {}, lang
        )
    if not _NAMED[notice["kind"]] <= data.keys():
        return notice["title"], notice["message"]  # its data lacks what the text names
    return messages.message(codes[0], data, lang), messages.message(codes[1], data, lang)


def in_language(page: dict[str, Any], lang: str) -> dict[str, Any]:
    """A rendered notice (or a page of them) with Kartoteka's own notices in `lang`."""
    if "items" not in page:
        title, message = worded(page, lang)
        return {**page, "title": title, "message": message}
    return {**page, "items": [in_language(n, lang) for n in page["items"]]}


def list_notices(
    actor: Actor, unread: bool = False, limit: int = DEFAULT_LIMIT, before: int | None = None
) -> dict[str, Any]:
    """Newest notices first (only unread ones on request), with the count of unread ones."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.of("whole_number_range", "limit", max=MAX_LIMIT)
    t = schema.notices
    q = sa.select(t).where(_mine(actor)).order_by(t.c.id.desc()).limit(limit + 1)
    if unread:
        q = q.where(t.c.read_at.is_(None))
    if before is not None:
        q = q.where(t.c.id < before)
    with actor.workspace.engine.connect() as conn:
        rows = conn.execute(q).all()
        count = _unread(conn, actor)
    page = rows[:limit]
    return {
        "items": [render(r) for r in page],
        "unread": count,
        "next_before": page[-1].id if len(rows) > limit else None,
    }


def _unread(conn: Connection, actor: Actor) -> int:
    t = schema.notices
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.read_at.is_(None), _mine(actor))
        ).scalar_one()
    )


def stamp(conn: Connection) -> tuple[Any, Any]:
    """What changes whenever any notice is posted, read or pruned: the newest id and the
    latest reading time (two index lookups). The live feed checks a user's own notices
    only when it changed."""
    t = schema.notices
    newest = sa.select(sa.func.max(t.c.id)).scalar_subquery()
    read = sa.select(sa.func.max(t.c.read_at)).scalar_subquery()
    row = conn.execute(sa.select(newest, read)).one()
    return row[0], row[1]


def latest_state(actor: Actor) -> tuple[int, int]:
    """The newest notice id the actor may see (0: none) and how many are unread.

    The live feed compares it between wake-ups to tell a user's bell that something
    changed; it never carries another user's notices, as `_mine` decides.
    """
    t = schema.notices
    with actor.workspace.engine.connect() as conn:
        latest = conn.execute(sa.select(sa.func.max(t.c.id)).where(_mine(actor))).scalar()
        return int(latest or 0), _unread(conn, actor)


def unread_count(actor: Actor) -> int:
    """How many of the actor's notices nobody has read yet (the web UI's top bar shows it)."""
    with actor.workspace.engine.connect() as conn:
        return _unread(conn, actor)


def mark_read(actor: Actor, notice_id: int) -> dict[str, Any]:
    """Mark one notice read (marking it again keeps the first reader and time)."""
    t = schema.notices
    with actor.workspace.engine.begin() as conn:
        conn.execute(
            sa.update(t)
            .where(t.c.id == notice_id, t.c.read_at.is_(None), _mine(actor))
            .values(read_at=utcnow(), read_by=actor.user_id)
        )
        row = conn.execute(sa.select(t).where(t.c.id == notice_id, _mine(actor))).first()
    if row is None:
        raise NoticeNotFound.of("notice_not_found", None, id=notice_id)
    return render(row)


def mark_all_read(actor: Actor) -> dict[str, Any]:
    """Mark every unread notice of the actor read; returns how many were."""
    t = schema.notices
    with actor.workspace.engine.begin() as conn:
        done = conn.execute(
            sa.update(t)
            .where(t.c.read_at.is_(None), _mine(actor))
            .values(read_at=utcnow(), read_by=actor.user_id)
        ).rowcount
    return {"marked": int(done or 0)}


def prune_read(conn: Connection, older_than: datetime) -> int:
    """Delete notices read before `older_than`; unread ones are kept whatever their age."""
    t = schema.notices
    done = conn.execute(sa.delete(t).where(t.c.read_at.is_not(None), t.c.read_at < older_than))
    return int(done.rowcount or 0)
