"""Resuming imports: after kill -9, after a cancel, by itself on restart, and in the CLI —
every row exactly once, even in mode create."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PG_URL
from support.imports import count, csv_bytes, run_import, upload, wait_job

from kartoteka.context import Actor
from kartoteka.importer import jobs, resume, runner
from kartoteka.storage import schema

ROWS = 6000


def things(api) -> None:
    api.catalog(
        "Things",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "Size", "api_name": "size", "type": "number"},
        ],
        api_name="things",
    )


def names(instance) -> tuple[int, int]:
    """(records, distinct names) of the things catalog, read from the table."""
    ws = instance.workspace(instance.settings.default_workspace)
    catalog = ws.meta().catalog("things")
    col = catalog.table.c[catalog.by_api_name["name"].col]
    with ws.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(catalog.table)).scalar_one()
        d = conn.execute(sa.select(sa.func.count(sa.distinct(col)))).scalar_one()
    return int(n), int(d)


def file_of(n: int, bad_every: int = 0) -> bytes:
    rows: list[list[Any]] = [["name", "size"]]
    for i in range(n):
        rows.append([f"thing {i}", "x" if bad_every and i % bad_every == 0 else str(i)])
    return csv_bytes(rows)


KILLER = textwrap.dedent(
    """
    import io, os, sys, time
    from pathlib import Path
    from kartoteka.config import Settings
    from kartoteka.context import Actor
    from kartoteka.importer import jobs, resume, runner
    from kartoteka.workspaces.service import Instance

    runner.CHUNK_ROWS = 500
    settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None,
                        default_workspace=sys.argv[3], webhook_allow_private=True)
    ws = Instance(settings).workspace(sys.argv[3])
    rows = "name,size\\n" + "".join(f"thing {i},{'x' if i % 1000 == 7 else i}\\n"
                                    for i in range(int(sys.argv[4])))
    job = jobs.start_import(Actor.system(ws), "things", io.BytesIO(rows.encode()), "t.csv",
                            {"mode": "create"})
    print(job, flush=True)
    while True:
        status = jobs.get_import(Actor.system(ws), job)
        if status["created"] >= int(sys.argv[4]) // 3:
            os.kill(os.getpid(), 9)  # the server dies mid-import, mid-chunk
        time.sleep(0.001)
    """
)


def test_an_import_killed_mid_way_resumes_with_every_row_exactly_once(api, instance):
    things(api)
    settings = instance.settings
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(settings.data_dir), PG_URL or "",
         settings.default_workspace, str(ROWS)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == -9, proc.stderr
    job_id = int(proc.stdout.split()[0])
    before = api.get(f"/imports/{job_id}").json()
    assert before["status"] == "interrupted" and before["resumable"], before
    kept, _ = names(instance)
    assert 0 < kept < ROWS - ROWS // 1000
    # What the job says it wrote is exactly what is there: chunk and checkpoint commit together.
    assert before["created"] == kept
    r = api.post(f"/imports/{job_id}/resume")
    assert r.status_code == 200, r.text
    job = wait_job(api, job_id)
    assert job["status"] == "done", job
    bad = ROWS // 1000
    assert names(instance) == (ROWS - bad, ROWS - bad)  # none twice, none lost
    assert (job["created"], job["errors"], job["processed"]) == (ROWS - bad, bad, ROWS), job
    assert job["error_rows"] == bad
    again = api.post(f"/imports/{job_id}/resume")
    assert again.status_code == 409


def test_a_cancelled_import_stops_after_its_chunk_and_resumes(api, instance, monkeypatch):
    things(api)
    monkeypatch.setattr(runner, "CHUNK_ROWS", 100)
    asked: dict[str, Any] = {}
    real = jobs._cancel_requested

    def cancel_at_third_chunk(ws: Any, job_id: int) -> bool:
        asked["n"] = asked.get("n", 0) + 1
        if asked["n"] == 3:
            jobs.cancel_import(Actor.system(ws), job_id)
        return real(ws, job_id)

    monkeypatch.setattr(jobs, "_cancel_requested", cancel_at_third_chunk)
    r = upload(api, "things", file_of(1000), {"mode": "create"})
    job = wait_job(api, r.json()["id"])
    assert job["status"] == "cancelled" and job["resumable"], job
    assert job["processed"] == job["created"] == names(instance)[0] == 200  # whole chunks
    monkeypatch.setattr(jobs, "_cancel_requested", real)
    resumed = api.post(f"/imports/{job['id']}/resume")
    assert resumed.status_code == 200, resumed.text
    job = wait_job(api, job["id"])
    assert (job["status"], job["created"], job["processed"]) == ("done", 1000, 1000), job
    assert names(instance) == (1000, 1000)


def test_what_cannot_be_resumed_says_why(api, instance):
    things(api)
    done = run_import(api, "things", file_of(3), {})
    r = api.post(f"/imports/{done['id']}/resume")
    assert r.status_code == 409 and "done" in r.json()["message"]
    dry = run_import(api, "things", file_of(3), {"dry_run": True})
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.begin() as conn:
        t = schema.imports
        conn.execute(sa.update(t).where(t.c.id == dry["id"]).values(status="cancelled"))
    r = api.post(f"/imports/{dry['id']}/resume")
    assert r.status_code == 409 and "dry run" in r.json()["message"]
    assert api.post("/imports/999999/resume").status_code == 404


def test_the_worker_resumes_an_interrupted_upload_by_itself(api, instance, monkeypatch):
    things(api)
    monkeypatch.setattr(runner, "CHUNK_ROWS", 100)
    monkeypatch.setattr(runner, "GROUP_CHUNKS", 1)  # (the check runs once per chunk)
    ws = instance.workspace(instance.settings.default_workspace)
    calls = {"n": 0}
    real = jobs._cancel_requested

    def stop_after_two_chunks(w: Any, job_id: int) -> bool:
        calls["n"] += 1
        return calls["n"] == 3 or real(w, job_id)

    monkeypatch.setattr(jobs, "_cancel_requested", stop_after_two_chunks)
    job_id = upload(api, "things", file_of(500), {"mode": "create"}).json()["id"]
    assert wait_job(api, job_id)["status"] == "cancelled"
    monkeypatch.setattr(jobs, "_cancel_requested", real)
    t = schema.imports
    with ws.engine.begin() as conn:  # its process died: what the sweep marks
        conn.execute(sa.update(t).where(t.c.id == job_id).values(status="interrupted"))
    assert names(instance)[0] == 200
    assert resume.resume_interrupted(ws) == 1
    job = wait_job(api, job_id)
    assert (job["status"], job["created"]) == ("done", 500), job
    assert names(instance) == (500, 500)


@pytest.fixture
def cli_file(tmp_path: Path) -> Path:
    path = tmp_path / "things.csv"
    path.write_bytes(file_of(300, bad_every=100))
    return path


def test_the_cli_stops_resumes_and_writes_the_error_file(api, instance, cli_file, tmp_path,
                                                          monkeypatch, capsys):  # fmt: skip
    import typer

    from kartoteka.importer import cli

    things(api)
    monkeypatch.setattr(runner, "CHUNK_ROWS", 100)
    real = jobs._cancel_requested
    calls = {"n": 0}

    def ctrl_c_once(ws: Any, job_id: int) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            jobs.request_cancel(ws, job_id)  # what the CLI's SIGINT handler does
        return real(ws, job_id)

    monkeypatch.setattr(jobs, "_cancel_requested", ctrl_c_once)
    with pytest.raises(typer.Exit) as stopped:
        options = '{"mode": "create", "encoding": "utf-8"}'
        cli.import_command(instance, cli_file, "things", options=options, as_json=True)
    assert stopped.value.exit_code == 130
    out = capsys.readouterr().out
    assert "--resume 1" in out
    assert names(instance)[0] == 99  # one whole chunk (one bad row refused)
    monkeypatch.setattr(jobs, "_cancel_requested", real)
    job = cli.resume_command(instance, 1, as_json=True)
    assert (job["status"], job["created"], job["errors"]) == ("done", 297, 3), job
    assert names(instance) == (297, 297)
    errors = tmp_path / "errors.csv"
    cli.errors_command(instance, 1, errors)
    lines = errors.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "name,size,line,column,error"
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["thing 0", "x", "2"], ["thing 100", "x", "102"], ["thing 200", "x", "202"],
    ]  # fmt: skip
    assert count(api, "things") == 297
