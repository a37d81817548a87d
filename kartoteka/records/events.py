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
    bulk.insert_many(
        conn,
        schema.history,
        [
            {
                "catalog_id": catalog.id,
                "record_id": e["record_id"],
                "at": now,
                "user_id": actor.user_id,
                "action": e.get("history_action", e["action"]),
                "changes": e["changes"],
            }
            for e in entries
        ],
    )
    last = counters.take(conn, EVENT_COUNTER, len(entries))
    first = last - len(entries) + 1
    catalog_ref = {"id": catalog.id, "api_name": catalog.api_name}
    # Loop protection: the webhook deliveries that led to this write (docs/webhooks.md).
    cause = "-".join(str(i) for i in actor.cause) or None
    request_id = request_context.request_id()  # the API request behind it, if any
    importing = actor.importing
    user_id, depth = actor.user_id, actor.depth
    rows = []
    for i, e in enumerate(entries):
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
        marker = e.get("scenario") or actor.scenario
        if marker:
            payload["scenario"] = dict(marker)
        if importing:
            payload["import"] = importing
        rows.append(
            {
                "seq": first + i,
                "type": f"record.{e['action']}d",
                "catalog_id": catalog.id,
                "record_id": e["record_id"],
                "user_id": user_id,
                "at": now,
                "cause": cause,
                "depth": depth,
                "request_id": request_id,
                "payload": payload,
            }
        )
    bulk.insert_many(conn, schema.events, rows)
    return first, last
