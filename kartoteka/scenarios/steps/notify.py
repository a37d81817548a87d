"""`notify`: in-app notices for users (any user, not only administrators)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka.notices import service as notices
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from .. import records_port
from ..errors import StepFailed
from .base import Checker, StepKind, StepResult


def _ids(value: Any) -> list[int]:
    """User ids from a list of ids, user values ({"id": ...}) or a comma list."""
    items = value if isinstance(value, list) else [value]
    out: list[int] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, str):
            out += [int(p) for p in item.split(",") if p.strip().isdecimal()]
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
    return out


class NotifyUsers(StepKind):
    kind = "notify"
    keys = frozenset({"users", "groups", "title", "message", "level"})
    effect = "local"
    summary = "Post an in-app notice to `users` (ids, user fields) and members of `groups`."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        if not spec.get("users") and not spec.get("groups"):
            check.add(f"{where}.users", "scenario_notify_to")
        check.text(spec, "title", where)
        check.text(spec, "message", where, required=False)
        if spec.get("level", "info") not in notices.LEVELS:
            check.add(f"{where}.level", "scenario_one_of", allowed=", ".join(notices.LEVELS))

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        users = set(_ids(ctx.render("users", spec.get("users") or [])))
        groups = _ids(ctx.render("groups", spec.get("groups") or []))
        users |= records_port.group_members(ctx.ws, groups)
        users = _active(ctx.ws, users)
        if not users:
            raise StepFailed.of("step_notify_nobody")
        title = str(ctx.render("title", spec["title"]))[:200]
        message = str(ctx.render("message", spec.get("message") or ""))
        level = spec.get("level", "info")
        data = {"scenario": ctx.run.scenario_id, "run": ctx.run.id}
        if ctx.run.catalog_id and ctx.run.record_id:
            data.update(catalog=ctx.run.catalog_id, record_id=ctx.run.record_id)
        at = ctx.now

        def write(conn: Any) -> None:
            for user_id in sorted(users):
                notices.post(conn, "scenario.notify", title, message, level, data, at, user_id)

        return StepResult(output={"users": sorted(users)}, writes=[write])


def _active(ws: Any, users: set[int]) -> set[int]:
    if not users:
        return set()
    u = schema.users
    with read_connection(ws.engine) as conn:
        q = sa.select(u.c.id).where(u.c.id.in_(sorted(users)), u.c.active.is_(True))
        return {r[0] for r in conn.execute(q)}
