"""Chunks committed in groups (`transaction.ChunkGroup`): a group commits or rolls back
whole, its counts with it; a chunk reads the rows of the chunks before it in its group;
a stop or a cancel still ends after the current chunk."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from support.imports import csv_bytes, upload, wait_job

from kartoteka.context import Actor
from kartoteka.importer import jobs, runner
from kartoteka.importer.options import parse_options
from kartoteka.importer.plan import plan_import


@pytest.fixture
def small_groups(monkeypatch: Any) -> None:
    monkeypatch.setattr(runner, "CHUNK_ROWS", 100)
    monkeypatch.setattr(runner, "GROUP_CHUNKS", 3)
    monkeypatch.setattr(runner, "GROUP_SECONDS", 3600.0)  # (groups by count only, here)


def things(api) -> None:
    api.catalog(
        "Things",
        [
            {"name": "Name", "api_name": "name", "type": "text", "unique": True},
            {"name": "Size", "api_name": "size", "type": "number"},
        ],
        api_name="things",
    )


def stored(instance) -> list[str]:
    ws = instance.workspace(instance.settings.default_workspace)
    catalog = ws.meta().catalog("things")
    col = catalog.table.c[catalog.by_api_name["name"].col]
    with ws.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(col).order_by(catalog.table.c.id))]


def file_of(n: int, bad: int | None = None) -> bytes:
    rows: list[list[Any]] = [["name", "size"]]
    rows += [[f"thing {i}", "x" if i == bad else str(i)] for i in range(n)]
    return csv_bytes(rows)


def test_a_failure_rolls_back_the_open_group_and_its_counts_then_resume_is_exact(
    api, instance, small_groups, monkeypatch, tmp_path
):
    things(api)
    real = runner.Runner._write
    calls = {"n": 0}

    def fail_fifth_chunk(self: Any, actor: Any, rows: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise SystemExit("stopped mid-group")
        real(self, actor, rows)

    monkeypatch.setattr(runner.Runner, "_write", fail_fifth_chunk)
    path = tmp_path / "things.csv"
    path.write_bytes(file_of(1000))
    ws = instance.workspace(instance.settings.default_workspace)
    actor = Actor.system(ws)
    plan = plan_import(actor, "things", path, parse_options({"mode": "create"}))
    job_id = jobs.create_job(actor, plan, path.name)
    with pytest.raises(SystemExit):  # the CLI's process stopped mid-group
        jobs.run_job(actor, plan, job_id)
    job = api.get(f"/imports/{job_id}").json()
    assert job["status"] == "interrupted" and job["resumable"], job
    # Chunks 1-3 committed as a group; 4 and 5 were in the open group, rolled back whole.
    assert stored(instance) == [f"thing {i}" for i in range(300)]
    assert (job["processed"], job["created"]) == (300, 300), job
    monkeypatch.setattr(runner.Runner, "_write", real)
    assert api.post(f"/imports/{job_id}/resume").status_code == 200
    job = wait_job(api, job_id)
    assert (job["status"], job["processed"], job["created"]) == ("done", 1000, 1000), job
    assert stored(instance) == [f"thing {i}" for i in range(1000)]  # none twice, none lost


def test_a_stop_keeps_the_whole_chunks_before_the_stopping_row(api, instance, small_groups):
    things(api)
    options = {"mode": "create", "on_error": "stop"}
    job = wait_job(api, upload(api, "things", file_of(1000, bad=450), options).json()["id"])
    assert job["status"] == "failed" and "line 452" in str(job["error_sample"]), job
    # Chunk 5 holds the bad row: chunks 1-4 stay, though 4 was in the open group.
    assert stored(instance) == [f"thing {i}" for i in range(400)]
    assert (job["created"], job["errors"]) == (400, 1), job


def test_a_cancel_stops_after_the_current_chunk_inside_a_group(
    api, instance, small_groups, monkeypatch
):
    things(api)
    real, write = jobs._cancel_requested, runner.Runner._write
    written = {"chunks": 0}

    def counted(self: Any, actor: Any, rows: Any) -> None:
        write(self, actor, rows)
        written["chunks"] += 1

    def cancel_after_second_chunk(ws: Any, job_id: int) -> bool:
        if written["chunks"] == 2:  # asked while chunk 2 is written, its group still open
            jobs.cancel_import(Actor.system(ws), job_id)
        return real(ws, job_id)

    monkeypatch.setattr(runner.Runner, "_write", counted)
    monkeypatch.setattr(jobs, "_cancel_requested", cancel_after_second_chunk)
    job = wait_job(api, upload(api, "things", file_of(1000), {"mode": "create"}).json()["id"])
    assert job["status"] == "cancelled" and job["resumable"], job
    assert stored(instance) == [f"thing {i}" for i in range(200)]
    assert (job["processed"], job["created"]) == (200, 200), job


def test_a_chunk_links_to_records_an_earlier_chunk_of_its_group_created(
    api, instance, small_groups
):
    things(api)
    things_id = api.get("/catalogs/things").json()["id"]
    r = api.post(
        "/catalogs/things/fields",
        json={"name": "Parent", "api_name": "parent", "type": "link",
              "options": {"catalog": things_id}},
    )  # fmt: skip
    assert r.status_code in (200, 201), r.text
    rows: list[list[Any]] = [["name", "size", "parent"]]
    rows += [[f"thing {i}", str(i), f"thing {i - 150}" if i >= 150 else ""] for i in range(600)]
    options = {"mode": "create", "link_keys": {"parent": "name"}}
    job = wait_job(api, upload(api, "things", csv_bytes(rows), options).json()["id"])
    assert (job["status"], job["created"], job["errors"]) == ("done", 600, 0), job
    got = api.get("/catalogs/things/records",
                  params={"filter": json.dumps({"name": {"eq": "thing 420"}})})  # fmt: skip
    record = got.json()["items"][0]
    parent = record["values"]["parent"]
    assert [p["title"] for p in parent] == ["thing 270"], record


def test_a_group_open_too_long_commits_before_it_is_full(api, instance, monkeypatch, tmp_path):
    """`GROUP_SECONDS` bounds how long rows wait for their commit (and other writers for
    the lock): at 0 s every chunk commits, and progress is told after each."""
    things(api)
    monkeypatch.setattr(runner, "CHUNK_ROWS", 100)
    monkeypatch.setattr(runner, "GROUP_CHUNKS", 100)
    monkeypatch.setattr(runner, "GROUP_SECONDS", 0.0)
    path = tmp_path / "things.csv"
    path.write_bytes(file_of(500))
    ws = instance.workspace(instance.settings.default_workspace)
    actor = Actor.system(ws)
    plan = plan_import(actor, "things", path, parse_options({"mode": "create"}))
    told: list[int] = []
    result = jobs.run_job(actor, plan, jobs.create_job(actor, plan, path.name),
                          progress=lambda r: told.append(r.processed))  # fmt: skip
    assert (result.status, result.created) == ("done", 500)
    assert told[-5:] == [100, 200, 300, 400, 500], told
