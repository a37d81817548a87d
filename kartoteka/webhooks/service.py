"""Webhooks service: create, read, change and delete webhooks; delivery log and replay."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from kartoteka import messages
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor, Workspace
from kartoteka.errors import DomainError, Forbidden
from kartoteka.fields.datetime import render_datetime
from kartoteka.records.query import compile_filter
from kartoteka.storage import counters, schema
from kartoteka.storage.engine import read_connection, utcnow

from . import replay, system_catalog, wakeup
from .addresses import private_address_reason
from .disabling import disabled_values
from .errors import WebhookDisabled, WebhookInvalid, WebhookNotFound, WebhookNotNotify
from .signing import new_secret

EVENTS = {
    "notify": [
        "record.created",
        "record.updated",
        "record.deleted",
        "record.merged",
        "import.completed",
    ],
    "request": ["record.before_create", "record.before_update", "record.before_delete"],
    "action": ["record.editing"],
}
#: Events a webhook may ask for but does not get unless it names them.
OPT_IN = {"import.completed", "record.merged"}
KEYS = {
    "url", "catalog", "events", "kind", "fields", "filter", "active", "on_timeout", "ordered",
    "batch_size",
}  # fmt: skip
#: Most events one notify message may carry (`batch_size`).
MAX_BATCH_SIZE = 100
MAX_URL = 2000
MAX_DELIVERIES_PAGE = 500
CACHE_SECONDS = 2.0

_cache: dict[tuple[str, int, str], tuple[float, list[dict[str, Any]]]] = {}
_cache_lock = threading.Lock()


def require_admin(actor: Actor) -> None:
    """Webhooks are administrators' business."""
    if not actor.is_admin:
        raise Forbidden.of("webhooks_admin_only")


def _bad(key: str, code: str, **params: Any) -> WebhookInvalid:
    return WebhookInvalid.of(code, key, **params)


