"""Worker heartbeats in the control database: `/readyz` asks whether a worker is alive.

Each worker process (the in-process one of `kartoteka serve` or a `kartoteka worker`)
refreshes its row at most every BEAT_SECONDS while its delivery loop turns; rows of
workers silent for a day are removed by the next beat.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kartoteka.storage.engine import utcnow, worker_heartbeats

BEAT_SECONDS = 10.0
#: A worker whose newest beat is older than this is taken as gone.
STALE_SECONDS = 60.0
FORGET_AFTER = timedelta(days=1)
log = logging.getLogger("kartoteka.observability")


def worker_name() -> str:
    """This process as a worker: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def write_beat(control: Engine, worker: str, at: datetime) -> None:
    """Record that `worker` was alive at `at`."""
    table = worker_heartbeats
    with control.begin() as conn:
        updated = conn.execute(
            sa.update(table).where(table.c.worker == worker).values(beat_at=at)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(table).values(worker=worker, beat_at=at))
            conn.execute(sa.delete(table).where(table.c.beat_at < at - FORGET_AFTER))


def latest_beat(control: Engine) -> datetime | None:
    """The newest heartbeat of any worker (None: no worker ever beat)."""
    with control.connect() as conn:
        return conn.execute(sa.select(sa.func.max(worker_heartbeats.c.beat_at))).scalar()


class Heart:
    """Beats for one worker loop, at most once per BEAT_SECONDS; never raises."""

    def __init__(self, control: Engine) -> None:
        self.control = control
        self.worker = worker_name()
        self._next = 0.0

    def beat(self) -> None:
        """Write the heartbeat if the last one is BEAT_SECONDS old."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + BEAT_SECONDS
        try:
            write_beat(self.control, self.worker, utcnow())
        except sa.exc.SQLAlchemyError:
            # A missed beat is harmless: /readyz reports the worker gone only after a minute.
            log.warning("worker heartbeat not written", exc_info=True)
