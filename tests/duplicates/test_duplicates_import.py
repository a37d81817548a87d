"""Imports and duplicate rules: report (error file), skip, merge into the match, allow."""

from __future__ import annotations

import pytest
from support.imports import csv_bytes, upload, wait_job

FIELDS = [
    {"name": "Name", "api_name": "name", "type": "text"},
    {"name": "Phone", "api_name": "phone", "type": "phone"},
    {"name": "City", "api_name": "city", "type": "text"},
]
FILE = csv_bytes(
    [
        ["Name", "Phone", "City"],
        ["Иван", "8 (916) 123-45-67", "Москва"],  # duplicates the existing record
        ["Новый", "+7 495 000-00-01", "Тверь"],  # new
        ["Ещё новый", "84950000001", "Тула"],  # repeats the row above
    ]
)


def _setup(api):
    api.catalog("Clients", FIELDS)
    assert api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone"]}).status_code == 201
    return api.record("clients", {"name": "Иван Петров", "phone": "+79161234567"})["id"]


def _run(api, options):
    r = upload(
        api,
        "clients",
        FILE,
        {"mapping": {"Name": "name", "Phone": "phone", "City": "city"}, **options},
    )
    assert r.status_code == 202, r.text
    return wait_job(api, r.json()["id"])


def _names(api):
    items = api.get("/catalogs/clients/records?limit=100").json()["items"]
    return sorted(i["values"]["name"] for i in items)


def test_report_refuses_rows_with_reasons(api):
    existing = _setup(api)
    job = _run(api, {})
    assert job["status"] == "done" and job["created"] == 1 and job["errors"] == 2
    messages = {e["line"]: e["message"] for e in job["error_sample"]}
    assert f"#{existing}" in messages[2] and "Phone" in messages[2]
    assert "line 3" in messages[4]
    assert _names(api) == ["Иван Петров", "Новый"]
    # The reason is a code too: a Russian reader (the wizard, the API) reads it in Russian.
    ru = api.get(f"/imports/{job['id']}", headers={"Accept-Language": "ru"}).json()
    by_line = {e["line"]: e for e in ru["error_sample"]}
    assert by_line[2]["code"] == "duplicate"
    assert f"дублирует #{existing} Иван Петров" in by_line[2]["message"]
    errors = api.get(f"/imports/{job['id']}/errors")
    assert errors.status_code == 200 and "8 (916) 123-45-67" in errors.text


def test_skip_leaves_them_out(api):
    _setup(api)
    job = _run(api, {"duplicates": "skip"})
    assert (job["created"], job["unchanged"], job["errors"]) == (1, 2, 0)
    assert _names(api) == ["Иван Петров", "Новый"]


def test_merge_updates_the_match(api):
    existing = _setup(api)
    job = _run(api, {"duplicates": "merge"})
    assert (job["created"], job["updated"], job["errors"]) == (1, 1, 1)
    record = api.get(f"/catalogs/clients/records/{existing}").json()["values"]
    assert record["name"] == "Иван" and record["city"] == "Москва"
    assert _names(api) == ["Иван", "Новый"]


def test_allow_creates_everything_and_bad_option(api):
    _setup(api)
    job = _run(api, {"duplicates": "allow"})
    assert (job["created"], job["errors"]) == (3, 0)
    r = upload(api, "clients", FILE, {"duplicates": "maybe"})
    assert r.status_code == 422 and "options.duplicates" in r.text


@pytest.mark.parametrize("mode", ["report", "skip"])
def test_dry_run_judges_duplicates_too(api, mode):
    _setup(api)
    job = _run(api, {"duplicates": mode, "dry_run": True})
    assert job["created"] == 1
    assert _names(api) == ["Иван Петров"]
