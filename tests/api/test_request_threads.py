"""Requests in threads never outnumber the connections a pool keeps (issue 16): with 40
request threads over a pool of 5, one GET in ten under 32 concurrent clients opened a
PostgreSQL connection that the pool closed again on return."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from starlette.testclient import TestClient


def _request_threads(client: TestClient) -> int:
    """The server loop's limit on requests running in threads at once."""
    return client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)


def _connections_opened(engine: sa.Engine, at_once: int, rounds: int) -> int:
    """New database connections made while `at_once` connections are taken together and
    given back, `rounds` times, after a first round that fills the pool."""
    opened: list[object] = []

    def count(*_: object) -> None:
        opened.append(None)

    def one_round() -> None:
        held = [engine.connect() for _ in range(at_once)]
        for conn in held:
            conn.close()

    one_round()
    sa.event.listen(engine, "connect", count)
    try:
        for _ in range(rounds):
            one_round()
    finally:
        sa.event.remove(engine, "connect", count)
    return len(opened)


def test_busy_request_threads_reuse_pooled_connections(app: Any, instance: Any) -> None:
    ws = instance.workspace(instance.settings.default_workspace)
    with TestClient(app) as client:
        threads = _request_threads(client)
        assert 1 <= threads <= ws.engine.pool.size()
    assert _connections_opened(ws.engine, threads, rounds=3) == 0
