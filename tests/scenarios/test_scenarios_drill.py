"""Fault drill: a worker killed mid-run; every run still completes exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support.receiver import Receiver
from support.scenarios import deals_and_clients, fixed_clock, runs, scenario, work, workspace

from kartoteka.scenarios import engine, records_port
from kartoteka.scenarios.clock import clock
from kartoteka.storage import schema

__all__ = ["fixed_clock"]

WORKER = """
import sys, json, time
from pathlib import Path
from kartoteka.config import Settings
from kartoteka.workspaces.service import Instance
from kartoteka.scenarios import engine, worker
spec = json.loads(sys.argv[1])
settings = Settings(data_dir=Path(spec["data_dir"]), database_url=spec["database_url"],
                    default_workspace=spec["workspace"], webhook_allow_private=True)
instance = Instance(settings)
ws = instance.workspace(spec["workspace"])
services = engine.Services(allow_private=True)
print("ready", flush=True)
while True:
    worker.run_once(ws, services, owner="doomed")
    time.sleep(0.01)
"""


def drill_scenario(api: Any, url: str) -> dict[str, Any]:
    return scenario(
        api,
        {
            "name": "Deal to client",
            "trigger": {"type": "record.created", "catalog": "deals"},
            "steps": [
                {"type": "condition", "filter": {"amount": {"gte": 0}}, "then": []},
                {"type": "update_record", "values": {"note": "seen"}},
                {"type": "http", "method": "POST", "url": url, "json": {"deal": "{{ record.id }}"}},
                {
                    "type": "create_record",
                    "catalog": "clients",
                    "values": {"name": "client of {{ record.id }}"},
                },
                {"type": "comment", "text": "handled"},
            ],
        },
    )


def check_exactly_once(
    api: Any, instance: Any, sc: dict[str, Any], deals: list[int], receiver: Receiver
) -> None:
    all_runs = runs(api, sc["id"], limit=200)
    assert len(all_runs) == len(deals) and {r["status"] for r in all_runs} == {"done"}
    names = Counter(
        c["values"]["name"] for c in api.get("/catalogs/clients/records?limit=1000").json()["items"]
    )
    assert names == Counter(f"client of {d}" for d in deals)
    with workspace(instance).engine.connect() as conn:
        comments = conn.execute(
            sa.select(schema.comments.c.record_id, sa.func.count()).group_by(
                schema.comments.c.record_id
            )
        ).all()
    assert sorted(comments) == sorted((d, 1) for d in deals)
    # HTTP is at least once, and a repeat carries the same idempotency key.
    keys = Counter(r["headers"]["idempotency-key"] for r in receiver.at("/drill"))
    assert len(keys) == len(deals)


def test_crash_between_a_write_and_its_step_record_does_not_write_twice(
    api, instance, receiver, fixed_clock, monkeypatch
):
    deals_and_clients(api)
    sc = drill_scenario(api, receiver.url("/drill"))
    deal = api.record("deals", {"name": "D", "amount": 1})
    real_create = records_port.create

    def create_then_die(actor: Any, catalog: Any, values: Any) -> Any:
        real_create(actor, catalog, values)
        raise KeyboardInterrupt("the worker is killed right after the write committed")

    monkeypatch.setattr(records_port, "create", create_then_die)
    with pytest.raises(KeyboardInterrupt):
        work(instance)
    monkeypatch.setattr(records_port, "create", real_create)
    assert runs(api, sc["id"])[0]["status"] == "running"
    work(instance)  # the lease still holds: nobody touches the run
    assert runs(api, sc["id"])[0]["status"] == "running"
    fixed_clock.advance(timedelta(seconds=engine.LEASE_SECONDS + 1))
    work(instance)
    check_exactly_once(api, instance, sc, [deal["id"]], receiver)
    [run] = runs(api, sc["id"])
    create_step = next(s for s in run["steps"] if s["kind"] == "create_record")
    assert create_step["output"]["recovered"] is True


def test_kill_9_a_worker_mid_run(api, instance, receiver, tmp_path: Path):
    deals_and_clients(api)
    sc = drill_scenario(api, receiver.url("/drill"))
    receiver.delay["/drill"] = 0.02
    deals = api.records("deals", [{"name": f"D{i}", "amount": i} for i in range(40)])
    settings = instance.settings
    spec = {
        "data_dir": str(settings.data_dir),
        "database_url": settings.database_url,
        "workspace": settings.default_workspace,
    }
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(spec)],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 60
        while len(receiver.at("/drill")) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    started = len(receiver.at("/drill"))
    assert 10 <= started < 40, "the worker must die in the middle of the batch"
    # Another worker, once the dead one's leases ran out, finishes everything.
    clock.set(clock.now() + timedelta(seconds=engine.LEASE_SECONDS + 1))
    try:
        work(instance)
    finally:
        clock.set(None)
    check_exactly_once(api, instance, sc, deals, receiver)
