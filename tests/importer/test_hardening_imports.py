"""Imports under attack: rights checked when accepted, a tiny XLSX declaring the whole
sheet read in a blink, limits on what a file may make the server read, cancellation
(API and CLI) and a per-workspace cap on running imports."""

from __future__ import annotations

import io
import re
import threading
import time
import zipfile
from typing import Any

import openpyxl
import orjson
import pytest
from conftest import Api
from typer.testing import CliRunner

from kartoteka.cli import app as cli_app
from kartoteka.importer import jobs, readers
from kartoteka.importer.service import ImportResult

FINISHED = {"done", "failed", "cancelled", "interrupted"}


def _xlsx(cells: dict[str, str], dimension: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    for ref, value in cells.items():
        book.active[ref] = value  # type: ignore[index]
    raw = io.BytesIO()
    book.save(raw)
    if dimension is None:
        return raw.getvalue()
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                ref = f'<dimension ref="{dimension}"/>'.encode()
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', ref, data)
            dst.writestr(item, data)
    return out.getvalue()


def _upload(api: Api, content: bytes, name: str = "a.xlsx", **kw: Any) -> Any:
    return api.client.post(
        "/api/v1/catalogs/things/imports",
        files={"file": (name, content)},
        data={"options": orjson.dumps(kw.pop("options", {})).decode()},
        **kw,
    )


def _wait(api: Api, job_id: int) -> dict[str, Any]:
    for _ in range(600):  # polls until the background thread is done (not a timing check)
        job = api.get(f"/imports/{job_id}").json()
        if job["status"] in FINISHED:
            return job
        time.sleep(0.05)
    raise AssertionError(job)


@pytest.fixture
def things(api: Api) -> None:
    api.catalog("Things", [{"name": "Name", "type": "text"}])


def test_a_user_without_a_grant_cannot_start_an_import(api: Api, things: None) -> None:
    api.post("/users", {"email": "eve@example.com", "name": "Eve", "password": "password-eve"})
    login = {"email": "eve@example.com", "password": "password-eve"}
    token = api.client.post("/api/v1/auth/login", json=login).json()["token"]
    r = _upload(
        api,
        _xlsx({"A1": "name", "A1048576": "x"}, "A1:XFD1048576"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"


def test_a_whole_sheet_dimension_is_not_walked(api: Api, things: None) -> None:
    content = _xlsx({"A1": "name", "A2": "first", "A1048576": "last"}, "A1:XFD1048576")
    assert len(content) < 8000
    r = _upload(api, content)
    assert r.status_code == 202, r.text
    job = _wait(api, r.json()["id"])
    assert job["status"] == "done" and job["created"] == 2, job


def test_files_over_the_limits_are_refused(api: Api, things: None, monkeypatch: Any) -> None:
    monkeypatch.setattr(readers, "MAX_COLUMNS", 3)
    wide = b"a,b,c,d\n1,2,3,4\n"
    r = _upload(api, wide, name="w.csv")
    assert r.status_code == 422 and "more than 3 columns" in r.json()["fields"]["file"]
    r = _upload(api, _xlsx({"A1": "a", "E1": "e"}))
    assert r.status_code == 422 and "more than 3 columns" in r.json()["fields"]["file"]
    monkeypatch.setattr(readers, "MAX_XLSX_UNCOMPRESSED", 1000)
    r = _upload(api, _xlsx({"A1": "name"}))
    assert r.status_code == 422 and "unpacks to" in r.json()["fields"]["file"]


@pytest.fixture
def slow_import(monkeypatch: Any) -> threading.Event:
    """Imports that report a chunk every few milliseconds until cancelled (or 20 s)."""
    started = threading.Event()

    def run(actor: Any, plan: Any, progress: Any = None, *_rest: Any, **_kw: Any) -> ImportResult:
        result = ImportResult(status="running", total=10_000)
        started.set()
        for _ in range(2000):
            result.processed += 1
            progress(result)
            time.sleep(0.01)
        result.status = "done"
        return result

    monkeypatch.setattr(jobs, "run_import", run)
    return started


def test_cancel_stops_a_running_import(api: Api, things: None, slow_import: Any) -> None:
    job_id = _upload(api, b"name\nx\n", name="a.csv").json()["id"]
    assert slow_import.wait(10)
    r = api.post(f"/imports/{job_id}/cancel")
    assert r.status_code == 200, r.text
    job = _wait(api, job_id)
    assert job["status"] == "cancelled" and job["processed"] < 2000
    again = api.post(f"/imports/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["error"] == "CONFLICT"
    assert api.post("/imports/999999/cancel").status_code == 404


def test_cli_cancels_an_import(api: Api, things: None, slow_import: Any) -> None:
    job_id = _upload(api, b"name\nx\n", name="a.csv").json()["id"]
    assert slow_import.wait(10)
    settings = api.client.app.state.instance.settings  # type: ignore[attr-defined]
    base = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        base += ["--database-url", settings.database_url]
    env = {"KARTOTEKA_DEFAULT_WORKSPACE": settings.default_workspace}
    result = CliRunner().invoke(cli_app, [*base, "import", "--cancel", str(job_id)], env=env)
    assert result.exit_code == 0, result.output
    assert _wait(api, job_id)["status"] == "cancelled"
    missing = CliRunner().invoke(cli_app, [*base, "import"], env=env)
    assert missing.exit_code == 1 and "--cancel" in missing.output


def test_a_workspace_runs_a_limited_number_of_imports(
    api: Api, things: None, slow_import: Any
) -> None:
    ids = [_upload(api, b"name\nx\n", name="a.csv").json()["id"] for _ in range(2)]
    r = _upload(api, b"name\nx\n", name="a.csv")
    assert r.status_code == 429 and r.json()["error"] == "RATE_LIMITED"
    for job_id in ids:
        api.post(f"/imports/{job_id}/cancel")
        _wait(api, job_id)
    last = _upload(api, b"name\nx\n", name="a.csv")
    assert last.status_code == 202
    api.post(f"/imports/{last.json()['id']}/cancel")
    assert _wait(api, last.json()["id"])["status"] == "cancelled"
