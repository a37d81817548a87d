"""Import jobs cut off by a dead process are reported as interrupted, with what was kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import sqlalchemy as sa
from conftest import PG_URL

from kartoteka.importer import jobs
from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow


def _job_row(ws, **values) -> int:
    now = utcnow()
    row = {
        "catalog_id": 1,
        "status": "running",
        "options": {},
        "processed": 1500,
        "created": 1000,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
        "error_sample": [],
        "created_by": None,
        "created_at": now,
        "heartbeat_at": now,
        **values,
    }
    with ws.engine.begin() as conn:
        return int(conn.execute(sa.insert(schema.imports).values(row)).inserted_primary_key[0])


def _status(ws, job_id: int) -> str:
    with ws.engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(schema.imports.c.status).where(schema.imports.c.id == job_id)
            ).scalar_one()
        )


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_jobs_of_dead_or_silent_processes_are_interrupted(api, instance):
    api.catalog("Things", [{"name": "Name", "type": "text"}])
    ws = instance.workspace(instance.settings.default_workspace)
    here = socket.gethostname()
    dead = _job_row(ws, owner=f"{here}:{_dead_pid()}:1")
    alive = _job_row(ws, owner=jobs.owner())  # this very process: still running
    silent = _job_row(ws, owner="other-host:1:1", heartbeat_at=utcnow() - timedelta(minutes=5))
    beating = _job_row(ws, owner="other-host:2:1")
    job = api.get(f"/imports/{dead}").json()
    assert job["status"] == "interrupted" and job["finished_at"]
    assert job["processed"] == 1500 and job["created"] == 1000
    assert "cut off" in job["error_sample"][-1]["message"]
    assert "the 1000 records written before that are kept" in job["error_sample"][-1]["message"]
    assert f"--resume {dead}" in job["message"] and job["resumable"]
    assert api.get(f"/imports/{alive}").json()["status"] == "running"
    assert api.get(f"/imports/{beating}").json()["status"] == "running"
    assert jobs.sweep_interrupted(ws) == 1  # the silent one on the other host
    assert api.get(f"/imports/{silent}").json()["status"] == "interrupted"
    assert jobs.sweep_interrupted(ws) == 0


SCRIPT = textwrap.dedent(
    """
    import io, os, sys, time
    from pathlib import Path
    from kartoteka.config import Settings
    from kartoteka.context import Actor
    from kartoteka.importer import jobs
    from kartoteka.workspaces.service import Instance

    settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None,
                        default_workspace=sys.argv[3], webhook_allow_private=True)
    ws = Instance(settings).workspace(sys.argv[3])
    rows = "name\\n" + "".join(f"thing {i}\\n" for i in range(200_000))
    job = jobs.start_import(Actor.system(ws), "things", io.BytesIO(rows.encode()), "t.csv", {})
    print(job, flush=True)
    while True:
        time.sleep(0.05)
        status = jobs.get_import(Actor.system(ws), job)
        if status["processed"] > 0 and status["created"] > 0:
            os._exit(9)  # the server dies mid-import
    """
)


def test_a_killed_server_leaves_an_interrupted_job_not_a_running_one(api, instance):
    api.catalog("Things", [{"name": "Name", "type": "text"}])
    settings = instance.settings
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(settings.data_dir), PG_URL or "",
         settings.default_workspace],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 9, proc.stderr
    job_id = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 10
    job = api.get(f"/imports/{job_id}").json()
    while job["status"] != "interrupted" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.get(f"/imports/{job_id}").json()
    assert job["status"] == "interrupted", job
    kept = api.get("/catalogs/things/records", params={"count": "true", "limit": 1}).json()
    # Chunks are committed before their progress is stored: at least what the job says.
    assert kept["count"] >= job["created"] > 0


def test_the_worker_sweeps_interrupted_jobs_and_runs_maintenance(api, instance, monkeypatch):
    from kartoteka import workers
    from kartoteka.webhooks import maintenance

    api.catalog("Things", [{"name": "Name", "type": "text"}])
    ws = instance.workspace(instance.settings.default_workspace)
    dead = _job_row(ws, owner=f"{socket.gethostname()}:{_dead_pid()}:1")
    ran: list[str] = []
    real = maintenance.run
    monkeypatch.setattr(maintenance, "run", lambda w, **kw: ran.append(w.name) or real(w, **kw))
    stop = workers.start_in_process(instance, only=[ws.name], poll_seconds=0.2)
    try:
        deadline = time.monotonic() + 20
        # Read the row itself: GET /imports/{id} would mark the job on its own.
        while _status(ws, dead) != "interrupted":
            assert time.monotonic() < deadline, "the worker did not sweep the job"
            time.sleep(0.1)
    finally:
        stop()
    assert ran == [ws.name]
