"""What a run's boundary writes: its step rows, its own writes, the run row's values.

Kept apart from `engine` (which decides when a boundary comes) so the runner stays
readable; `passes` writes the boundaries of many runs in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.storage import counters, schema

from . import records_port

MAX_OUTPUT_BYTES = 64_000


@dataclass
class Progress:
    """Step rows and writes not yet committed (flushed at the next boundary)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    writes: list[Any] = field(default_factory=list)


@dataclass
class Flush:
    """A boundary's values for the run's row, not yet written."""

    values: dict[str, Any]
    finished: bool
    now: datetime


def event_mark(conn: Connection) -> int:
    """The outbox's event counter now (see `seq_mark`)."""
    return counters.peek(conn, records_port.EVENT_COUNTER)


def wake_parent(conn: Connection, parent_id: int, now: datetime) -> None:
    """A called scenario finished: the caller waiting for it goes on now."""
    r = schema.scenario_runs
    conn.execute(
        sa.update(r).where(r.c.id == parent_id, r.c.status == "waiting").values(due_at=now)
    )


def trim(value: Any) -> Any:
    """Keep stored inputs/outputs bounded (the run viewer shows a note instead)."""
    try:
        size = len(orjson.dumps(value))
    except TypeError:
        return {"note": "not JSON"}
    if size <= MAX_OUTPUT_BYTES:
        return value
    return {"truncated": True, "bytes": size}
