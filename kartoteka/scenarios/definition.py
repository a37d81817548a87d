"""Scenario definitions: validation with precise paths, and compilation to a flat program.

The step tree (conditions, loops, error and timeout branches) is compiled into a list
of instructions with jumps, so a run's position is one number (`pc`) that survives a
restart, and a new version of the scenario never moves a running instance.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from croniter import croniter

from kartoteka.context import Actor, Workspace
from kartoteka.errors import DomainError, problem
from kartoteka.records.query import compile_filter

from . import templates
from .conditions import record_part
from .durations import BadDuration, parse_duration, parse_time_of_day
from .errors import ScenarioInvalid
from .steps import KINDS
from .steps.base import COMMON_KEYS, Checker
from .triggers import RECORD_TRIGGERS

TRIGGER_TYPES = (*RECORD_TRIGGERS, "manual", "webhook", "schedule", "date")
TOP_KEYS = frozenset({"name", "description", "active", "trigger", "steps", "options"})
OPTION_KEYS = frozenset({"concurrency", "http_per_second", "max_depth", "retry"})
MAX_STEPS = 500
MAX_RETRY_ATTEMPTS = 10


def validate(ws: Workspace, body: Any, scenario_ids: frozenset[int] = frozenset()) -> dict:
    """A clean definition, or ScenarioInvalid naming every bad place."""
    if not isinstance(body, dict):
        raise ScenarioInvalid.of("scenario_object", "body")
    check = Checker(ws.meta(), scenario_ids=scenario_ids)
    for key in set(body) - TOP_KEYS:
        check.add(str(key)[:100], "scenario_unknown_key")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        check.add("name", "scenario_name", max=200)
    if "active" in body and not isinstance(body["active"], bool):
        check.add("active", "boolean")
    _check_trigger(ws, body.get("trigger"), check)
    _check_options(body.get("options"), check)
    steps = body.get("steps")
    count = [0]
    if not isinstance(steps, list):
        check.add("steps", "scenario_steps_list")
    else:
        _check_steps(steps, "steps", check, count)
    if count[0] > MAX_STEPS:
        check.add("steps", "scenario_steps_max", max=MAX_STEPS)
    if check.problems:
        raise ScenarioInvalid(errors=list(check.problems.values()))
    clean = {k: body[k] for k in TOP_KEYS if k in body}
    clean["name"] = name.strip()  # type: ignore[union-attr]
    clean.setdefault("active", True)
    clean.setdefault("options", {})
    return clean


def _check_options(options: Any, check: Checker) -> None:
    if options is None:
        return
    if not isinstance(options, dict):
        check.add("options", "scenario_must_be_object")
        return
    for key in set(options) - OPTION_KEYS:
        check.add(f"options.{key}", "scenario_unknown_option")
    for key in ("concurrency", "max_depth"):
        value = options.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            check.add(f"options.{key}", "scenario_whole_number")
        elif value is not None and not 1 <= value <= 1000:
            check.add(f"options.{key}", "scenario_between", min=1, max=1000)
    rate = options.get("http_per_second")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 10_000
    ):
        check.add("options.http_per_second", "scenario_rate", max=10_000)
    if options.get("retry") is not None:
        check_retry(options["retry"], "options.retry", check)


def check_retry(retry: Any, where: str, check: Checker) -> None:
    """A retry policy: {"attempts": 1..10, "delay": "PT5S", "factor": 1..10}."""
    if not isinstance(retry, dict) or set(retry) - {"attempts", "delay", "factor"}:
        check.add(where, "scenario_retry_shape")
        return
    attempts = retry.get("attempts", 1)
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        check.add(f"{where}.attempts", "scenario_whole_number")
    elif not 1 <= attempts <= MAX_RETRY_ATTEMPTS:
        check.add(f"{where}.attempts", "scenario_between", min=1, max=MAX_RETRY_ATTEMPTS)
    if "delay" in retry:
        try:
            if parse_duration(retry["delay"]).total_seconds() < 0:
                check.add(f"{where}.delay", "scenario_not_negative")
        except BadDuration as exc:
            check.add(f"{where}.delay", exc.code, **exc.params)
    factor = retry.get("factor", 2)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 1 <= factor <= 10:
        check.add(f"{where}.factor", "scenario_number_from_to", min=1, max=10)


def check_filter(ws: Workspace, catalog: Any, spec: Any, where: str, check: Checker) -> None:
    """A filter must compile against the catalog (`$` keys are variables, checked at run)."""
    if spec in (None, {}):
        return
    if not isinstance(spec, dict):
        check.add(where, "scenario_filter_object")
        return
    if catalog is None:
        return
    try:
        part = record_part(spec)
        if part:
            compile_filter(Actor.system(ws), catalog, part)
    except DomainError as exc:
        check.add_error(where, exc.first or problem("scenario_filter_object", message=exc.message))


def _check_trigger(ws: Workspace, trigger: Any, check: Checker) -> None:
    if not isinstance(trigger, dict):
        check.add("trigger", "scenario_trigger_required")
        return
    kind = trigger.get("type")
    if kind not in TRIGGER_TYPES:
        check.add("trigger.type", "scenario_one_of", allowed=", ".join(TRIGGER_TYPES))
        return
    allowed = {
        "record.created": {"catalog", "filter"},
        "record.updated": {"catalog", "fields", "filter", "when"},
        "record.saved": {"catalog", "fields", "filter", "when"},
        "record.deleted": {"catalog"},
        "manual": {"catalog"},
        "webhook": set(),
        "schedule": {"cron"},
        "date": {"catalog", "field", "offset", "at", "yearly", "filter"},
    }[kind]
    for key in set(trigger) - allowed - {"type"}:
        check.add(f"trigger.{key}", "scenario_trigger_unknown_key")
    catalog = None
    if "catalog" in allowed and (kind != "manual" or trigger.get("catalog") is not None):
        catalog = check.catalog(trigger.get("catalog"), "trigger.catalog")
    if "fields" in trigger:
        _check_field_list(catalog, trigger["fields"], check)
    if trigger.get("when", "became") not in ("became", "matches"):
        check.add("trigger.when", "scenario_either", first="became", second="matches")
    check_filter(ws, catalog, trigger.get("filter"), "trigger.filter", check)
    if kind == "schedule":
        cron = trigger.get("cron")
        if not isinstance(cron, str) or not croniter.is_valid(cron) or len(cron.split()) != 5:
            check.add("trigger.cron", "scenario_cron")
    if kind == "date":
        _check_date_trigger(catalog, trigger, check)


def _check_field_list(catalog: Any, fields: Any, check: Checker) -> None:
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        check.add("trigger.fields", "scenario_field_list")
        return
    for name in fields:
        if catalog is not None and name not in catalog.by_api_name:
            check.add("trigger.fields", "scenario_unknown_field", name=name)


def _stored_moment(field: Any) -> bool:
    """A date or datetime kept in a column of its own (a trigger scans that column)."""
    return field.ftype.value_kind in ("date", "datetime") and field.ftype.storage == "column"


def _check_date_trigger(catalog: Any, trigger: dict[str, Any], check: Checker) -> None:
    field = catalog.by_api_name.get(trigger.get("field")) if catalog is not None else None
    if catalog is not None and (field is None or not _stored_moment(field)):
        check.add("trigger.field", "scenario_date_field")
    try:
        parse_duration(trigger.get("offset", "P0D"))
    except BadDuration as exc:
        check.add("trigger.offset", exc.code, **exc.params)
    try:
        parse_time_of_day(trigger.get("at", "09:00"))
    except BadDuration as exc:
        check.add("trigger.at", exc.code, **exc.params)
    if not isinstance(trigger.get("yearly", False), bool):
        check.add("trigger.yearly", "boolean")


def _check_steps(steps: list[Any], where: str, check: Checker, count: list[int]) -> None:
    ids: set[str] = set()
    for i, step in enumerate(steps):
        here = f"{where}[{i}]"
        count[0] += 1
        if not isinstance(step, dict):
            check.add(here, "scenario_step_object")
            continue
        kind = KINDS.get(step.get("type"))  # type: ignore[arg-type]
        if kind is None:
            check.add(f"{here}.type", "scenario_one_of", allowed=", ".join(sorted(KINDS)))
            continue
        for key in set(step) - kind.keys - COMMON_KEYS - set(kind.branches):
            check.add(f"{here}.{key}", "scenario_step_unknown_key", kind=kind.kind)
        step_id = step.get("id")
        if step_id is not None and (not isinstance(step_id, str) or not step_id.strip()):
            check.add(f"{here}.id", "scenario_non_empty_string")
        elif step_id is not None:
            if step_id in ids:
                check.add(f"{here}.id", "scenario_step_id_twice", id=step_id)
            ids.add(step_id)
        if step.get("retry") is not None:
            check_retry(step["retry"], f"{here}.retry", check)
        kind.validate(step, here, check)
        for branch in (*kind.branches, "on_error"):
            child = step.get(branch)
            if child is None:
                continue
            if not isinstance(child, list):
                check.add(f"{here}.{branch}", "scenario_steps_list")
            else:
                _check_steps(child, f"{here}.{branch}", check, count)
        for key in kind.keys:
            if key in step and key not in ("filter",):
                templates.check_value(step[key], f"{here}.{key}", check)


# ----- compilation ------------------------------------------------------------------------
def compile_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flat program of a (validated) step tree; see `engine` for how it runs."""
    program: list[dict[str, Any]] = []
    _emit(program, steps, "steps")
    return program


