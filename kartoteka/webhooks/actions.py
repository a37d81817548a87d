"""Action webhooks (`record.editing`): receivers that fill a form while a user edits it.

Nothing is saved. The form's values are compared with the stored record (or, for a
new record, every non-empty value counts as changed); every active action webhook
watching a changed field is called concurrently with the request timeout; their
answers `{"message", "values"}` are merged, keeping only fields the user may write.
"""

from __future__ import annotations

import logging
from concurrent.futures import wait
from typing import Any

import orjson

from kartoteka.access import service as access
from kartoteka.access.visibility import require_visible
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import Forbidden
from kartoteka.fields.base import FieldValueError
from kartoteka.records import service as records
from kartoteka.storage.engine import utcnow

from . import delivery, request_hooks, service
from .errors import WebhookInvalid

EVENT = "record.editing"
MAX_MESSAGE = 1000
log = logging.getLogger("kartoteka.webhooks.actions")


def _bad(key: str, code: str, **params: Any) -> WebhookInvalid:
    return WebhookInvalid.of(code, key, **params)


def _form_values(catalog: Catalog, rules: dict[str, str], body: Any) -> dict[str, Any]:
    """The `values` object of the request; unknown and hidden fields are named errors."""
    if not isinstance(body, dict) or not isinstance(body.get("values", {}), dict):
        raise _bad("values", "action_body")
    values: dict[str, Any] = body.get("values") or {}
    for key in values:
        if key not in catalog.by_api_name or rules.get(key) == "hidden":
            raise _bad(str(key)[:100], "unknown_field")
    return values


def _normalised(actor: Actor, catalog: Catalog, key: str, value: Any) -> Any:
    """A form value in the stored (history/event) form; as typed when it does not parse.

    A half-typed value is normal while editing, so it is not an error here: the
    receiver gets what the user typed and the save will validate it.
    """
    f = catalog.by_api_name[key]
    try:
        return records.history_value(f, f.ftype.to_db(value, f, actor))
    except (FieldValueError, ValueError, TypeError):
        return value


def _writable(catalog: Catalog, rules: dict[str, str]) -> set[str]:
    return {f.api_name for f in catalog.fields if not f.ftype.read_only and f.api_name not in rules}


def _changes(
    actor: Actor, catalog: Catalog, record_id: int | None, form: dict[str, Any], writable: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(changed values, all values): the form over the stored record."""
    stored = (
        request_hooks._stored_values(actor, catalog, [record_id]).get(record_id, {})
        if record_id is not None
        else {}
    )
    given = {k: _normalised(actor, catalog, k, v) for k, v in form.items() if k in writable}
    if record_id is None:
        changed = {
            k: v
            for k, v in given.items()
            if v not in (None, "", [], {}) and not _empty(catalog, k, v)
        }
    else:
        changed = {k: v for k, v in given.items() if v != stored.get(k)}
    return changed, {**stored, **given}


def _empty(catalog: Catalog, key: str, value: Any) -> bool:
    f = catalog.by_api_name[key]
    try:
        return bool(f.ftype.is_empty(value))
    except (TypeError, ValueError):
        return False


def _watching(hooks: list[dict[str, Any]], changed: dict[str, Any]) -> list[dict[str, Any]]:
    """Hooks whose watched fields include a changed one (no list: every field is watched)."""
    return [h for h in hooks if not h["fields"] or set(h["fields"]).intersection(changed)]


def _body(
    actor: Actor, catalog: Catalog, record_id: int | None, changed: dict[str, Any], all_values: Any
) -> bytes:
    return orjson.dumps(
        {
            "type": EVENT,
            "timestamp": utcnow().isoformat(timespec="seconds") + "Z",
            "catalog": {"id": catalog.id, "api_name": catalog.api_name},
            "record_id": record_id,
            "user": {"id": actor.user_id},
            "values": changed,
            "all_values": all_values,
        }
    )


def _call(hook: dict[str, Any], body: bytes, timeout: float, settings: Any) -> Any:
    """One receiver's JSON answer, or None when it failed (the form keeps working)."""
    outcome = request_hooks.post_to_hook(hook, body, timeout, settings)
    if not outcome.ok:
        log.warning("action webhook %s failed: %s", hook["id"], delivery.describe_failure(outcome))
        return None
    try:
        return orjson.loads(outcome.body) if outcome.body.strip() else None
    except orjson.JSONDecodeError:
        log.warning("action webhook %s answered with invalid JSON", hook["id"])
        return None


def _merge(answers: list[Any], writable: set[str]) -> dict[str, Any]:
    """Replies in webhook id order: values merge (a later webhook wins), messages join."""
    messages: list[str] = []
    values: dict[str, Any] = {}
    for answer in answers:
        if not isinstance(answer, dict):
            continue
        message = answer.get("message")
        if isinstance(message, str) and message.strip():
            messages.append(message.strip()[:MAX_MESSAGE])
        got = answer.get("values")
        if isinstance(got, dict):
            values.update({k: v for k, v in got.items() if k in writable})
    return {"message": "\n".join(messages) or None, "values": values}


def editing(
    actor: Actor, catalog_ref: str | int, record_id: int | None, body: Any
) -> dict[str, Any]:
    """Ask the action webhooks about a form being edited; returns values to put into it."""
    catalog = records.get_catalog(actor, catalog_ref)
    if record_id is not None:
        require_visible(actor, catalog, record_id)
    elif not access.can_create(actor, catalog):
        raise Forbidden.of("create_forbidden", None, catalog=catalog.api_name)
    rules = access.field_rules(actor, catalog)
    form = _form_values(catalog, rules, body)
    writable = _writable(catalog, rules)
    hooks = service.active_webhooks(actor.workspace, catalog.id, "action")
    hooks = [h for h in hooks if EVENT in h["events"]]
    if not hooks:
        return {"message": None, "values": {}}
    changed, all_values = _changes(actor, catalog, record_id, form, writable)
    hooks = _watching(hooks, changed) if changed else []
    if not hooks:
        return {"message": None, "values": {}}
    ws = actor.workspace
    timeout = request_hooks.request_timeout(ws.settings)
    payload = _body(actor, catalog, record_id, changed, all_values)
    futures = [request_hooks.submit_call(_call, h, payload, timeout, ws.settings) for h in hooks]
    wait(futures)
    return _merge([f.result() for f in futures], writable)
