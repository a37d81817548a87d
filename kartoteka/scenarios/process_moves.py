"""Where a record may go next in a stage-based process, asked before a move (the board
dims the columns a card may not go to; the card's editor offers only allowed stages).

The answer mirrors `processes.check`, the write hook that decides: a move not listed,
a move this user may not make, required fields left empty, approvals missing. It is a
value per stage (a code and parameters, never text), so the UI words it in the reader's
language; the write hook still has the last word on every write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kartoteka.context import Actor

from . import records_port
from .processes import _label, _labels, _user_ids, transitions_to

#: The move is not in the process's transitions.
NOT_LISTED = "not_listed"
#: The move is listed, but not for this user (groups, the record's user field).
NOT_YOURS = "not_yours"
#: The stage needs fields the record has empty (`params["fields"]`).
NEEDS_FIELDS = "needs_fields"
#: The stage needs more approvals (`params["count"]`, `params["has"]`, `params["field"]`).
NEEDS_APPROVALS = "needs_approvals"
#: A move the user cannot make at all (the others can be made by filling the record in).
BLOCKING = frozenset({NOT_LISTED, NOT_YOURS})


@dataclass(frozen=True)
class Move:
    """Moving one record to `stage`: `code` is None when the move would be accepted."""

    stage: str
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        """Whether no change of the record's values makes this move possible."""
        return self.code in BLOCKING


class Approvers:
    """Members of approval groups, read once per board rather than once per card."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self._members: dict[int, set[int]] = {}

    def of(self, group: int) -> set[int]:
        """The users of `group`."""
        if group not in self._members:
            self._members[group] = records_port.group_members(self.actor.workspace, [group])
        return self._members[group]


def stage_of(values: dict[str, Any], field_name: str) -> Any:
    """The record's current stage label (None when empty)."""
    return _label(values.get(field_name))


def moves(
    actor: Actor,
    process: dict[str, Any],
    stages: list[str],
    current: Any,
    values: dict[str, Any],
    approvers: Approvers | None = None,
) -> list[Move]:
    """For every stage but the current one: whether the actor may move the record there."""
    approvers = approvers or Approvers(actor)
    return [
        _move(actor, process, stage, current, values, approvers)
        for stage in stages
        if stage != current
    ]


def next_stages(process: dict[str, Any], current: Any) -> list[str]:
    """The stages the process lists as moves from `current`."""
    out: list[str] = []
    for t in process.get("transitions", []):
        source = _labels(t["from"])
        if (current in source or "*" in source) and t["to"] not in (current, *out):
            out.append(t["to"])
    return out


def _move(
    actor: Actor,
    process: dict[str, Any],
    stage: str,
    current: Any,
    values: dict[str, Any],
    approvers: Approvers,
) -> Move:
    listed = transitions_to(process, current, stage)
    if not listed:
        return Move(stage, NOT_LISTED, {"from": current, "allowed": next_stages(process, current)})
    if not _may_make(actor, listed, values):
        return Move(stage, NOT_YOURS, {"from": current})
    missing = [
        name
        for name in process.get("required", {}).get(stage, [])
        if values.get(name) in (None, "", [], {})
    ]
    if missing:
        return Move(stage, NEEDS_FIELDS, {"fields": missing})
    rule = process.get("approvals", {}).get(stage)
    if rule:
        given = _user_ids(values.get(rule["field"]))
        if rule.get("group") is not None:
            given &= approvers.of(int(rule["group"]))
        if len(given) < int(rule["count"]):
            params = {"count": int(rule["count"]), "has": len(given), "field": rule["field"]}
            return Move(stage, NEEDS_APPROVALS, params)
    return Move(stage)


def _may_make(actor: Actor, listed: list[dict[str, Any]], values: dict[str, Any]) -> bool:
    """The write hook's rule: administrators and scenarios may make any listed move."""
    if actor.is_admin or actor.user_id is None:
        return True
    for move in listed:
        groups, user_field = move.get("groups"), move.get("user_field")
        if groups is None and user_field is None:
            return True
        if groups and actor.group_ids.intersection(groups):
            return True
        if user_field and actor.user_id in _user_ids(values.get(user_field)):
            return True
    return False
