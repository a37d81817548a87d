"""The scenario editor's vocabulary: trigger and step kinds with their forms, run states,
and the JSON the editor's script gets (`frontend/scenarios.js`).

The forms are data, not templates: one list of inputs per step kind, each naming the
step key it edits. The script draws a step's form from it, so a step kind's form is one
entry here, and the labels are translated here, on the server, in the page's language.
The service validates every definition; this module only reads the posted JSON.
"""

from __future__ import annotations

from typing import Any

import orjson

from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import list_catalogs
from kartoteka.context import Actor
from kartoteka.errors import DomainError

from . import i18n, widgets
from .i18n import N_, _

TRIGGERS = {
    "record.created": N_("A record is created"),
    "record.updated": N_("A record is changed"),
    "record.saved": N_("A record is created or changed"),
    "record.deleted": N_("A record is deleted"),
    "schedule": N_("On a schedule"),
    "date": N_("A date field reaches a moment"),
    "webhook": N_("An incoming HTTP call"),
    "manual": N_("By hand (a button on the record)"),
}
#: Trigger types that read a catalog's records.
CATALOG_TRIGGERS = ("record.created", "record.updated", "record.saved", "record.deleted", "date")

KINDS = {
    "condition": N_("Condition"),
    "set": N_("Set variables"),
    "create_record": N_("Create a record"),
    "update_record": N_("Update a record"),
    "delete_record": N_("Delete a record"),
    "find_records": N_("Find records"),
    "for_each": N_("For each record"),
    "wait": N_("Wait"),
    "http": N_("HTTP request"),
    "email": N_("Send an e-mail"),
    "notify": N_("Notify users"),
    "comment": N_("Comment on the record"),
    "call": N_("Call another scenario"),
    "stop": N_("Stop"),
}
BRANCHES = {
    "then": N_("Then"),
    "else": N_("Else"),
    "steps": N_("For each item"),
    "on_timeout": N_("On timeout"),
    "on_error": N_("On error"),
}
STATUSES = {
    "queued": N_("queued"),
    "running": N_("running"),
    "waiting": N_("waiting"),
    "done": N_("done"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
    "skipped": N_("skipped"),
    "recorded": N_("recorded, not sent"),
}

TEMPLATE_HINT = N_("A template: {{ record.name }}, {{ vars.total }}, {{ steps.id.status }}.")
#: One input: (step key, label, input kind, hint). Kinds: text, template, textarea, number,
#: json, catalog, select:<a|b|c>, check, list (comma-separated), numbers, scenario.
Input = tuple[str, str, str, str]
RECORD_TARGET: list[Input] = [
    ("catalog", N_("Catalog (empty: the run's record)"), "catalog", ""),
    ("record", N_("Record id (empty: the run's record)"), "template", TEMPLATE_HINT),
]
VALUES_HINT = N_("Each value is a template: {{ record.amount }}, Won, {{ vars.total }}.")
CONDITION_HINT = N_('In JSON, $ keys test variables: {"$vars.total": {"gt": 1000}}.')
FIND_HINT = N_('Values may be templates: {"client": {"eq": "{{ record.id }}"}}.')
FORMS: dict[str, list[Input]] = {
    "condition": [("filter", N_("Condition"), "filter", CONDITION_HINT)],
    "set": [("vars", N_("Variables"), "json", N_('{"total": {"expr": "record.amount * 1.2"}}'))],
    "create_record": [
        ("catalog", N_("Catalog"), "catalog", ""),
        ("values", N_("Values"), "values", VALUES_HINT),
        ("into", N_("Keep the record in variable"), "text", ""),
    ],
    "update_record": [*RECORD_TARGET, ("values", N_("Values"), "values", VALUES_HINT)],
    "delete_record": RECORD_TARGET,
    "find_records": [
        ("catalog", N_("Catalog"), "catalog", ""),
        ("filter", N_("Filter"), "filter", FIND_HINT),
        ("sort", N_("Sort"), "list", N_("api_names, - for descending: -amount")),
        ("limit", N_("At most"), "number", ""),
        ("into", N_("Keep the list in variable"), "text", ""),
    ],
    "for_each": [
        ("catalog", N_("Catalog"), "catalog", ""),
        ("filter", N_("Filter"), "filter", ""),
        ("items", N_("Or the items of"), "template", N_("{{ vars.deals }}")),
        ("as", N_("Name of the item"), "text", ""),
    ],
    "wait": [
        ("duration", N_("For"), "text", N_("ISO 8601: PT10M, P1DT2H, P7D.")),
        ("until", N_("Until"), "template", N_("A date or date-time: {{ record.due }}.")),
        ("until_filter", N_("Until the record matches"), "filter", ""),
        ("timeout", N_("Timeout"), "text", N_("ISO 8601, 30 days when empty.")),
    ],
    "http": [
        ("method", N_("Method"), "select:GET|POST|PUT|PATCH|DELETE", ""),
        ("url", N_("URL"), "template", TEMPLATE_HINT),
        ("headers", N_("Headers"), "json", N_('{"Authorization": "Bearer ..."}')),
        ("json", N_("JSON body"), "json", N_("Strings in it are templates.")),
        ("body", N_("Text body"), "textarea", N_("Instead of a JSON body.")),
        ("timeout", N_("Timeout, seconds"), "number", ""),
        ("ok", N_("Good statuses"), "numbers", N_("Any 2xx when empty: 200, 201.")),
        ("into", N_("Keep the answer in variable"), "text", ""),
    ],
    "email": [
        ("to", N_("Send to"), "template", TEMPLATE_HINT),
        ("cc", N_("Copy to"), "list", N_("Addresses, comma-separated.")),
        ("subject", N_("Subject"), "template", ""),
        ("text", N_("Text"), "textarea", TEMPLATE_HINT),
        ("html", N_("HTML"), "textarea", N_("Values are HTML-escaped.")),
    ],
    "notify": [
        ("users", N_("Users"), "template", N_("{{ record.manager }} or user ids.")),
        ("groups", N_("Groups"), "numbers", N_("Group ids: 3, 5.")),
        ("title", N_("Title"), "template", ""),
        ("message", N_("Message"), "textarea", ""),
        ("level", N_("Level"), "select:info|warning|error", ""),
    ],
    "comment": [("text", N_("Text"), "textarea", TEMPLATE_HINT), *RECORD_TARGET],
    "call": [
        ("scenario", N_("Scenario"), "scenario", ""),
        ("vars", N_("Variables"), "json", ""),
        ("wait", N_("Wait until it ends"), "check", ""),
        *RECORD_TARGET,
    ],
    "stop": [
        ("status", N_("End as"), "select:success|error", ""),
        ("message", N_("Message"), "template", ""),
    ],
}
BRANCHES_OF: dict[str, list[str]] = {
    "condition": ["then", "else"],
    "for_each": ["steps"],
    "wait": ["on_timeout"],
}
COMMON: list[Input] = [
    ("id", N_("Step name (for steps.name)"), "text", ""),
    ("note", N_("Note"), "text", ""),
]
STRINGS = {
    "add": N_("Add a step"),
    "kind": N_("Step kind"),
    "up": N_("Move up"),
    "down": N_("Move down"),
    "move_out": N_("Move out of the branch (Alt+←)"),
    "move_into": N_("Move into the step above (Alt+→)"),
    "move_to": N_("Move to…"),
    "move_to_label": N_("Move the step to the end of"),
    "move_top": N_("the scenario's own steps"),
    "move": N_("Move"),
    "cancel": N_("Cancel"),
    "delete": N_("Delete the step"),
    "retry": N_("Retries"),
    "attempts": N_("Attempts"),
    "delay": N_("First pause"),
    "factor": N_("Pause grows ×"),
    "on_error_add": N_("Add an error branch"),
    "json_invalid": N_("Not valid JSON."),
    "json_fix": N_("Correct the JSON on the JSON tab first."),
    "no_steps": N_("No steps yet — add the first one."),
    "empty_branch": N_("No steps."),
    "steps_count": N_("Steps"),
    "collapse": N_("Show or hide the step"),
    "none": N_("(none)"),
    "any_field": N_("Any field"),
    "view": N_("Edit as"),
    "tab_visual": N_("Steps editor"),
    "name": N_("Name"),
    "description": N_("Description"),
    "active": N_("Active: triggers start it"),
    "trigger": N_("Trigger"),
    "trigger_type": N_("Starts when"),
    "catalog": N_("Catalog"),
    "cron": N_("Schedule (cron)"),
    "cron_hint": N_("5 fields in the workspace time zone: 0 9 * * 1-5 is 09:00 on weekdays."),
    "webhook_hint": N_("After saving, the address and its token are shown below."),
    "when": N_("With a filter"),
    "when_became": N_("only when the record starts to match it"),
    "when_matches": N_("whenever the changed record matches it"),
    "fields": N_("Only when one of these fields changes"),
    "fields_hint": N_("None ticked: every change."),
    "date_field": N_("Date field"),
    "offset": N_("Offset"),
    "offset_hint": N_("ISO 8601: -P3D is three days before, PT1H an hour after."),
    "at": N_("At (time of day)"),
    "yearly": N_("Every year (birthdays)"),
    "filter": N_("Only records that match"),
    "filter_hint": N_("Without conditions every record of the catalog counts."),
    "options": N_("Options"),
    "concurrency": N_("Runs at once, at most"),
    "http_per_second": N_("HTTP calls per second, at most"),
    "max_depth": N_("Self-triggering depth limit"),
    "build": N_("Conditions"),
    "as_json": N_("JSON"),
    "not_buildable": N_("This filter has parts the builder cannot show: edit it as JSON."),
    "add_value": N_("Add a field"),
    "field": N_("Field"),
    "value_of": N_("Value of %(field)s"),
    "remove": N_("Remove"),
    "names": N_("Values for templates"),
    "names_record": N_("the run's record: a field's value"),
    "names_previous": N_("the old value of a changed field"),
    "names_vars": N_("a variable (set, into, a call's vars)"),
    "names_steps": N_("the output of the step with that name"),
    "names_user": N_("who made the change or started the run"),
    "names_now": N_("now (UTC) and today (workspace time zone)"),
    "names_expr": N_("arithmetic instead of a template"),
}


def _labels(table: dict[str, str]) -> dict[str, str]:
    return {k: _(v) for k, v in table.items()}


def _form(inputs: list[Input]) -> list[dict[str, str]]:
    # `_("")` would be the catalogue's header: an empty hint stays empty.
    return [
        {"key": k, "label": _(label), "input": kind, "hint": _(hint) if hint else ""}
        for k, label, kind, hint in inputs
    ]


def catalogs_of(actor: Actor) -> list[Catalog]:
    """The catalogs a scenario may name (the actor is an administrator)."""
    return list_catalogs(actor)


def editor_config(
    actor: Actor, scenarios: list[dict[str, Any]], errors: dict[str, str]
) -> dict[str, Any]:
    """Everything the editor's script needs, in the page's language."""
    catalogs = catalogs_of(actor)
    return {
        "catalogs": {
            c.api_name: {
                "name": c.name,
                "fields": widgets.catalog_fields(actor, c),
                "hops": widgets.hop_fields(actor, c),
            }
            for c in catalogs
        },
        "operators": widgets.operator_labels(),
        "triggers": _labels(TRIGGERS),
        "catalog_triggers": list(CATALOG_TRIGGERS),
        "kinds": _labels(KINDS),
        "forms": {k: _form(v) for k, v in FORMS.items()},
        "common": _form(COMMON),
        "branches": _labels(BRANCHES),
        "branches_of": BRANCHES_OF,
        "scenarios": [{"id": s["id"], "name": s["name"]} for s in scenarios],
        "strings": _labels(STRINGS),
        "errors": errors,
    }


def definition_from_text(text: str) -> tuple[Any, dict[str, str]]:
    """The posted definition, or the error of its JSON (key `definition`)."""
    try:
        return orjson.loads(text or "null"), {}
    except orjson.JSONDecodeError as exc:
        return None, {"definition": _("Not valid JSON: %(reason)s", reason=str(exc))}


def errors_of(exc: DomainError) -> dict[str, str]:
    """Place (`steps[2].url`) -> the reason in the page's language."""
    lang = i18n.current_lang.get()
    fields = getattr(exc, "fields_in", None)
    found = fields(lang) if fields is not None else {}
    return found or {"definition": exc.text(lang)}


def record_id_error() -> str:
    """The test form's record is not a number."""
    return _("Enter the record's number (its id).")


def record_missing_error() -> str:
    """The test form's record does not exist in the trigger's catalog."""
    return _("There is no such record in the scenario's catalog.")


def trigger_summary(trigger: dict[str, Any] | None, catalog_names: dict[str, str]) -> str:
    """A trigger in a few words for the list: "A record is changed · Deals · stage"."""
    if not trigger:
        return ""
    parts = [_(TRIGGERS.get(trigger.get("type", ""), trigger.get("type", "")))]
    if trigger.get("catalog"):
        parts.append(catalog_names.get(trigger["catalog"], str(trigger["catalog"])))
    if trigger.get("fields"):
        parts.append(", ".join(str(f) for f in trigger["fields"]))
    if trigger.get("cron"):
        parts.append(str(trigger["cron"]))
    if trigger.get("field"):
        offset = f" {trigger['offset']}" if trigger.get("offset") else ""
        parts.append(f"{trigger['field']}{offset}")
    return " · ".join(parts)


def step_title(step: dict[str, Any]) -> str:
    """A trace row's heading: the kind's name and the step's own name."""
    kind = _(KINDS.get(step.get("kind") or "", step.get("kind") or ""))
    return f"{kind} · {step['id']}" if step.get("id") else kind


def pretty(value: Any) -> str:
    """JSON for people: indented, non-ASCII kept."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