# ----- validation ------------------------------------------------------------------------
def _clean_url(ws: Workspace, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad("url", "webhook_url_required")
    url = value.strip()
    if len(url) > MAX_URL:
        raise _bad("url", "max_length", max=MAX_URL)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("url", "webhook_url_absolute")
    if not ws.settings.webhook_allow_private:
        refused = private_address_reason(url)
        if refused:
            raise _bad("url", refused[0], **refused[1])
    return url


def _clean_catalog(ws: Workspace, value: Any) -> Catalog:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise _bad("catalog", "webhook_catalog_required")
    catalog = ws.meta().catalog(value)
    if catalog is None:
        raise _bad("catalog", "webhook_catalog_unknown", ref=value)
    return catalog


def _clean_events(kind: str, value: Any) -> list[str]:
    allowed = EVENTS[kind]
    if value is None:
        return [e for e in allowed if e not in OPT_IN]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _bad("events", "webhook_events", allowed=", ".join(allowed))
    for v in value:
        if v not in allowed:
            raise _bad(
                "events", "webhook_event_kind", event=v, kind=kind, allowed=", ".join(allowed)
            )
    return list(dict.fromkeys(value))


def _clean_fields(catalog: Catalog, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad("fields", "webhook_fields")
    for v in value:
        if v not in catalog.by_api_name:
            raise _bad("fields", "webhook_field_unknown", name=v, catalog=catalog.api_name)
    return list(dict.fromkeys(value))


def _clean_filter(ws: Workspace, catalog: Catalog, value: Any) -> Any:

    if value in (None, {}):
        return None
    try:
        compile_filter(Actor.system(ws), catalog, value)
    except DomainError as exc:
        if exc.first is None:
            raise _bad("filter", "invalid", message=exc.message) from None
        raise _bad("filter", exc.first.code, **exc.first.params) from None
    return value


def _clean_flag(spec: dict[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise _bad(key, "boolean")
    return value


def _clean_batch_size(kind: str, value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH_SIZE:
        raise _bad("batch_size", "whole_number_range", max=MAX_BATCH_SIZE)
    if value > 1 and kind != "notify":
        raise _bad("batch_size", "webhook_batch_notify")
    return value


def _clean(ws: Workspace, spec: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a full spec (create) or a patch merged over `current`; returns column values."""
    if not isinstance(spec, dict):
        raise _bad("body", "body_object")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        key = unknown[0]
        raise _bad(key, "read_only_key" if key in ("id", "secret") else "unknown_key")
    merged = {**(current or {}), **spec}
    kind = merged.get("kind", "notify")
    if kind not in EVENTS:
        raise _bad("kind", "one_of", allowed="notify, request, action")
    if current and "kind" in spec and "events" not in spec and kind != current["kind"]:
        merged["events"] = None
    on_timeout = merged.get("on_timeout", "reject")
    if on_timeout not in ("reject", "allow"):
        raise _bad("on_timeout", "one_of", allowed="reject, allow")
    catalog = _clean_catalog(ws, merged.get("catalog"))
    return {
        "url": _clean_url(ws, merged.get("url")) if "url" in spec or not current else merged["url"],
        "catalog_id": catalog.id,
        "kind": kind,
        "events": _clean_events(kind, merged.get("events")),
        "fields": _clean_fields(catalog, merged.get("fields")),
        "filter": _clean_filter(ws, catalog, merged.get("filter")),
        "active": _clean_flag(merged, "active", True),
        "on_timeout": on_timeout,
        "ordered": _clean_flag(merged, "ordered", False),
        "batch_size": _clean_batch_size(kind, merged.get("batch_size")),
    }


# ----- rendering -------------------------------------------------------------------------
def _catalog_name(ws: Workspace, catalog_id: int) -> str | int:
    catalog = ws.meta().catalog(catalog_id)
    return catalog.api_name if catalog is not None else catalog_id


def _maybe_datetime(value: Any) -> str | None:
    return render_datetime(value) if value is not None else None


def render(ws: Workspace, row: Any, with_secret: bool = False) -> dict[str, Any]:
    """The API representation of a webhook row (the secret only right after creation)."""
    out = {
        "id": row.id,
        "url": row.url,
        "catalog": _catalog_name(ws, row.catalog_id),
        "kind": row.kind,
        "events": row.events,
        "fields": row.fields,
        "filter": row.filter,
        "active": row.active,
        "on_timeout": row.on_timeout,
        "ordered": row.ordered,
        "batch_size": row.batch_size,
        "disabled_reason": row.disabled_reason,
        "disabled_reason_code": row.disabled_reason_code,
        "disabled_reason_params": row.disabled_reason_params if row.disabled_reason_code else None,
        "failing_since": _maybe_datetime(row.failing_since),
        "last_success_at": _maybe_datetime(row.last_success_at),
        "created_at": render_datetime(row.created_at),
        "updated_at": render_datetime(row.updated_at),
    }
    if with_secret:
        out["secret"] = row.secret
    return out


# ----- CRUD ------------------------------------------------------------------------------
def _row(conn: sa.Connection, webhook_id: int) -> Any:
    t = schema.webhooks
    row = conn.execute(sa.select(t).where(t.c.id == webhook_id)).first()
    if row is None:
        raise WebhookNotFound.of("webhook_not_found", None, id=webhook_id)
    return row


def list_webhooks(actor: Actor) -> list[dict[str, Any]]:
    """Every webhook of the workspace (secrets are not shown)."""
    require_admin(actor)
    t = schema.webhooks
    with actor.workspace.engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.id)).all()
    return [render(actor.workspace, r) for r in rows]


def get_webhook(actor: Actor, webhook_id: int) -> dict[str, Any]:
    """One webhook (its secret is not shown)."""
    require_admin(actor)
    with actor.workspace.engine.connect() as conn:
        return render(actor.workspace, _row(conn, webhook_id))


def create_webhook(actor: Actor, spec: Any) -> dict[str, Any]:
    """Create a webhook; the answer carries its `whsec_` secret, shown this once."""
    require_admin(actor)
    values = _clean(actor.workspace, spec, None)
    now = utcnow()
    t = schema.webhooks
    with actor.workspace.engine.begin() as conn:
        # A new notify webhook hears only events committed after it exists.
        start = counters.peek(conn, "event_seq")
        new_id = conn.execute(
            sa.insert(t)
            .values(
                **values,
                secret=new_secret(),
                start_seq=start,
                created_by=actor.user_id,
                created_at=now,
                updated_at=now,
            )
            .returning(t.c.id)
        ).scalar_one()
        seqs = system_catalog.record_change(conn, actor, new_id, None)
        row = _row(conn, new_id)
    invalidate(actor.workspace)
    system_catalog.announce(actor, seqs)
    return render(actor.workspace, row, with_secret=True)


def update_webhook(actor: Actor, webhook_id: int, patch: Any) -> dict[str, Any]:
    """Change some keys of a webhook (re-activating clears the disabled reason)."""
    require_admin(actor)
    ws = actor.workspace
    t = schema.webhooks
    with ws.engine.begin() as conn:
        row = _row(conn, webhook_id)
        current = {**render(ws, row), "url": row.url}
        values = _clean(ws, patch, current)
        if values["active"] and not row.active:
            values.update(disabled_values(None, None))
        conn.execute(sa.update(t).where(t.c.id == webhook_id).values(**values, updated_at=utcnow()))
        seqs = system_catalog.record_change(conn, actor, webhook_id, row)
        row = _row(conn, webhook_id)
    invalidate(ws)
    system_catalog.announce(actor, seqs)
    return render(ws, row)


def delete_webhook(actor: Actor, webhook_id: int) -> None:
    """Delete a webhook with its deliveries and their log."""
    require_admin(actor)
    t, d, a = schema.webhooks, schema.webhook_deliveries, schema.delivery_attempts
    with actor.workspace.engine.begin() as conn:
        row = _row(conn, webhook_id)
        ids = sa.select(d.c.id).where(d.c.webhook_id == webhook_id)
        conn.execute(sa.delete(a).where(a.c.delivery_id.in_(ids)))
        conn.execute(sa.delete(d).where(d.c.webhook_id == webhook_id))
        conn.execute(sa.delete(t).where(t.c.id == webhook_id))
        seqs = system_catalog.record_change(conn, actor, webhook_id, row)
    invalidate(actor.workspace)
    system_catalog.announce(actor, seqs)


def rotate_secret(actor: Actor, webhook_id: int) -> dict[str, Any]:
    """Give a webhook a new signing secret; the answer shows it this once.

    Messages signed from now on (retries of older deliveries too) use the new secret,
    so the receiver must be given it before the next event.
    """
    require_admin(actor)
    t = schema.webhooks
    with actor.workspace.engine.begin() as conn:
        _row(conn, webhook_id)
        conn.execute(
            sa.update(t)
            .where(t.c.id == webhook_id)
            .values(secret=new_secret(), updated_at=utcnow())
        )
        row = _row(conn, webhook_id)
    invalidate(actor.workspace)
    return render(actor.workspace, row, with_secret=True)


def signing_target(actor: Actor, webhook_id: int) -> dict[str, Any]:
    """The stored webhook with its secret, for a test message (administrators only)."""
    require_admin(actor)
    with actor.workspace.engine.connect() as conn:
        return dict(_row(conn, webhook_id)._mapping)


# ----- lookup for the write path ---------------------------------------------------------
def invalidate(ws: Workspace) -> None:
    """Forget cached webhook lists of a workspace (after a local change)."""
    with _cache_lock:
        for key in [k for k in _cache if k[0] == ws.name]:
            del _cache[key]


def active_webhooks(ws: Workspace, catalog_id: int, kind: str) -> list[dict[str, Any]]:
    """Active webhooks of one kind on a catalog, cached for a couple of seconds.

    The write path asks on every save; changes made by another process are seen
    after at most CACHE_SECONDS.
    """
    key = (ws.name, catalog_id, kind)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    t = schema.webhooks
    with read_connection(ws.engine) as conn:
        rows = conn.execute(
            sa.select(t)
            .where(t.c.catalog_id == catalog_id, t.c.kind == kind, t.c.active.is_(True))
            .order_by(t.c.id)
        ).all()
    found = [dict(r._mapping) for r in rows]
    with _cache_lock:
        _cache[key] = (now + CACHE_SECONDS, found)
    return found


# ----- delivery log and replay -----------------------------------------------------------
def _why(
    prefix: str, detail: str | None, code: str | None, params: Any, lang: str
) -> dict[str, Any]:
    """Why an attempt failed: in `lang` (from the code), its code and parameters, and the
    English protocol detail ("Connection refused"). Rows stored before codes keep the
    detail as their text."""
    text = messages.message(code, params or {}, lang) if code else detail
    return {
        prefix: text,
        f"{prefix}_code": code,
        f"{prefix}_params": params if code else None,
        f"{prefix}_detail": detail,
    }


def _render_attempt(r: Any, payload: str, lang: str) -> dict[str, Any]:
    return {
        "attempt": r.attempt,
        "at": render_datetime(r.at),
        # Maintenance empties request bodies equal to the delivery's payload (they are
        # copies); the log shows the payload again, so nothing is lost to the reader.
        "request_body": r.request_body or payload,
        "response_status": r.response_status,
        "response_body": r.response_body,
        **_why("error", r.error, r.error_code, r.error_params, lang),
        "duration_ms": r.duration_ms,
    }


def _render_delivery(r: Any, log: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    return {
        "id": r.id,
        "webhook_msg_id": r.webhook_msg_id,
        "event_seq": r.event_seq,
        "status": r.status,
        "attempts": r.attempts,
        "next_attempt_at": render_datetime(r.next_attempt_at) if r.status == "pending" else None,
        "last_status": r.last_status,
        **_why("last_error", r.last_error, r.last_error_code, r.last_error_params, lang),
        "created_at": render_datetime(r.created_at),
        "updated_at": render_datetime(r.updated_at),
        "log": log,
    }


def list_deliveries(
    actor: Actor,
    webhook_id: int,
    limit: int = 50,
    before: int | None = None,
    status: str | None = None,
    *,
    lang: str = "en",
) -> list[dict[str, Any]]:
    """Newest deliveries of a webhook first, each with its attempt log (why an attempt
    failed in `lang`, beside the English protocol detail)."""
    require_admin(actor)
    if not 1 <= limit <= MAX_DELIVERIES_PAGE:
        raise _bad("limit", "whole_number_range", max=MAX_DELIVERIES_PAGE)
    if status not in (None, "pending", "done", "failed", "skipped"):
        raise _bad("status", "one_of", allowed="pending, done, failed, skipped")
    d, a = schema.webhook_deliveries, schema.delivery_attempts
    q = sa.select(d).where(d.c.webhook_id == webhook_id).order_by(d.c.id.desc()).limit(limit)
    if before is not None:
        q = q.where(d.c.id < before)
    if status is not None:
        q = q.where(d.c.status == status)
    with actor.workspace.engine.connect() as conn:
        _row(conn, webhook_id)
        rows = conn.execute(q).all()
        logs: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
        payloads = {r.id: r.payload for r in rows}
        if rows:
            attempts = conn.execute(
                sa.select(a).where(a.c.delivery_id.in_(list(logs))).order_by(a.c.attempt, a.c.id)
            )
            for att in attempts:
                logs[att.delivery_id].append(_render_attempt(att, payloads[att.delivery_id], lang))
    return [_render_delivery(r, logs[r.id], lang) for r in rows]


def retry_delivery(
    actor: Actor, webhook_id: int, delivery_id: int, *, lang: str = "en"
) -> dict[str, Any]:
    """Replay one delivery now (same webhook-id, so receivers can de-duplicate)."""
    require_admin(actor)
    d = schema.webhook_deliveries
    with actor.workspace.engine.begin() as conn:
        hook = _row(conn, webhook_id)
        if not hook.active:
            raise WebhookDisabled.of("webhook_inactive", None, id=webhook_id)
        row = conn.execute(
            sa.select(d).where(d.c.id == delivery_id, d.c.webhook_id == webhook_id)
        ).first()
        if row is None:
            raise WebhookNotFound.of("delivery_not_found", None, id=delivery_id, webhook=webhook_id)
        now = utcnow()
        conn.execute(
            sa.update(d)
            .where(d.c.id == delivery_id)
            .values(status="pending", next_attempt_at=now, updated_at=now)
        )
        row = conn.execute(sa.select(d).where(d.c.id == delivery_id)).one()
    _wake_workers(actor.workspace)
    return _render_delivery(row, [], lang)


def replay_range(actor: Actor, webhook_id: int, spec: Any) -> dict[str, Any]:
    """Send a range of event sequences to a notify webhook again (see replay.py)."""
    require_admin(actor)
    ws = actor.workspace
    now = utcnow()
    with ws.engine.begin() as conn:
        hook = _row(conn, webhook_id)
        if hook.kind != "notify":
            raise WebhookNotNotify.of("webhook_no_queue", None, id=webhook_id, kind=hook.kind)
        plan = replay.parse_plan(spec, counters.peek(conn, "event_seq"))
        if not hook.active:
            raise WebhookDisabled.of("webhook_inactive", None, id=webhook_id)
        result = replay.replay(ws, conn, hook, plan, counters.peek(conn, "event_seq"), now)
    if result["requeued"] or result["created"]:
        _wake_workers(ws)
    return result


def _wake_workers(ws: Workspace) -> None:
    wakeup.wake(ws.name)
