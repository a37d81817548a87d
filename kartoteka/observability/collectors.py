"""Metrics read when scraped: database pool use and outbox lag.

Both describe state, not events, so they are computed from the live objects at scrape
time instead of being updated on every checkout or event. Pool use is per process;
with PROMETHEUS_MULTIPROC_DIR set, each process also refreshes its pool gauges every
few seconds (`start_pool_sampler`) so a scrape of any process sums them all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from kartoteka.storage import counters, schema
from kartoteka.storage.engine import read_connection
from kartoteka.storage.loopreads import loop_reads

SAMPLE_SECONDS = 5.0
POOL = Gauge(
    "kartoteka_db_pool_connections",
    "Database connections of this process's pools, by database (control, workspaces, "
    "loop_reads: PostgreSQL reads on the event loop) "
    "and state (checked_out, idle, overflow, size).",
    ["database", "state"],
    multiprocess_mode="livesum",
)


def _pool_numbers(engine: Engine) -> dict[str, int]:
    pool = engine.pool
    numbers = {}
    for state, method in (
        ("checked_out", "checkedout"),
        ("idle", "checkedin"),
        ("overflow", "overflow"),
        ("size", "size"),
    ):
        read = getattr(pool, method, None)
        if read is not None:
            numbers[state] = max(0, int(read()))
    return numbers


def sample_pools(instance: Any) -> None:
    """Set the pool gauges from this process's engines."""
    totals: dict[tuple[str, str], int] = {}
    opened = instance.dbs.open_engines()
    opened = list(opened.values() if isinstance(opened, dict) else opened)
    # PostgreSQL's reads on the event loop have pools of their own (`storage.loopreads`);
    # the connections they keep between reads count as checked out.
    on_loop = [reads.engine for e in opened if (reads := loop_reads(e)) is not None]
    groups = [("control", [instance.dbs.control]), ("workspaces", opened)]
    groups.append(("loop_reads", on_loop))
    for database, engines in groups:
        for state in ("checked_out", "idle", "overflow", "size"):
            totals[(database, state)] = 0
        for engine in engines:
            for state, value in _pool_numbers(engine).items():
                totals[(database, state)] += value
    for (database, state), value in totals.items():
        POOL.labels(database, state).set(value)


def start_pool_sampler(instance: Any, stop: threading.Event) -> threading.Thread:
    """Refresh the pool gauges every SAMPLE_SECONDS until `stop` is set (multiprocess mode)."""

    def run() -> None:
        while not stop.wait(SAMPLE_SECONDS):
            sample_pools(instance)

    thread = threading.Thread(target=run, name="kt-metrics-pools", daemon=True)
    thread.start()
    return thread


def outbox_lag(engine: Engine) -> dict[str, int]:
    """Events each consumer of a workspace's outbox has not handled yet."""
    c = schema.outbox_cursor
    with read_connection(engine) as conn:
        newest = counters.peek(conn, "event_seq")
        rows = conn.execute(sa.select(c.c.consumer, c.c.last_seq)).all()
    return {row.consumer: max(0, newest - int(row.last_seq)) for row in rows}


class OutboxLagCollector(Collector):
    """`kartoteka_outbox_lag_events{workspace, consumer}` for workspaces this process opened."""

    def __init__(self, instance: Any) -> None:
        self.instance = instance

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One sample per workspace and consumer; a workspace that fails to answer is skipped."""
        family = GaugeMetricFamily(
            "kartoteka_outbox_lag_events",
            "Outbox events not yet handled by a consumer: the newest event sequence "
            "minus the consumer's position.",
            labels=["workspace", "consumer"],
        )
        for name, engine in sorted(self.instance.dbs.open_engines().items()):
            try:
                lags = outbox_lag(engine)
            except sa.exc.SQLAlchemyError:
                continue  # a workspace being dropped or moved; the next scrape sees it again
            for consumer, lag in sorted(lags.items()):
                family.add_metric([name, consumer], lag)
        yield family
