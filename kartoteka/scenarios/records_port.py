"""The scenarios' one door to the records write path (`kartoteka.records.service`).

Every record a step creates, changes, deletes or reads goes through here, so a change
of the records service's shape is adapted in this one module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kartoteka.context import Actor
from kartoteka.errors import DomainError
from kartoteka.records import service as records
from kartoteka.records.batches import MAX_BATCH
from kartoteka.records.errors import RecordNotFound
from kartoteka.records.requests import BatchRequest, DeleteItem, UpdateItem
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

EVENT_COUNTER = "event_seq"


def get(actor: Actor, catalog: str | int, record_id: int) -> dict[str, Any] | None:
    """A record as the API shows it (None when gone)."""
    try:
        return records.get_record(actor, catalog, record_id)
    except RecordNotFound:
        return None


def get_many(actor: Actor, catalog: str | int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Records as the API shows them, by id (those gone are left out)."""
    return records.get_records(actor, catalog, ids)


def create(actor: Actor, catalog: str | int, values: dict[str, Any]) -> dict[str, Any]:
    """Create one record; returns it."""
    return records.create_record(actor, catalog, values)


def update(actor: Actor, catalog: str | int, record_id: int, values: dict[str, Any]) -> None:
    """Change some fields of one record (not read back: the step knows what it wrote)."""
    records.batch(actor, catalog, BatchRequest(update=[UpdateItem(record_id, values)]))


def delete(actor: Actor, catalog: str | int, record_id: int) -> None:
    """Delete one record."""
    records.delete_record(actor, catalog, record_id)


@dataclass
class RecordWrite:
    """An update or delete of one record by one run's step, done alone or in a batch."""

    op: str  # "update" or "delete"
    actor: Actor
    catalog: str | int
    record_id: int
    values: dict[str, Any] | None = None

    def group(self) -> tuple[Any, ...]:
        """Writes to one catalog by runs of one scenario, caused alike, go in one batch."""
        marker = self.actor.scenario or {}
        return ("record", self.op, str(self.catalog), marker.get("id"), self.actor.cause)

    def do(self) -> None:
        """Write alone (the actor carries the run/step marker)."""
        if self.op == "delete":
            delete(self.actor, self.catalog, self.record_id)
        else:
            update(self.actor, self.catalog, self.record_id, self.values or {})

    def item(self) -> UpdateItem | DeleteItem:
        """The batch item, carrying this run's marker for its event."""
        if self.op == "delete":
            return DeleteItem(self.record_id, scenario=self.actor.scenario)
        return UpdateItem(self.record_id, self.values or {}, scenario=self.actor.scenario)

    @staticmethod
    def do_many(works: list[Any]) -> list[Any]:
        """`write_many`."""
        return write_many(works)


def write_many(writes: list[RecordWrite]) -> list[Any]:
    """Writes of one group as few `records.batch` calls as can be: None per write done, or
    the error that write alone raised.

    A batch is all or nothing, so when one fails its writes are made one by one, and
    only the runs whose own write is refused see an error. A record named twice goes
    in a later batch (a batch names each record once), so each run's write stays whole.
    """
    outcomes: list[Any] = [None] * len(writes)
    for chunk in _rounds(writes):
        first = writes[chunk[0]]
        request = (
            BatchRequest(delete=[writes[i].item() for i in chunk])  # type: ignore[misc]
            if first.op == "delete"
            else BatchRequest(update=[writes[i].item() for i in chunk])  # type: ignore[misc]
        )
        try:
            records.batch(first.actor, first.catalog, request)
        except DomainError:
            for i in chunk:
                outcomes[i] = _alone(writes[i])
    return outcomes


def _rounds(writes: list[RecordWrite]) -> list[list[int]]:
    """Indexes of `writes` in chunks of at most MAX_BATCH naming each record once."""
    chunks: list[list[int]] = []
    seen: list[set[int]] = []
    for i, w in enumerate(writes):
        for chunk, ids in zip(chunks, seen, strict=True):
            if w.record_id not in ids and len(chunk) < MAX_BATCH:
                chunk.append(i)
                ids.add(w.record_id)
                break
        else:
            chunks.append([i])
            seen.append({w.record_id})
    return chunks


def _alone(write: RecordWrite) -> Any:
    try:
        write.do()
    except DomainError as exc:
        return exc
    return None


def find(
    actor: Actor, catalog: str | int, filter: Any, sort: Any, limit: int
) -> list[dict[str, Any]]:
    """Records matching a filter, at most `limit` (one page)."""
    page = records.list_records(actor, catalog, filter=filter, sort=sort, limit=limit)
    return list(page["items"])


def find_step_write(actor: Actor, after_seq: int, run_id: int, n: int) -> list[int]:
    """Records written by step `n` of run `run_id` (its events carry that key) since a seq.

    After a worker died between a step's write and the step's own record, this tells
    whether the write happened, so it is not made twice.
    """
    e = schema.events
    q = (
        sa.select(e.c.record_id, e.c.payload)
        .where(e.c.seq > after_seq, e.c.record_id.is_not(None))
        .order_by(e.c.seq)
    )
    found: list[int] = []
    with read_connection(actor.workspace.engine) as conn:
        for record_id, payload in conn.execute(q):
            marker = (payload or {}).get("scenario") or {}
            if marker.get("run") == run_id and marker.get("step") == n:
                found.append(int(record_id))
    return found


def group_members(ws: Any, group_ids: Iterable[int]) -> set[int]:
    """Ids of the users in any of these groups."""
    ids = sorted(set(group_ids))
    if not ids:
        return set()
    ug = schema.user_groups
    with read_connection(ws.engine) as conn:
        return {r[0] for r in conn.execute(sa.select(ug.c.user_id).where(ug.c.group_id.in_(ids)))}
