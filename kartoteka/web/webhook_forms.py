"""The webhook designer's form: posted fields to the service's spec, its messages in the
reader's language, and what the page's script needs per catalog (fields, filter builder).

The service validates; this module only reads the form (a typo in a number becomes the
same `fields` error the service would give) and translates the service's English
reasons, so an error shows next to the input that caused it, in Russian or English.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.datastructures import FormData

from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import list_catalogs
from kartoteka.context import Actor
from kartoteka.webhooks.errors import WebhookInvalid
from kartoteka.webhooks.service import EVENTS, MAX_BATCH_SIZE

from . import widgets
from .i18n import N_, _

KINDS = {
    "notify": N_("Notify: tell another system after a change"),
    "request": N_("Request: ask another system before a save (it may refuse)"),
    "action": N_("Action: fill the card while a user edits it"),
}
KIND_NAMES = {"notify": N_("notify"), "request": N_("request"), "action": N_("action")}
EVENT_LABELS = {
    "record.created": N_("a record is created"),
    "record.updated": N_("a record is changed"),
    "record.deleted": N_("a record is deleted"),
    "record.merged": N_("records are merged into one"),
    "import.completed": N_("an import is finished"),
    "record.before_create": N_("before a record is created"),
    "record.before_update": N_("before a record is changed"),
    "record.before_delete": N_("before a record is deleted"),
    "record.editing": N_("while a card is edited"),
}
STATUS_LABELS = {
    "pending": N_("pending"),
    "done": N_("delivered"),
    "failed": N_("failed"),
    "skipped": N_("skipped"),
}

#: The service's English reasons (`WebhookInvalid.fields`, replay) and their msgids.
MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), msgid)
    for pattern, msgid in [
        (r"required: an http\(s\) URL", N_("required: an http:// or https:// address")),
        (r"at most (\d+) characters", N_("at most %(0)s characters")),
        (
            r"must be an absolute http:// or https:// URL",
            N_("must be a full address starting with http:// or https://"),
        ),
        (r"host '(.*)' does not resolve", N_("the host %(0)s is not found (DNS)")),
        (
            r"host '(.*)' resolves to the private address (\S+); allowed only when .*",
            N_(
                "the host %(0)s is in a private network (%(1)s); the server's administrator "
                "must allow private addresses first"
            ),
        ),
        (r"required: a catalog api_name or id", N_("choose a catalog")),
        (r"unknown catalog .*", N_("this catalog no longer exists")),
        (r"a non-empty list of: .*", N_("choose at least one event")),
        (r"'(.*)' is not a \w+ event .*", N_("%(0)s is not an event of this kind")),
        (r"unknown field '(.*)' in catalog .*", N_("the field %(0)s no longer exists")),
        (r"a whole number from 1 to (\d+)", N_("a whole number from 1 to %(0)s")),
        (
            r"only notify webhooks group events into one message",
            N_("only notify webhooks group events into one message"),
        ),
        (
            r"required: an event sequence number \(a positive integer\)",
            N_("an event number (a whole number from 1)"),
        ),
        (r"must not be smaller than from_sequence", N_("must not be smaller than the first")),
        (
            r"at most (\d+) sequences per replay; split the range",
            N_("at most %(0)s events per replay; split the range"),
        ),
        (
            r"beyond the last event of the workspace \((\d+)\)",
            N_("beyond the last event of the workspace (%(0)s)"),
        ),
        (r"not valid JSON.*", N_("the filter is not valid JSON")),
    ]
]


def translate(message: str) -> str:
    """A service reason in the reader's language (unknown ones pass through as sent)."""
    for pattern, msgid in MESSAGES:
        match = pattern.fullmatch(message.strip())
        if match:
            return _(msgid) % {str(i): g for i, g in enumerate(match.groups())}
    return message


def errors_of(exc: WebhookInvalid) -> dict[str, str]:
    """Form key -> translated reason, for every key the error names."""
    fields = exc.fields or {"body": exc.message}
    return {key: translate(str(why)) for key, why in fields.items()}


def _whole_number(form: FormData, key: str, default: int | None) -> int | None:
    text = str(form.get(key) or "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 9:
        why = f"a whole number from 1 to {MAX_BATCH_SIZE}"
        raise WebhookInvalid(f"{key}: {why}", fields={key: why})
    return int(text)


def _filter(form: FormData) -> Any:
    text = str(form.get("filter") or "").strip()
    if not text or text == "null":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        why = "not valid JSON"
        raise WebhookInvalid(f"filter: {why}", fields={"filter": why}) from None


def spec_from_form(form: FormData) -> dict[str, Any]:
    """The webhook spec a designer form describes (the service checks it)."""
    kind = str(form.get("kind") or "notify")
    wanted = EVENTS.get(kind, [])
    spec: dict[str, Any] = {
        "kind": kind,
        "catalog": str(form.get("catalog") or ""),
        "url": str(form.get("url") or ""),
        # Events of the other kinds stay in the page (hidden) for when the kind changes;
        # none ticked is sent as none, and the service asks for at least one.
        "events": [e for e in form.getlist("events") if e in wanted],
        "fields": [str(f) for f in form.getlist("fields")],
        "filter": _filter(form),
        "active": form.get("active") == "on",
        "ordered": form.get("ordered") == "on",
        "on_timeout": "allow" if form.get("on_timeout") == "allow" else "reject",
    }
    if kind == "notify":
        spec["batch_size"] = _whole_number(form, "batch_size", 1)
    return spec


def catalog_choices(actor: Actor) -> list[Catalog]:
    """The catalogs a webhook may watch (user catalogs and the webhooks catalog)."""
    return list_catalogs(actor)


def designer_config(actor: Actor, catalogs: list[Catalog]) -> dict[str, Any]:
    """Per catalog, its fields for the "watched fields" list and the filter builder."""
    per_catalog = {
        c.api_name: {
            "fields": widgets.catalog_fields(actor, c),
            "hops": widgets.hop_fields(actor, c),
        }
        for c in catalogs
    }
    return {
        "catalogs": per_catalog,
        "events": EVENTS,
        "operators": widgets.operator_labels(),
    }
