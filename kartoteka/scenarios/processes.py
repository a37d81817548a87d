"""Stage-based processes: a select field whose moves are rules (Bitrix24 smart processes,
Frappe workflows).

A process is stored as the workspace setting `process:<catalog id>:<field>`:

    {"initial": ["Applied"],
     "transitions": [{"from": "Applied", "to": "Interview", "groups": [2],
                      "user_field": "recruiter"},
                     {"from": "*", "to": "Rejected"}],
     "required": {"Offer": ["salary"]},
     "approvals": {"Offer": {"field": "approved_by", "count": 2, "group": 3}}}

Every write goes through `check` (a before-write hook): a move not listed is refused;
who may make it is the listed groups or the users in the record's `user_field`
(administrators and scenarios may make any listed move); entering a stage needs its
required fields filled and its approvals given (at least `count` users of `group` in
the record's user field `field`). A refusal is `422 REJECTED` naming the rule.
"""

from __future__ import annotations

from typing import Any

from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Forbidden, ItemError, Rejected, problem
from kartoteka.records.hooks import PendingChange

from . import records_port
from .errors import ScenarioInvalid, ScenarioNotFound

PREFIX = "process:"
KEYS = frozenset({"initial", "transitions", "required", "approvals"})


def _key(catalog: Catalog, field: str) -> str:
    return f"{PREFIX}{catalog.id}:{field}"


def processes_of(ws: Workspace, catalog: Catalog) -> dict[str, dict[str, Any]]:
    """The processes of a catalog, by field api_name."""
    prefix = f"{PREFIX}{catalog.id}:"
    return {
        key[len(prefix) :]: value
        for key, value in ws.meta().settings.items()
        if key.startswith(prefix) and isinstance(value, dict)
    }


# ----- the administrators' API ---------------------------------------------------------
def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden.of("processes_admin_only")


def _field(actor: Actor, catalog_ref: str, field: str) -> tuple[Catalog, Any]:
    catalog = catalogs.get_catalog(actor, catalog_ref)
    f = catalog.by_api_name.get(field)
    if f is None or not f.ftype.has_choices or f.options.get("multiple"):
        raise ScenarioInvalid.of("process_field", "field")
    return catalog, f


def list_processes(actor: Actor) -> list[dict[str, Any]]:
    """Every process of the workspace."""
    _require_admin(actor)
    meta = actor.workspace.meta()
    out = []
    for catalog in meta.catalogs:
        for field, spec in sorted(processes_of(actor.workspace, catalog).items()):
            out.append({"catalog": catalog.api_name, "field": field, **spec})
    return out


def set_process(actor: Actor, catalog_ref: str, field: str, body: Any) -> dict[str, Any]:
    """Declare (or replace) the process on a select field."""
    _require_admin(actor)
    catalog, f = _field(actor, catalog_ref, field)
    clean = _clean(catalog, f, body)
    catalogs.set_setting(actor, _key(catalog, field), clean)
    return {"catalog": catalog.api_name, "field": field, **clean}


def delete_process(actor: Actor, catalog_ref: str, field: str) -> None:
    """The field is a plain select again."""
    _require_admin(actor)
    catalog, _ = _field(actor, catalog_ref, field)
    if field not in processes_of(actor.workspace, catalog):
        raise ScenarioNotFound.of("process_not_found", None, catalog=catalog.api_name, field=field)
    catalogs.set_setting(actor, _key(catalog, field), None)