def _emit(program: list[dict[str, Any]], steps: list[dict[str, Any]], where: str) -> None:
    for i, step in enumerate(steps):
        _emit_step(program, step, f"{where}[{i}]")


def _instr(program: list[dict[str, Any]], op: str, **extra: Any) -> dict[str, Any]:
    instr = {"op": op, "pc": len(program), **extra}
    program.append(instr)
    return instr


def _emit_step(program: list[dict[str, Any]], step: dict[str, Any], path: str) -> None:
    kind = step["type"]
    main = _instr(program, "step", kind=kind, spec=step, path=path)
    if kind == "condition":
        _emit(program, step.get("then") or [], f"{path}.then")
        skip = _instr(program, "jump", to=None)
        main["else_to"] = len(program)
        _emit(program, step.get("else") or [], f"{path}.else")
        skip["to"] = len(program)
    elif kind == "for_each":
        _emit(program, step.get("steps") or [], f"{path}.steps")
        _instr(program, "next", loop=main["pc"])
        main["end_to"] = len(program)
    elif kind == "wait" and step.get("on_timeout"):
        skip = _instr(program, "jump", to=None)
        main["timeout_to"] = len(program)
        _emit(program, step["on_timeout"], f"{path}.on_timeout")
        skip["to"] = len(program)
    if step.get("on_error"):
        skip = _instr(program, "jump", to=None)
        main["error_to"] = len(program)
        _emit(program, step["on_error"], f"{path}.on_error")
        skip["to"] = len(program)


_programs: OrderedDict[tuple[str, int, int], tuple[dict, list[dict[str, Any]]]] = OrderedDict()
_programs_lock = threading.Lock()


def program_of(ws_name: str, scenario_id: int, version: int, definition: dict) -> list[dict]:
    """The compiled program of one scenario version (versions never change: cached).

    The hit is used only for an equal definition: a workspace deleted and made again, a
    restored backup or a second instance in the same process reuse the same name, id and
    version for other steps (comparing is far cheaper than compiling)."""
    key = (ws_name, scenario_id, version)
    with _programs_lock:
        hit = _programs.get(key)
    if hit is not None and hit[0] == definition:
        return hit[1]
    program = compile_steps(definition.get("steps") or [])
    with _programs_lock:
        _programs[key] = (definition, program)
        _programs.move_to_end(key)
        while len(_programs) > 1000:
            _programs.popitem(last=False)
    return program
