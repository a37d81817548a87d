"""Stage-based processes in the UI: what the kanban and the card say about a record's
next stages, worded in the reader's language from `scenarios.process_moves`.

A board card carries, per column it may not simply go to, the reason (and the fields
a stage needs, so the card opens with them marked); the card's select editor offers
only the stages a move can reach. The write hook still decides every write.
"""

from __future__ import annotations

from typing import Any

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.scenarios import process_moves as pm
from kartoteka.scenarios.processes import processes_of

from .i18n import _


def process_of(actor: Actor, catalog: Catalog, field: Field) -> dict[str, Any] | None:
    """The process declared on a single-choice select field, if any."""
    if not field.ftype.has_choices or field.options.get("multiple"):
        return None
    return processes_of(actor.workspace, catalog).get(field.api_name)


def _stage_text(stage: Any) -> str:
    return str(stage) if stage not in (None, "") else _("No value")


def _names(catalog: Catalog, api_names: list[str]) -> str:
    found = [catalog.by_api_name.get(n) for n in api_names]
    return ", ".join(f.name if f is not None else n for f, n in zip(found, api_names, strict=True))


def reason(catalog: Catalog, move: pm.Move) -> str:
    """Why a move cannot be made as the record is, in the reader's language."""
    p, to = move.params, _stage_text(move.stage)
    if move.code == pm.NOT_LISTED:
        allowed = ", ".join(map(_stage_text, p["allowed"]))
        old = _stage_text(p["from"])
        if allowed:
            return _(
                "“%(to)s” cannot follow “%(old)s”. Next stages: %(stages)s.",
                to=to,
                old=old,
                stages=allowed,
            )
        return _("“%(to)s” cannot follow “%(old)s”.", to=to, old=old)
    if move.code == pm.NOT_YOURS:
        return _(
            "You may not move a record from “%(old)s” to “%(to)s”.",
            to=to,
            old=_stage_text(p["from"]),
        )
    if move.code == pm.NEEDS_FIELDS:
        return _("“%(stage)s” needs: %(fields)s.", stage=to, fields=_names(catalog, p["fields"]))
    return approvals_text(catalog, move)


def approvals_text(catalog: Catalog, move: pm.Move) -> str:
    """'“Offer” needs 2 approvals in “Approved by” (has 1).'"""
    p = move.params
    return _(
        "“%(stage)s” needs %(count)s approvals in “%(field)s” (has %(has)s).",
        stage=_stage_text(move.stage),
        count=p["count"],
        field=_names(catalog, [p["field"]]),
        has=p["has"],
    )


class BoardProcess:
    """The process of a kanban's group field, judged card by card."""

    def __init__(self, actor: Actor, catalog: Catalog, field: Field, process: dict[str, Any]):
        self.actor, self.catalog, self.field, self.process = actor, catalog, field, process
        choices = field.options.get("choices") or []
        self.stages = [c["label"] for c in choices]
        self.keys = {c["label"]: str(c["id"]) for c in choices}
        self.approvers = pm.Approvers(actor)

    def card(self, record: dict[str, Any]) -> dict[str, Any]:
        """`moves` (column key -> reason, `blocked`, `need`) and `pending` approval texts."""
        values = record["values"]
        current = pm.stage_of(values, self.field.api_name)
        reachable = set(pm.next_stages(self.process, current))
        out: dict[str, Any] = {}
        pending: list[str] = []
        for move in pm.moves(
            self.actor, self.process, self.stages, current, values, self.approvers
        ):
            if move.code is None:
                continue
            entry: dict[str, Any] = {"reason": reason(self.catalog, move)}
            if move.blocked:
                entry["blocked"] = True
            if move.code == pm.NEEDS_FIELDS:
                entry["need"] = list(move.params["fields"])
            if move.code == pm.NEEDS_APPROVALS and move.stage in reachable:
                pending.append(approvals_text(self.catalog, move))
            out[self.keys[move.stage]] = entry
        return {"moves": out, "pending": pending}


def board(actor: Actor, catalog: Catalog, field: Field) -> BoardProcess | None:
    """The kanban's process judge, when its group field is a process."""
    process = process_of(actor, catalog, field)
    return BoardProcess(actor, catalog, field, process) if process else None


def card_stage_choices(
    actor: Actor, catalog: Catalog, values: dict[str, Any] | None
) -> dict[str, set[str]]:
    """Per process field: the choice ids the card's editor offers — for a record, its
    stage and those a move can reach (even if fields or approvals are still missing);
    for a new record (`values` None), the process's first stages when it names them."""
    out: dict[str, set[str]] = {}
    for name, process in processes_of(actor.workspace, catalog).items():
        field = catalog.by_api_name.get(name)
        if field is None:
            continue
        judge = BoardProcess(actor, catalog, field, process)
        if values is None:
            initial = process.get("initial") or []
            firsts = initial if isinstance(initial, list) else [initial]
            if firsts:
                out[name] = {judge.keys[s] for s in firsts if s in judge.keys}
            continue
        current = pm.stage_of(values, name)
        allowed = {judge.keys[current]} if current in judge.keys else set()
        for move in pm.moves(actor, process, judge.stages, current, values, judge.approvers):
            if not move.blocked:
                allowed.add(judge.keys[move.stage])
        out[name] = allowed
    return out


def card_pending(actor: Actor, catalog: Catalog, record: dict[str, Any]) -> dict[str, list[str]]:
    """Per process field: the approvals the record's next stages still wait for."""
    out: dict[str, list[str]] = {}
    for name, process in processes_of(actor.workspace, catalog).items():
        field = catalog.by_api_name.get(name)
        if field is not None:
            pending = BoardProcess(actor, catalog, field, process).card(record)["pending"]
            if pending:
                out[name] = pending
    return out
