"""Request webhooks: receivers asked before a write, any of which may veto it.

Registered as a `before_write` hook. All calls for one write (every record of a
batch times every webhook) run concurrently; the first veto wins and the write
fails with `Rejected` carrying the record's index in the batch.
"""

from __future__ import annotations

import contextvars
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, TypeVar

import httpx
import orjson
import sqlalchemy as sa

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import ItemError, Rejected
from kartoteka.messages import message as message_of
from kartoteka.records.batches import history_value
from kartoteka.records.hooks import PendingChange
from kartoteka.records.linked import load_links
from kartoteka.storage.engine import read_connection, utcnow

from . import delivery, loops, proxy, service

DEFAULT_TIMEOUT = 10.0
POOL_THREADS = 32

_pool: ThreadPoolExecutor | None = None
_client: httpx.Client | None = None
_lock = threading.Lock()
T = TypeVar("T")


@dataclass
class Verdict:
    """One receiver's answer: allowed, or vetoed with a message code and its parameters
    ("rejected" with the receiver's own words, or why it could not answer)."""

    allow: bool
    code: str = "rejected"
    params: dict[str, Any] = dataclass_field(default_factory=dict)

    @property
    def message(self) -> str:
        """The veto in English."""
        return message_of(self.code, self.params)


def request_timeout(settings: Any) -> float:
    """Seconds a request receiver gets before its silence counts (`webhook_request_timeout`)."""
    return float(getattr(settings, "webhook_request_timeout", None) or DEFAULT_TIMEOUT)


def _shared() -> tuple[ThreadPoolExecutor, httpx.Client]:
    global _pool, _client
    with _lock:
        if _pool is None or _client is None:
            _pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="kt-request-hook")
            _client = delivery.make_client()
        return _pool, _client


def _wants(hook: dict[str, Any], change: PendingChange) -> bool:
    if f"record.before_{change.action}" not in hook["events"]:
        return False
    if hook["fields"]:
        touched = set(change.values) | set(change.previous)
        return bool(touched.intersection(hook["fields"]))
    return True


