"""History rows and outbox events of a write, in the writer's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.observability import context as request_context
from kartoteka.storage import bulk, counters, schema
from kartoteka.storage.engine import utcnow

from . import hooks

EVENT_COUNTER = "event_seq"


def record_events(
    conn: Connection, actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]
) -> tuple[int, int]:
    """History rows and outbox events for changes, in the caller's transaction.

    Each entry: {"record_id", "action", "changes": {api_name: {"old", "new"}}}, and
    optionally "scenario": the run/step marker of that entry (else the actor's); a
    create may carry "new": {api_name: value} (`Renderer.create_entry`), saving a pass.
    Returns the (first, last) event sequence numbers taken (contiguous).
    """
    if not entries:
        return (0, 0)
    hooks.run_in_transaction(conn, actor, catalog, entries)
    now = utcnow()
    count = len(entries)
    # Column by column: what every row shares is bound once, no dict per row and table.
    record_ids = [e["record_id"] for e in entries]
    actions = [e["action"] for e in entries]
    history_actions = [e.get("history_action", a) for e, a in zip(entries, actions, strict=True)]
    bulk.insert_columns(
        conn,
        schema.history,
        count,
        {
            "catalog_id": bulk.Same(catalog.id),
            "record_id": record_ids,
            "at": bulk.Same(now),
            "user_id": bulk.Same(actor.user_id),
            "action": history_actions,
            "changes": [e["changes"] for e in entries],
        },
    )
    last = counters.take(conn, EVENT_COUNTER, count)
    first = last - count + 1
    # Loop protection: the webhook deliveries that led to this write (docs/webhooks.md).
    cause = "-".join(str(i) for i in actor.cause) or None
    types = {a: f"record.{a}d" for a in set(actions)}
    bulk.insert_columns(
        conn,
        schema.events,
        count,
        {
            "seq": range(first, last + 1),
            "type": [types[a] for a in actions],
            "catalog_id": bulk.Same(catalog.id),
            "record_id": record_ids,
            "user_id": bulk.Same(actor.user_id),
            "at": bulk.Same(now),
            "cause": bulk.Same(cause),
            "depth": bulk.Same(actor.depth),
            # The API request behind it, if any.
            "request_id": bulk.Same(request_context.request_id()),
            "payload": _payloads(actor, catalog, entries),
        },
    )
    return first, last


def _payloads(actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]) -> list[Any]:
    """Each entry's event payload: the catalog, new and previous values, and markers."""
    catalog_ref = {"id": catalog.id, "api_name": catalog.api_name}
    importing = actor.importing
    scenario = actor.scenario
    if not scenario and all(
        e.get("new") is not None and "row" not in e and not e.get("scenario") for e in entries
    ):
        # Creates alone (an import's chunk): one dict display per record.
        if importing:
            return [
                {"catalog": catalog_ref, "values": e["new"],
                 "previous": dict.fromkeys(e["changes"]), "import": importing}
                for e in entries
            ]  # fmt: skip
        return [
            {"catalog": catalog_ref, "values": e["new"], "previous": dict.fromkeys(e["changes"])}
            for e in entries
        ]
    out = []
    for e in entries:
        changes = e["changes"]
        values = e.get("new")  # a create's new values, built with its changes
        if values is None:
            values = {k: c["new"] for k, c in changes.items()}
            previous = {k: c["old"] for k, c in changes.items()}
        else:
            previous = dict.fromkeys(changes)  # a create: nothing before
        payload = {"catalog": catalog_ref, "values": values, "previous": previous}
        if "row" in e:
            payload["row"] = e["row"]
        marker = e.get("scenario") or scenario
        if marker:
            payload["scenario"] = dict(marker)
        if importing:
            payload["import"] = importing
        out.append(payload)
    return out
