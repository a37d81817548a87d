"""Imports (CSV/XLSX, upsert, link keys, dry run, errors) and exports through the REST API."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import openpyxl
import pytest

FINISHED = ("done", "failed")


def upload(
    api,
    catalog: str,
    content: bytes,
    options: dict[str, Any] | None = None,
    filename: str = "data.csv",
):
    """POST an import; returns the raw response."""
    data = {"options": json.dumps(options)} if options is not None else {}
    return api.client.post(
        api.url(f"/catalogs/{catalog}/imports"), files={"file": (filename, content)}, data=data
    )


def run_import(
    api,
    catalog: str,
    content: bytes,
    options: dict[str, Any] | None = None,
    filename: str = "data.csv",
) -> dict[str, Any]:
    """Import and wait for the job to finish; returns the final job JSON."""
    r = upload(api, catalog, content, options, filename)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(1200):  # polls until the background thread is done (not a timing check)
        job = api.get(f"/imports/{job_id}").json()
        if job["status"] in FINISHED:
            return job
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} did not finish: {job}")


def csv_bytes(rows: list[list[Any]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def all_records(api, catalog: str, **params: Any) -> list[dict[str, Any]]:
    r = api.get(f"/catalogs/{catalog}/records", params={"limit": 1000, "sort": "id", **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def products(api) -> dict[str, Any]:
    return api.catalog(
        "Товары",
        [
            {"name": "Артикул", "api_name": "sku", "type": "text", "unique": True},
            {"name": "Название", "api_name": "name", "type": "text", "required": True},
            {"name": "Цена", "api_name": "price", "type": "money"},
            {"name": "Вес", "api_name": "weight", "type": "number", "options": {"decimals": 2}},
            {"name": "Поставка", "api_name": "due", "type": "date"},
        ],
        api_name="products",
    )


def test_csv_in_cp1251_with_semicolons_and_decimal_comma(api):
    products(api)
    content = csv_bytes(
        [
            ["Артикул", "Название", "Цена", "Вес", "Поставка"],
            ["A-1", "Чайник", "1 234,50", "1,25", "01.12.2026"],
            ["A-2", "Кружка", "99", "0,3", "15.01.2027"],
        ],
        delimiter=";",
        encoding="cp1251",
    )
    job = run_import(api, "products", content, {"decimal_comma": True, "date_format": "%d.%m.%Y"})
    assert job["status"] == "done", job
    assert (job["created"], job["errors"], job["processed"], job["total"]) == (2, 0, 2, 2)
    items = all_records(api, "products")
    assert [i["values"]["name"] for i in items] == ["Чайник", "Кружка"]
    assert items[0]["values"]["price"] == "1234.50"
    assert items[0]["values"]["weight"] == 1.25
    assert items[1]["values"]["due"] == "2027-01-15"


def test_xlsx_made_with_openpyxl(api):
    products(api)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["sku", "Name", "price", "weight", "due"])
    sheet.append(["X-1", "Лампа", 1500.5, 2, openpyxl.utils.datetime.from_ISO8601("2026-03-04")])
    sheet.append(["X-2", "Стол", 7000, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run_import(api, "products", buffer.getvalue(), {}, filename="goods.xlsx")
    assert job["status"] == "done", job
    assert job["created"] == 2
    items = all_records(api, "products")
    assert [i["values"]["price"] for i in items] == ["1500.50", "7000.00"]
    assert items[0]["values"]["due"] == "2026-03-04"
    assert items[1]["values"]["weight"] is None


def test_upsert_by_unique_key_updates_and_reports_unchanged(api):
    products(api)
    first = csv_bytes([["sku", "name", "price"], ["K1", "One", "10"], ["K2", "Two", "20"]])
    job = run_import(api, "products", first, {"mode": "upsert", "key": ["sku"]})
    assert (job["status"], job["created"], job["updated"], job["unchanged"]) == ("done", 2, 0, 0)
    second = csv_bytes(
        [["sku", "name", "price"], ["K1", "One", "10"], ["K2", "Two", "25"], ["K3", "New", "1"]]
    )
    job = run_import(api, "products", second, {"mode": "upsert", "key": ["sku"]})
    assert (job["created"], job["updated"], job["unchanged"], job["errors"]) == (1, 1, 1, 0), job
    items = {i["values"]["sku"]: i for i in all_records(api, "products")}
    assert items["K2"]["values"]["price"] == "25.00"
    history = api.get(f"/catalogs/products/records/{items['K2']['id']}/history").json()["items"]
    assert history[-1]["changes"] == {"price": {"old": "20.00", "new": "25.00"}}
    unchanged = api.get(f"/catalogs/products/records/{items['K1']['id']}/history").json()["items"]
    assert [h["action"] for h in unchanged] == ["create"]


def test_update_mode_by_two_key_fields_reports_missing_records(api):
    api.catalog(
        "People",
        [
            {"name": "First", "type": "text"},
            {"name": "Last", "type": "text"},
            {"name": "Age", "type": "number"},
        ],
    )
    api.records(
        "people",
        [{"first": "Ann", "last": "Lee", "age": 30}, {"first": "Ann", "last": "Kim", "age": 40}],
    )
    content = csv_bytes([["first", "last", "age"], ["Ann", "Kim", "41"], ["Bob", "Lee", "50"]])
    job = run_import(api, "people", content, {"mode": "update", "key": ["first", "last"]})
    assert (job["status"], job["updated"], job["created"], job["errors"]) == ("done", 1, 0, 1)
    error = job["error_sample"][0]
    assert (error["line"], error["column"], error["value"]) == (3, "first+last", "Bob / Lee")
    assert "no record" in error["message"]
    ages = sorted(i["values"]["age"] for i in all_records(api, "people"))
    assert ages == [30, 41]


def test_link_keys_resolve_linked_records_in_bulk(api):
    api.catalog(
        "Clients",
        [
            {"name": "Name", "type": "text"},
            {"name": "INN", "api_name": "inn", "type": "text", "unique": True},
        ],
    )
    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Client", "type": "link", "options": {"catalog": "clients"}},
        ],
    )
    ids = api.records(
        "clients", [{"name": "Romashka", "inn": "7701"}, {"name": "Vasilek", "inn": "7702"}]
    )
    content = csv_bytes(
        [["Name", "Client"], ["D1", "7702"], ["D2", "7701"], ["D3", "9999"], ["D4", ""]]
    )
    job = run_import(api, "deals", content, {"link_keys": {"client": "inn"}})
    assert (job["status"], job["created"], job["errors"]) == ("done", 3, 1), job
    assert job["error_sample"] == [
        {
            "line": 4,
            "column": "Client",
            "value": "9999",
            "message": "no record of 'clients' with inn = '9999'",
        }
    ]
    deals = {d["values"]["name"]: d["values"]["client"] for d in all_records(api, "deals")}
    assert deals == {
        "D1": [{"id": ids[1], "title": "Vasilek"}],
        "D2": [{"id": ids[0], "title": "Romashka"}],
        "D4": [],
    }


def bad_rows_file() -> bytes:
    return csv_bytes(
        [
            ["sku", "name", "price"],
            ["B1", "Ok", "1"],
            ["B2", "", "2"],  # title is required
            ["B3", "Price", "abc"],  # not a number
            ["B1", "Dup", "3"],  # sku repeats line 2
            ["B5", "Ok too", "5.5"],
        ]
    )


def test_skip_collects_errors_with_line_column_value_and_message(api):
    products(api)
    job = run_import(api, "products", bad_rows_file(), {"on_error": "skip"})
    assert (job["status"], job["created"], job["errors"], job["processed"]) == ("done", 2, 3, 5)
    sample = {e["line"]: e for e in job["error_sample"]}
    assert sample[3] == {"line": 3, "column": "name", "value": "", "message": "required",
                         "code": "required", "params": {}}  # fmt: skip
    assert sample[4]["column"] == "price" and sample[4]["value"] == "abc"
    assert sample[4]["message"] == "expected a number"
    assert sample[5]["column"] == "sku" and "repeats" in sample[5]["message"]
    assert sorted(i["values"]["sku"] for i in all_records(api, "products")) == ["B1", "B5"]


def test_dry_run_writes_nothing_and_reports_the_same(api):
    products(api)
    api.record("products", {"sku": "B5", "name": "Exists"})
    dry = run_import(api, "products", bad_rows_file(), {"dry_run": True})
    assert dry["dry_run"] is True
    assert [i["values"]["sku"] for i in all_records(api, "products")] == ["B5"]
    real = run_import(api, "products", bad_rows_file(), {})
    for key in ("status", "created", "updated", "unchanged", "errors", "error_sample"):
        assert dry[key] == real[key], key
    assert real["errors"] == 4  # B5 already exists
    assert sorted(i["values"]["sku"] for i in all_records(api, "products")) == ["B1", "B5"]


def test_on_error_stop_fails_with_the_first_error_and_writes_nothing_of_the_chunk(api):
    products(api)
    job = run_import(api, "products", bad_rows_file(), {"on_error": "stop"})
    assert job["status"] == "failed"
    assert job["errors"] == 1
    stopped = {"line": 3, "column": "name", "reason": "required", "reason_code": "required",
               "reason_params": {}}  # fmt: skip
    assert job["error_sample"] == [
        {"line": 3, "column": "name", "value": "", "message": "required",
         "code": "required", "params": {}},
        # Why the job stopped, line-less (the UI's summary), coded for the reader's language.
        {"line": None, "column": None, "value": None, "message": "line 3 (name): required",
         "code": "import_stopped_column", "params": stopped},
    ]  # fmt: skip
    assert job["message"] == "line 3 (name): required"
    assert job["created"] == 0
    assert all_records(api, "products") == []
    russian = api.get(f"/imports/{job['id']}", headers={"Accept-Language": "ru"}).json()
    assert [e["message"] for e in russian["error_sample"]] == [
        "обязательное поле",
        "строка 3 (name): обязательное поле",
    ]


def test_chunks_of_many_rows_are_all_written(api):
    products(api)
    rows = [["sku", "name", "weight"]] + [[f"S{i}", f"Item {i}", str(i)] for i in range(1203)]
    rows[1001][2] = "heavy"
    job = run_import(api, "products", csv_bytes(rows), {})
    assert (job["total"], job["processed"], job["created"], job["errors"]) == (1203, 1203, 1202, 1)
    assert job["error_sample"][0]["line"] == 1002
    count = api.get("/catalogs/products/records", params={"count": "true", "limit": 1}).json()
    assert count["count"] == 1202


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ("{not json", "options.options"),
        (json.dumps({"mode": "merge"}), "options.mode"),
        (json.dumps({"mode": "upsert"}), "options.key"),
        (json.dumps({"mode": "upsert", "key": ["nope"]}), "options.key"),
        (json.dumps({"dry_run": "yes"}), "options.dry_run"),
        (json.dumps({"colour": 1}), "options.colour"),
        (json.dumps({"mapping": {"sku": "missing"}}), "options.mapping.sku"),
        (json.dumps({"link_keys": {"name": "x"}}), "options.link_keys.name"),
        (json.dumps({"encoding": "klingon"}), "options.encoding"),
    ],
)
def test_malformed_options_are_422_naming_the_option(api, options, field):
    products(api)
    r = api.client.post(
        api.url("/catalogs/products/imports"),
        files={"file": ("a.csv", b"sku,name\nA,B\n")},
        data={"options": options},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "VALIDATION"
    assert field in r.json()["fields"]


def test_unsupported_or_empty_file_is_422(api):
    products(api)
    for content, name in (
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "x.png"),
        (b"", "e.csv"),
        (b"PK\x03\x04broken", "b.xlsx"),
        (b"colour,size\nred,1\n", "c.csv"),
    ):
        r = upload(api, "products", content, {}, filename=name)
        assert r.status_code == 422, (name, r.text)
        assert r.json()["error"] == "VALIDATION"
        assert "file" in r.json()["fields"]


def test_import_of_unknown_job_or_catalog_is_404(api):
    assert api.get("/imports/999999").json()["error"] == "NOT_FOUND"
    r = upload(api, "nope", b"a\n1\n", {})
    assert (r.status_code, r.json()["error"]) == (404, "NOT_FOUND")


def rich_catalog(api, name: str) -> dict[str, Any]:
    return api.catalog(
        name,
        [
            {"name": "Название", "api_name": "name", "type": "text"},
            {"name": "Сумма", "api_name": "amount", "type": "money"},
            {"name": "Кол-во", "api_name": "qty", "type": "number"},
            {"name": "Дата", "api_name": "day", "type": "date"},
            {"name": "Готово", "api_name": "ready", "type": "checkbox"},
            {
                "name": "Стадия",
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"label": "Lead"}, {"label": "Won"}]},
            },
            {"name": "Почта", "api_name": "email", "type": "email"},
        ],
        api_name=name,
    )


ROWS = [
    {
        "name": "Первый, с запятой",
        "amount": "10.50",
        "qty": 3,
        "day": "2026-01-02",
        "ready": True,
        "stage": "Won",
        "email": "a@example.com",
    },
    {
        "name": 'Quote " inside',
        "amount": "0.00",
        "qty": -7,
        "day": None,
        "ready": False,
        "stage": "Lead",
        "email": None,
    },
    {
        "name": "Third",
        "amount": None,
        "qty": None,
        "day": "2027-12-31",
        "ready": True,
        "stage": None,
        "email": "c@example.com",
    },
]


def comparable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        values = dict(item["values"])
        values["stage"] = values["stage"]["label"] if values["stage"] else None
        out.append(values)
    return out


def test_export_csv_round_trip_into_a_fresh_catalog(api):
    rich_catalog(api, "source")
    api.records("source", ROWS)
    r = api.get("/catalogs/source/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "source.csv" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    header = r.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("id,Название,Сумма")
    rich_catalog(api, "target")
    job = run_import(api, "target", r.content, {})
    assert (job["status"], job["created"], job["errors"]) == ("done", 3, 0), job
    assert comparable(all_records(api, "target")) == comparable(all_records(api, "source"))


def test_export_respects_filter_and_formats(api):
    rich_catalog(api, "source")
    api.records("source", ROWS)
    flt = json.dumps({"ready": {"eq": True}})
    r = api.get("/catalogs/source/export", params={"format": "jsonl", "filter": flt})
    assert r.status_code == 200, r.text
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [x["values"]["name"] for x in lines] == ["Первый, с запятой", "Third"]
    r = api.get(
        "/catalogs/source/export", params={"format": "xlsx", "filter": flt, "fields": "name,qty"}
    )
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["id", "Название", "Кол-во"]
    assert [row[1:] for row in rows[1:]] == [["Первый, с запятой", 3], ["Third", None]]
    r = api.get("/catalogs/source/export", params={"format": "csv", "filter": flt})
    assert len(r.content.decode("utf-8-sig").splitlines()) == 3


def test_export_rejects_unknown_format_and_bad_filter(api):
    rich_catalog(api, "source")
    r = api.get("/catalogs/source/export", params={"format": "pdf"})
    assert (r.status_code, r.json()["error"]) == (422, "VALIDATION")
    assert "format" in r.json()["fields"]
    r = api.get("/catalogs/source/export", params={"filter": '{"nope": {"eq": 1}}'})
    assert r.status_code in (400, 422) and r.json()["error"] in ("BAD_REQUEST", "VALIDATION")


def test_export_pages_through_more_than_one_page(api):
    rich_catalog(api, "source")
    api.records("source", [{"name": f"R{i}", "qty": i} for i in range(1500)])
    r = api.get("/catalogs/source/export", params={"format": "csv", "fields": "qty"})
    lines = r.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1501
    assert sorted(int(line.split(",")[1]) for line in lines[1:]) == list(range(1500))


def test_import_file_runs_synchronously_with_progress(api, instance, tmp_path):
    from kartoteka.context import Actor
    from kartoteka.importer.service import import_file

    products(api)
    path = tmp_path / "p.csv"
    path.write_bytes(csv_bytes([["sku", "name"], ["Z1", "Zed"], ["Z2", ""]]))
    ws = instance.workspace(instance.settings.default_workspace)
    seen: list[int] = []
    result = import_file(
        Actor.system(ws), "products", path, {}, progress=lambda r: seen.append(r.processed)
    )
    assert (result["status"], result["created"], result["errors"]) == ("done", 1, 1)
    assert seen[0] == 0 and seen[-1] == 2


def test_cli_import_command_upserts_and_exits_1_on_stop(api, instance, tmp_path, capsys):
    import typer

    from kartoteka.importer.cli import import_command

    products(api)
    path = tmp_path / "p.csv"
    path.write_bytes(csv_bytes([["sku", "name"], ["C1", "One"], ["C2", "Two"]]))
    result = import_command(instance, path, "products", key=["sku"], mode="upsert")
    assert (result["status"], result["created"]) == ("done", 2)
    assert "2 created" in capsys.readouterr().out
    path.write_bytes(csv_bytes([["sku", "name"], ["C1", "Uno"], ["C3", ""]]))
    with pytest.raises(typer.Exit) as exc:
        import_command(instance, path, "products", key=["sku"], mode="upsert", on_error="stop")
    assert exc.value.exit_code == 1
    assert "line 3 (name): required" in capsys.readouterr().out
    assert sorted(i["values"]["name"] for i in all_records(api, "products")) == ["One", "Two"]
