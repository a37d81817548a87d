"""Helpers shared by the scenario tests: the workspace, the clock, a worker pass."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from kartoteka.scenarios import engine, worker
from kartoteka.scenarios.clock import clock

START = datetime(2026, 3, 2, 8, 0, 0)  # a Monday, 08:00 UTC


def workspace(instance: Any) -> Any:
    return instance.workspace(instance.settings.default_workspace)


def work(instance: Any, services: engine.Services | None = None) -> int:
    """One scenario worker pass at the clock's time (and more while runs keep coming)."""
    ws = workspace(instance)
    own = services or engine.Services(allow_private=True)
    total = 0
    try:
        for _ in range(20):
            done = worker.run_once(ws, own, owner="test-worker")
            total += done
            if not done:
                break
    finally:
        if services is None:
            own.close()
    return total


@pytest.fixture
def fixed_clock() -> Iterator[Any]:
    clock.set(START)
    yield clock
    clock.set(None)


def scenario(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/scenarios", body)
    assert r.status_code == 201, r.text
    return r.json()


def runs(api: Any, scenario_id: int, **params: Any) -> list[dict[str, Any]]:
    r = api.get(f"/scenarios/{scenario_id}/runs", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def deals_and_clients(api: Any) -> None:
    api.catalog(
        "Clients",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "Total", "api_name": "total", "type": "number"},
            {"name": "Email", "api_name": "email", "type": "email"},
            {"name": "Birthday", "api_name": "birthday", "type": "date"},
        ],
        api_name="clients",
    )
    api.catalog(
        "Deals",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "Amount", "api_name": "amount", "type": "number"},
            {
                "name": "Stage",
                "api_name": "stage",
                "type": "select",
                "options": {"choices": ["New", "Won", "Lost"]},
            },
            {"name": "Note", "api_name": "note", "type": "text"},
        ],
        api_name="deals",
    )