def _stored_values(actor: Actor, catalog: Catalog, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Committed values of records about to be updated, in the history/event JSON form."""
    if not ids:
        return {}
    table = catalog.table
    fields = [f for f in catalog.fields if f.column or f.is_link]
    with read_connection(actor.workspace.engine) as conn:
        rows = conn.execute(sa.select(table).where(table.c.id.in_(ids))).all()
        links = load_links(conn, fields, ids)
    out = {}
    for row in rows:
        m = row._mapping
        out[row.id] = {
            f.api_name: history_value(
                f, links.get(f.id, {}).get(row.id, []) if f.is_link else m[f.column or "id"]
            )
            for f in fields
        }
    return out


def _body(
    actor: Actor,
    catalog: Catalog,
    change: PendingChange,
    stored: dict[int, dict[str, Any]],
    webhook_id: int,
) -> bytes:
    if change.action == "create":
        all_values = dict(change.values)
    elif change.action == "delete":
        all_values = dict(change.previous)
    else:
        all_values = {**stored.get(change.record_id or 0, {}), **change.values}
    return orjson.dumps(
        {
            "type": f"record.before_{change.action}",
            "timestamp": utcnow().isoformat(timespec="seconds") + "Z",
            "catalog": {"id": catalog.id, "api_name": catalog.api_name},
            "record_id": change.record_id,
            "user": {"id": actor.user_id},
            "values": change.values,
            "previous": change.previous,
            "all_values": all_values,
            "cause": loops.message_cause(actor.cause, webhook_id),
        }
    )


def _verdict(outcome: delivery.Outcome, hook: dict[str, Any], timeout: float) -> Verdict:
    """Read a receiver's answer: 2xx allows unless it says `"allow": false`."""
    if outcome.status is None:
        timed_out = (outcome.error or "").startswith("timed out")
        if timed_out and hook["on_timeout"] == "allow":
            return Verdict(True)
        if timed_out:
            return Verdict(False, "request_hook_timeout", {"seconds": f"{timeout:g}"})
        return Verdict(False, "request_hook_unreachable", {"reason": outcome.error or ""})
    try:
        answer = orjson.loads(outcome.body) if outcome.body.strip() else {}
    except orjson.JSONDecodeError:
        answer = {}
    message = answer.get("message") if isinstance(answer, dict) else None
    if outcome.ok and not (isinstance(answer, dict) and answer.get("allow") is False):
        return Verdict(True)
    if isinstance(message, str) and message.strip():
        return Verdict(False, "rejected", {"message": message.strip()[:1000]})
    if outcome.ok:
        return Verdict(False, "request_hook_refused")
    return Verdict(False, "request_hook_refused_status", {"status": outcome.status})


def post_to_hook(
    hook: dict[str, Any], body: bytes, timeout: float, settings: Any
) -> delivery.Outcome:
    """POST one signed message to a request or action webhook, through the workspace's proxy."""
    _, client = _shared()
    return delivery.post_signed(
        client,
        hook["url"],
        hook["secret"],
        "msg_" + secrets.token_hex(12),
        body,
        timeout,
        settings.webhook_allow_private,
        proxy.proxies(settings),
    )


def submit_call(fn: Callable[..., T], *args: Any) -> Future[T]:
    """Run `fn(*args)` on the shared webhook pool in a copy of the caller's context.

    The copy carries the API request's id, so the webhook call sends its X-Request-ID.
    """
    pool, _ = _shared()
    return pool.submit(contextvars.copy_context().run, fn, *args)


def _call(hook: dict[str, Any], body: bytes, timeout: float, settings: Any) -> Verdict:
    return _verdict(post_to_hook(hook, body, timeout, settings), hook, timeout)


def check_request_webhooks(actor: Actor, catalog: Catalog, changes: list[PendingChange]) -> None:
    """Ask every interested request webhook; raise `Rejected` on the first veto."""
    if not changes:
        return
    ws = actor.workspace
    found = _callable(actor, catalog)
    calls = [(c, h) for c in changes for h in found if _wants(h, c)]
    if not calls:
        return
    limit = loops.max_depth(ws.settings)
    if actor.depth >= limit:
        # Skipping the check would let a runaway chain past a guard; refusing is safe.
        raise Rejected(
            errors=[_veto(calls[0][0], "loop_protection", depth=actor.depth, limit=limit)]
        )
    stored = _stored_values(
        actor, catalog, [c.record_id for c, _ in calls if c.action == "update" and c.record_id]
    )
    timeout = request_timeout(ws.settings)
    pending: dict[Future[Verdict], PendingChange] = {
        submit_call(_call, h, _body(actor, catalog, c, stored, h["id"]), timeout, ws.settings): c
        for c, h in calls
    }
    while pending:
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            change = pending.pop(future)
            verdict = future.result()
            if not verdict.allow:
                for rest in pending:
                    rest.cancel()
                raise Rejected(errors=[_veto(change, verdict.code, **verdict.params)])


def _veto(change: PendingChange, code: str, **params: Any) -> ItemError:
    """A veto as a typed error naming the item it refused."""
    return ItemError(change.where or None, change.index, None, code, params)


def _callable(actor: Actor, catalog: Catalog) -> list[dict[str, Any]]:
    """Active request webhooks of the catalog, less those whose calls led to this write:
    a receiver writing back while its own check is pending is not asked again."""
    found = service.active_webhooks(actor.workspace, catalog.id, "request")
    return [h for h in found if h["id"] not in actor.cause]


def _interested(actor: Actor, catalog: Catalog) -> bool:
    """Only catalogs with an active request webhook pay for building the changes."""
    return bool(_callable(actor, catalog))


check_request_webhooks.interested = _interested  # type: ignore[attr-defined]
