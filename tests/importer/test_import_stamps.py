"""Historical data: an import keeping the file's created/updated dates and authors
(`keep_stamps`), by administrators only; history says the records were imported."""

from __future__ import annotations

import base64

from support.imports import csv_bytes, records, run_import, upload, wait_job

FIELDS = [
    {"name": "Номер", "api_name": "number", "type": "text", "unique": True},
    {"name": "Сумма", "api_name": "amount", "type": "money"},
]
MAPPING = {"Номер": "number", "Сумма": "amount", "Создана": "created_at",
           "Изменена": "updated_at", "Автор": "created_by", "Редактор": "updated_by"}  # fmt: skip
HEADER = ["Номер", "Сумма", "Создана", "Изменена", "Автор", "Редактор"]


def _setup(api) -> int:
    api.catalog("Сделки", FIELDS, api_name="deals")
    r = api.post(
        "/users", {"email": "Olga@Example.com", "name": "Ольга", "password": "long-password-1"}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_the_files_dates_and_authors_are_kept_and_history_says_imported(api):
    olga = _setup(api)
    me = api.get("/auth/me").json()["id"]
    rows = [HEADER,
            ["D-1", "10", "05.03.2019 10:30", "07.03.2019 09:00", "olga@example.com", ""],
            ["D-2", "20", "31.12.2020", "", "", ""],
            ["D-3", "30", "", "", "OLGA@EXAMPLE.COM", ""]]  # fmt: skip
    options = {"mapping": MAPPING, "keep_stamps": True, "date_format": "dd.mm.yyyy"}
    job = run_import(api, "deals", csv_bytes(rows, ";"), options)
    assert (job["status"], job["created"], job["errors"]) == ("done", 3, 0), job
    got = {r["values"]["number"]: r for r in records(api, "deals")}
    d1, d2, d3 = got["D-1"], got["D-2"], got["D-3"]
    # Stored in UTC; the instance's zone is UTC in tests.
    assert d1["created_at"].startswith("2019-03-05T10:30:00")
    assert d1["updated_at"].startswith("2019-03-07T09:00:00")
    assert d1["created_by"]["id"] == olga and d1["updated_by"]["id"] == olga
    # Only created_at in the file: updated_at is the same moment, the authors the importer.
    assert (
        d2["created_at"].startswith("2020-12-31T00:00:00") and d2["updated_at"] == d2["created_at"]
    )
    assert d2["created_by"]["id"] == me
    # Only the author: e-mails match whatever their case; updated_by follows created_by.
    assert d3["created_by"]["id"] == olga and d3["updated_by"]["id"] == olga
    assert d3["created_at"] > "2026"
    history = api.get(f"/catalogs/deals/records/{d1['id']}/history").json()["items"]
    assert [h["action"] for h in history] == ["import"]
    assert history[0]["user"]["id"] == me and history[0]["at"] > "2026"
    assert history[0]["changes"]["number"] == {"old": None, "new": "D-1"}


def test_an_update_keeps_the_files_updated_stamp_and_unchanged_rows_stay(api):
    olga = _setup(api)
    options = {"mode": "upsert", "key": ["number"], "mapping": MAPPING, "keep_stamps": True}
    first = [HEADER, ["D-1", "10", "2019-03-05T10:30:00Z", "", "", ""]]
    assert run_import(api, "deals", csv_bytes(first), options)["created"] == 1
    again = [HEADER, ["D-1", "10", "2019-03-05T10:30:00Z", "2021-01-01T00:00:00Z", "",
                      "olga@example.com"],
             ["D-1x", "5", "", "", "", ""]]  # fmt: skip
    job = run_import(api, "deals", csv_bytes(again), options)
    assert (job["created"], job["unchanged"]) == (1, 1), job  # stamps alone change nothing
    changed = [HEADER, ["D-1", "11", "", "2021-01-01T00:00:00Z", "", "olga@example.com"]]
    job = run_import(api, "deals", csv_bytes(changed), options)
    assert job["updated"] == 1, job
    d1 = next(r for r in records(api, "deals") if r["values"]["number"] == "D-1")
    assert d1["updated_at"].startswith("2021-01-01T00:00:00")
    assert d1["updated_by"]["id"] == olga
    assert d1["created_at"].startswith("2019-03-05T10:30:00")


def test_bad_stamps_are_row_errors_naming_the_column(api):
    _setup(api)
    rows = [HEADER,
            ["D-1", "10", "вчера", "", "", ""],
            ["D-2", "10", "", "", "nobody@example.com", ""],
            ["D-3", "10", "2020-01-02T00:00:00Z", "2020-01-01T00:00:00Z", "", ""],
            ["D-4", "10", "2020-01-02T00:00:00Z", "", "", ""]]  # fmt: skip
    job = run_import(api, "deals", csv_bytes(rows), {"mapping": MAPPING, "keep_stamps": True})
    assert (job["created"], job["errors"]) == (1, 3), job
    by_line = {e["line"]: e for e in job["error_sample"]}
    assert by_line[2]["column"] == "Создана" and "ISO 8601" in by_line[2]["message"]
    assert by_line[3]["column"] == "Автор" and "nobody@example.com" in by_line[3]["message"]
    assert by_line[4]["column"] == "Изменена" and "before" in by_line[4]["message"]


def test_stamps_need_the_option_and_an_administrator(api):
    _setup(api)
    content = csv_bytes([HEADER, ["D-1", "10", "2020-01-02T00:00:00Z", "", "", ""]])
    r = upload(api, "deals", content, {"mapping": MAPPING})
    assert r.status_code == 422 and "options.mapping.Создана" in r.json()["fields"], r.text
    r = upload(api, "deals", content, {"mapping": {"Номер": "number"}, "keep_stamps": True})
    assert r.status_code == 422 and "options.keep_stamps" in r.json()["fields"], r.text
    group = api.post("/groups", {"name": "importers"}).json()["id"]
    api.post("/users", {"email": "imp@example.com", "name": "Imp", "password": "long-password-1",
                        "groups": [group]})  # fmt: skip
    r = api.put("/catalogs/deals/rights", {"groups": {str(group): {"view": True, "create": True,
                                                                   "edit": True}}})  # fmt: skip
    assert r.status_code == 200, r.text
    auth = {
        "Authorization": "Basic " + base64.b64encode(b"imp@example.com:long-password-1").decode()
    }
    data = {
        "options": '{"mapping": {"Номер": "number", "Создана": "created_at"}, "keep_stamps": true}'
    }
    r = api.client.post(api.url("/catalogs/deals/imports"), files={"file": ("d.csv", content)},
                        data=data, headers=auth)  # fmt: skip
    assert r.status_code == 403 and "administrators" in r.text, r.text
    # Without the stamps the same user imports as before.
    data = {"options": '{"mapping": {"Номер": "number"}}'}
    r = api.client.post(api.url("/catalogs/deals/imports"), files={"file": ("d.csv", content)},
                        data=data, headers=auth)  # fmt: skip
    assert r.status_code == 202, r.text
    assert wait_job(api, r.json()["id"])["created"] == 1  # done before the test's teardown
