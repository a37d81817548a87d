"""Exports for BI: Parquet and XLSX typed columns, CSV in Windows-1251, rights, options, CLI."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

FIELDS = [
    {"name": "Название", "api_name": "name", "type": "text"},
    {"name": "Сумма", "api_name": "amount", "type": "money"},
    {"name": "Кол-во", "api_name": "qty", "type": "number"},
    {"name": "Скидка", "api_name": "rate", "type": "number", "options": {"decimals": 2}},
    {"name": "Дата", "api_name": "day", "type": "date"},
    {"name": "Визит", "api_name": "seen", "type": "datetime"},
    {"name": "VIP", "api_name": "vip", "type": "checkbox"},
    {"name": "Телефон", "api_name": "phone", "type": "phone"},
    {
        "name": "Стадия",
        "api_name": "stage",
        "type": "select",
        "options": {"choices": [{"label": "Лид"}, {"label": "Сделка"}]},
    },
]
PASSWORD = "long-password-1"
ROWS = [
    {
        "name": "Ёлкин, Пётр",
        "amount": "1234567.89",
        "qty": 3,
        "rate": 12.5,
        "day": "2026-01-02",
        "seen": "2026-01-02T09:30:00Z",
        "vip": True,
        "phone": "+79161234567",
        "stage": "Сделка",
    },
    {"name": "=cmd|' /C calc'!A0", "amount": "-0.50", "qty": -7, "vip": False},
    {"name": "Third"},
]


@pytest.fixture
def clients(api) -> list[int]:
    api.catalog("Клиенты", FIELDS, api_name="clients")
    return api.records("clients", ROWS)


def export(api, **params: Any):
    r = api.get("/catalogs/clients/export", params={"sort": "id", **params})
    assert r.status_code == 200, r.text
    return r


def test_parquet_has_typed_columns_and_reads_back_with_pyarrow(api, clients):
    r = export(api, format="parquet")
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    assert ".parquet" in r.headers["content-disposition"]
    table = pq.read_table(io.BytesIO(r.content))
    types = {f.name: f.type for f in table.schema}
    assert types == {
        "id": pa.int64(),
        "name": pa.string(),
        "amount": pa.decimal128(38, 2),
        "qty": pa.int64(),
        "rate": pa.float64(),
        "day": pa.date32(),
        "seen": pa.timestamp("ms", tz="UTC"),
        "vip": pa.bool_(),
        "phone": pa.string(),
        "stage": pa.string(),
    }
    rows = table.to_pylist()
    assert [row["id"] for row in rows] == clients
    first = rows[0]
    assert first["amount"] == Decimal("1234567.89") and first["qty"] == 3
    assert first["rate"] == 12.5 and first["day"] == date(2026, 1, 2)
    assert first["seen"] == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    assert first["vip"] is True and first["stage"] == "Сделка"
    assert first["name"] == "Ёлкин, Пётр" and first["phone"] == "+79161234567"
    assert rows[1]["amount"] == Decimal("-0.50") and rows[1]["qty"] == -7
    # Parquet is data, not a spreadsheet: text stays exactly as stored.
    assert rows[1]["name"] == "=cmd|' /C calc'!A0"
    assert rows[2]["amount"] is None and rows[2]["day"] is None and rows[2]["vip"] is False


def test_parquet_writes_one_row_group_per_chunk(api, clients, monkeypatch):
    from kartoteka.exporter import source

    monkeypatch.setattr(source, "CHUNK", 2)
    api.records("clients", [{"name": f"R{i}", "qty": i} for i in range(5)])
    table = pq.ParquetFile(io.BytesIO(export(api, format="parquet").content))
    assert table.metadata.num_rows == 8 and table.metadata.num_row_groups == 4
    assert table.read().column("qty").to_pylist()[3:] == [0, 1, 2, 3, 4]


def test_xlsx_cells_are_typed_and_never_formulas(api, clients, instance):
    ws = instance.workspace(instance.settings.default_workspace)
    assert api.patch("/settings", {"timezone": "Europe/Moscow"}).status_code == 200
    r = export(api, format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    header, first, second, third = list(sheet.iter_rows())
    assert [c.value for c in header][:4] == ["id", "Название", "Сумма", "Кол-во"]
    cells = {h.value: c for h, c in zip(header, first, strict=True)}
    assert cells["Сумма"].data_type == "n" and cells["Сумма"].value == 1234567.89
    assert cells["Сумма"].number_format == "#,##0.00"
    assert cells["Кол-во"].value == 3 and cells["Скидка"].value == 12.5
    assert cells["Дата"].is_date and cells["Дата"].value == datetime(2026, 1, 2)
    assert cells["Визит"].is_date
    zone = ws.meta().timezone
    local = datetime(2026, 1, 2, 9, 30, tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    assert cells["Визит"].value == local
    assert cells["VIP"].value is True and cells["Стадия"].value == "Сделка"
    assert cells["Телефон"].data_type == "s"
    row2 = {h.value: c for h, c in zip(header, second, strict=True)}
    assert row2["Название"].data_type == "s" and row2["Название"].value.startswith("=cmd")
    assert row2["Сумма"].value == -0.5 and row2["VIP"].value is False
    assert all(c.data_type != "f" for row in (header, first, second, third) for c in row)


def test_csv_in_windows_1251_with_semicolons_reads_back(api, clients):
    r = export(api, format="csv", encoding="windows-1251", delimiter=";")
    assert not r.content.startswith(b"\xef\xbb\xbf")
    text = r.content.decode("cp1251")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["id", "Название", "Сумма"]
    assert rows[1][1:4] == ["Ёлкин, Пётр", "1234567.89", "3"]
    assert rows[2][1] == "'=cmd|' /C calc'!A0"  # CSV keeps the formula rule
    r = export(api, format="csv", delimiter="tab")
    assert r.content.decode("utf-8-sig").splitlines()[0].startswith("id\tНазвание")


def test_characters_windows_1251_lacks_become_question_marks(api, clients):
    api.records("clients", [{"name": "Zürich 東京"}])
    text = export(api, format="csv", encoding="cp1251").content.decode("cp1251")
    assert "Z?rich ??" in text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "pdf"}, "format"),
        ({"format": "csv", "encoding": "koi8-r"}, "encoding"),
        ({"format": "csv", "delimiter": "|"}, "delimiter"),
        ({"format": "parquet", "encoding": "cp1251"}, "encoding"),
        ({"format": "xlsx", "delimiter": ";"}, "delimiter"),
        ({"format": "csv", "fields": "name,name"}, "fields"),
        ({"format": "csv", "fields": "nope"}, "fields"),
    ],
)
def test_bad_options_are_422_naming_the_option(api, clients, params, field):
    r = api.get("/catalogs/clients/export", params=params)
    assert (r.status_code, r.json()["error"]) == (422, "VALIDATION"), r.text
    assert field in r.json()["fields"]


def test_fields_sort_and_view_choose_columns_and_order(api, clients):
    r = export(api, format="csv", fields="qty,name", sort="-qty")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["id", "Кол-во", "Название"]
    assert [row[1] for row in rows[1:]] == ["3", "-7", ""] or [row[1] for row in rows[1:]] == [
        "",
        "3",
        "-7",
    ]
    view = api.post(
        "/catalogs/clients/views",
        {"name": "VIP", "filter": {"vip": {"eq": True}}, "fields": ["name", "amount"]},
    )
    assert view.status_code == 201, view.text
    table = pq.read_table(io.BytesIO(export(api, format="parquet", view=view.json()["id"]).content))
    assert table.column_names == ["id", "name", "amount"]
    assert table.column("name").to_pylist() == ["Ёлкин, Пётр"]


def test_rights_apply_hidden_masked_and_record_rules(api, clients):
    group = api.post("/groups", {"name": "g"}).json()["id"]
    r = api.post(
        "/users",
        {"email": "u@example.com", "name": "U", "password": PASSWORD, "groups": [group]},
    )
    assert r.status_code == 201, r.text
    h = {
        "Authorization": "Basic " + base64.b64encode(f"u@example.com:{PASSWORD}".encode()).decode()
    }
    doc = {
        "view": {"qty": {"gte": 0}},
        "fields": {"amount": "hidden", "phone": "masked", "qty": "masked"},
    }
    r = api.put("/catalogs/clients/rights", {"groups": {str(group): doc}})
    assert r.status_code == 200, r.text
    r = api.get("/catalogs/clients/export", params={"format": "parquet", "sort": "id"}, headers=h)
    assert r.status_code == 200, r.text
    table = pq.read_table(io.BytesIO(r.content))
    assert "amount" not in table.column_names
    assert table.schema.field("qty").type == pa.string()  # a mask is text, not a number
    rows = table.to_pylist()
    assert [row["id"] for row in rows] == [clients[0]]  # the rule hides qty < 0 and empty
    assert rows[0]["phone"] == "+7 *** ***-**-67" and rows[0]["qty"] != "3"
    r = api.get("/catalogs/clients/export", params={"format": "csv", "fields": "amount"}, headers=h)
    assert r.status_code == 422  # a hidden field is named like an unknown one
    for fmt in ("csv", "xlsx", "jsonl"):
        r = api.get("/catalogs/clients/export", params={"format": fmt}, headers=h)
        assert b"1234567" not in r.content and b"79161234567" not in r.content, fmt


def test_jsonl_lines_are_records_as_the_api_renders_them(api, clients):
    lines = [json.loads(x) for x in export(api, format="jsonl").text.splitlines()]
    record = api.get(f"/catalogs/clients/records/{clients[0]}").json()
    assert lines[0] == record


def test_cli_export_writes_the_file_with_the_same_rules(api, instance, clients, tmp_path):
    from kartoteka.errors import Forbidden
    from kartoteka.exporter.cli import export_command

    target = tmp_path / "out.parquet"
    path = export_command(
        instance, "clients", target, "parquet", filter=json.dumps({"vip": {"eq": True}})
    )
    assert path == target
    assert pq.read_table(target).column("name").to_pylist() == ["Ёлкин, Пётр"]
    api.post("/users", {"email": "v@example.com", "name": "V", "password": PASSWORD})
    target = tmp_path / "none.csv"
    with pytest.raises(Forbidden):  # no rights on the catalog: refused before writing
        export_command(instance, "clients", target, "csv", as_user="v@example.com")
    assert not target.exists()


def test_cli_export_command_is_registered(instance, clients, tmp_path):
    from typer.testing import CliRunner

    from kartoteka.cli import app

    target = tmp_path / "c.csv"
    env = {
        "KARTOTEKA_DATA_DIR": str(instance.settings.data_dir),
        "KARTOTEKA_DEFAULT_WORKSPACE": instance.settings.default_workspace,
    }
    if instance.settings.database_url:
        env["KARTOTEKA_DATABASE_URL"] = instance.settings.database_url
    args = ["export", "clients", "-o", str(target), "--encoding", "cp1251", "--delimiter", ";"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert target.read_bytes().decode("cp1251").splitlines()[0].startswith("id;Название")
    result = CliRunner().invoke(app, ["export", "clients", "-f", "pdf"], env=env)
    assert result.exit_code == 1 and "format" in result.output