def _labels(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def transitions_to(process: dict[str, Any], old: Any, new: Any) -> list[dict[str, Any]]:
    """The process's moves from stage `old` (or from any, `*`) to `new`."""
    return [
        t
        for t in process.get("transitions", [])
        if t["to"] == new and ("*" in _labels(t["from"]) or old in _labels(t["from"]))
    ]


def _clean(catalog: Catalog, field: Any, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ScenarioInvalid.of("process_object", "body")
    stages = {c["label"] for c in field.options.get("choices") or []}
    errors: dict[str, ItemError] = {}
    for key in set(body) - KEYS:
        _note(errors, str(key)[:100], "scenario_unknown_key")
    for i, label in enumerate(_labels(body.get("initial") or [])):
        if label not in stages:
            _note(errors, f"initial[{i}]", "process_unknown_stage", stage=label)
    transitions = body.get("transitions")
    if not isinstance(transitions, list) or not transitions:
        _note(errors, "transitions", "process_transitions")
        transitions = []
    for i, t in enumerate(transitions):
        _check_transition(catalog, stages, t, f"transitions[{i}]", errors)
    required = body.get("required") or {}
    if not isinstance(required, dict):
        _note(errors, "required", "process_required_map")
        required = {}
    for stage, names in required.items():
        if stage not in stages:
            _note(errors, f"required.{stage}", "process_unknown_stage", stage=stage)
        for name in names if isinstance(names, list) else [None]:
            if name not in catalog.by_api_name:
                _note(errors, f"required.{stage}", "scenario_unknown_field", name=name)
    approvals = body.get("approvals") or {}
    if not isinstance(approvals, dict):
        _note(errors, "approvals", "process_approvals_map")
        approvals = {}
    for stage, rule in approvals.items():
        _check_approval(catalog, stages, stage, rule, errors)
    if errors:
        raise ScenarioInvalid(errors=list(errors.values()))
    return {k: body[k] for k in KEYS if k in body}


def _note(errors: dict[str, ItemError], where: str, code: str, /, **params: Any) -> None:
    """Note one problem at `where` (a later one about the same place replaces it)."""
    errors[where] = problem(code, where, **params)


def _check_transition(
    catalog: Catalog, stages: set[str], t: Any, where: str, errors: dict[str, ItemError]
) -> None:
    if not isinstance(t, dict) or "to" not in t or "from" not in t:
        _note(errors, where, "process_transition_shape")
        return
    for label in _labels(t["from"]):
        if label != "*" and label not in stages:
            _note(errors, f"{where}.from", "process_unknown_stage", stage=label)
    if t["to"] not in stages:
        _note(errors, f"{where}.to", "process_unknown_stage", stage=t["to"])
    groups = t.get("groups")
    if groups is not None and not (
        isinstance(groups, list) and all(isinstance(g, int) for g in groups)
    ):
        _note(errors, f"{where}.groups", "process_groups")
    user_field = t.get("user_field")
    if user_field is not None:
        f = catalog.by_api_name.get(user_field)
        if f is None or not _user_field(f):
            _note(errors, f"{where}.user_field", "process_user_field")


def _user_field(field: Field) -> bool:
    """A field holding users that people set (not `created_by`/`updated_by`)."""
    return field.ftype.references == "users" and not field.ftype.read_only


def _check_approval(
    catalog: Catalog, stages: set[str], stage: str, rule: Any, errors: dict[str, ItemError]
) -> None:
    where = f"approvals.{stage}"
    if stage not in stages:
        _note(errors, where, "process_unknown_stage", stage=stage)
    if not isinstance(rule, dict):
        _note(errors, where, "process_approval_shape")
        return
    f = catalog.by_api_name.get(str(rule.get("field")))
    if f is None or not _user_field(f):
        _note(errors, f"{where}.field", "process_approval_field")
    count = rule.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        _note(errors, f"{where}.count", "process_count")


# ----- the write hook ------------------------------------------------------------------
def _label(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("label")
    return value


def _user_ids(value: Any) -> set[int]:
    items = value if isinstance(value, list) else [value]
    out = set()
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, int):
            out.add(item)
    return out


def check(actor: Actor, catalog: Catalog, changes: list[PendingChange]) -> None:
    """Refuse writes that break a process of the catalog (a before-write hook)."""
    for field, process in processes_of(actor.workspace, catalog).items():
        for change in changes:
            if change.action != "delete" and field in change.values:
                _check_move(actor, catalog, field, process, change)


def _interested(actor: Actor, catalog: Catalog) -> bool:
    return bool(processes_of(actor.workspace, catalog))


check.interested = _interested  # type: ignore[attr-defined]


def _refuse(field: str, change: PendingChange, code: str, /, **params: Any) -> Rejected:
    """A veto naming the item and field it refused; the template starts with the field."""
    error = ItemError(change.where or None, change.index, field, code, {"field": field, **params})
    return Rejected(errors=[error], field=field)


def _check_move(
    actor: Actor, catalog: Catalog, field: str, process: dict[str, Any], change: PendingChange
) -> None:
    new = _label(change.values.get(field))
    old = _label(change.previous.get(field)) if change.action == "update" else None
    if new == old:
        return
    current: dict[str, Any] = {}
    if change.action == "update" and change.record_id is not None:
        found = records_port.get(Actor.system(actor.workspace), catalog.id, change.record_id)
        current = dict(found["values"]) if found else {}
    after = {**current, **change.values}
    if change.action == "create":
        initial = _labels(process.get("initial") or [])
        if initial and new not in initial:
            raise _refuse(field, change, "process_initial", stages=", ".join(map(str, initial)))
    elif new is not None:
        _check_transition_allowed(actor, field, process, old, new, current, change)
    if new is None:
        return
    missing = [
        name
        for name in process.get("required", {}).get(new, [])
        if after.get(name) in (None, "", [], {})
    ]
    if missing:
        raise _refuse(field, change, "process_needs", stage=new, missing=", ".join(missing))
    rule = process.get("approvals", {}).get(new)
    if rule:
        _check_approvals(actor, field, new, rule, after, change)


def _check_transition_allowed(
    actor: Actor,
    field: str,
    process: dict[str, Any],
    old: Any,
    new: Any,
    current: dict[str, Any],
    change: PendingChange,
) -> None:
    moves = transitions_to(process, old, new)
    if not moves:
        allowed = sorted(
            {
                t["to"]
                for t in process.get("transitions", [])
                if (old in _labels(t["from"]) or "*" in _labels(t["from"])) and t["to"] != old
            }
        )
        if allowed:
            raise _refuse(
                field, change, "process_move_hint", old=old, new=new, allowed=", ".join(allowed)
            )
        raise _refuse(field, change, "process_move", old=old, new=new)
    if actor.is_admin or actor.user_id is None:
        return  # administrators and scenarios may make any listed move
    for move in moves:
        groups = move.get("groups")
        user_field = move.get("user_field")
        if groups is None and user_field is None:
            return
        if groups and actor.group_ids.intersection(groups):
            return
        if user_field and actor.user_id in _user_ids(current.get(user_field)):
            return
    raise _refuse(field, change, "process_move_forbidden", old=old, new=new)


def _check_approvals(
    actor: Actor,
    field: str,
    stage: str,
    rule: dict[str, Any],
    after: dict[str, Any],
    change: PendingChange,
) -> None:
    approvers = _user_ids(after.get(rule["field"]))
    group = rule.get("group")
    if group is not None:
        approvers &= records_port.group_members(actor.workspace, [int(group)])
    if len(approvers) < int(rule["count"]):
        raise _refuse(
            field,
            change,
            "process_approvals",
            stage=stage,
            count=rule["count"],
            approvers=rule["field"],
            has=len(approvers),
        )
