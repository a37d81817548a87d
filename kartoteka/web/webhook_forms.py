"""The webhook designer's form: posted fields to the service's spec, its messages in the
reader's language, and what the page's script needs per catalog (fields, filter builder).

The service validates; this module only reads the form (a typo in a number becomes the
same coded error the service would give) and writes the service's reasons in the page's
language, so an error shows next to the input that caused it, in Russian or English.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import FormData

from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import list_catalogs
from kartoteka.context import Actor
from kartoteka.webhooks.errors import WebhookInvalid
from kartoteka.webhooks.service import EVENTS, MAX_BATCH_SIZE

from . import i18n, widgets
from .i18n import N_

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


def errors_of(exc: WebhookInvalid) -> dict[str, str]:
    """Form key -> the reason in the page's language, for every key the error names."""
    lang = i18n.current_lang.get()
    return exc.fields_in(lang) or {"body": exc.text(lang)}


def _whole_number(form: FormData, key: str, default: int | None) -> int | None:
    text = str(form.get(key) or "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 9:
        raise WebhookInvalid.of("whole_number_range", key, max=MAX_BATCH_SIZE)
    return int(text)


def _filter(form: FormData) -> Any:
    text = str(form.get("filter") or "").strip()
    if not text or text == "null":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise WebhookInvalid.of("json_invalid", "filter") from None


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
