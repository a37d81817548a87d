"""A chunk converted column by column still reports its bad cells in the file's order
(line, then column), converts repeated texts alike, and stops at the first bad line."""

from __future__ import annotations

from support.imports import csv_bytes, records, run_import

from kartoteka.importer.columns import _direct as convert_directly

FIELDS = [
    {"name": "Номер", "api_name": "number", "type": "text"},
    {"name": "Сумма", "api_name": "amount", "type": "money"},
    {"name": "Дата", "api_name": "day", "type": "date", "required": True},
]


def _rows() -> list[list[str]]:
    return [
        ["Номер", "Сумма", "Дата"],
        ["A", "1", "2024-01-01"],
        ["B", "1", "nonsense"],  # line 3: the date
        ["C", "x", ""],  # line 4: the amount, then the empty required date
        ["D", "1", "2024-01-01"],
        ["E", "x", "2024-01-01"],  # line 6: the amount again (a remembered bad text)
    ]


def test_bad_cells_are_reported_line_by_line_and_the_good_rows_written(api):
    api.catalog("Сделки", FIELDS, api_name="deals")
    job = run_import(api, "deals", csv_bytes(_rows()), {"on_error": "skip"})
    assert (job["status"], job["created"], job["errors"]) == ("done", 2, 4), job
    where = [(e["line"], e["column"]) for e in job["error_sample"]]
    assert where == [(3, "Дата"), (4, "Сумма"), (4, "Дата"), (6, "Сумма")]
    assert job["error_sample"][2]["code"] == "required"
    got = {r["values"]["number"]: r["values"] for r in records(api, "deals")}
    assert sorted(got) == ["A", "D"]
    assert got["A"]["amount"] == got["D"]["amount"] == "1.00"
    assert got["A"]["day"] == got["D"]["day"] == "2024-01-01"


def test_on_error_stop_names_the_first_bad_line(api):
    api.catalog("Сделки", FIELDS, api_name="deals")
    job = run_import(api, "deals", csv_bytes(_rows()), {"on_error": "stop"})
    assert job["status"] == "failed", job
    assert job["message"].startswith("line 3 (Дата)"), job["message"]


def test_a_column_that_never_repeats_still_reports_its_bad_cells(api, monkeypatch):
    """Numbers, amounts and dates that never repeat are converted without their memo
    after a chunk of new texts; a bad cell in a later chunk is still reported with its
    line and column, and every other row is written."""
    from kartoteka.importer import columns, runner

    direct = []
    monkeypatch.setattr(runner, "CHUNK_ROWS", 150)
    monkeypatch.setattr(columns, "DIRECT_AFTER", 1)  # (decided on the first chunk here)
    monkeypatch.setattr(columns, "_direct", lambda memo, column: direct.append(1) or
                        convert_directly(memo, column))  # fmt: skip
    api.catalog("Сделки", FIELDS, api_name="deals")
    rows = [["Номер", "Сумма", "Дата"]]
    rows += [[f"N{i}", f"{i}.{i % 100:02d}", f"{1700 + i}-03-{i % 28 + 1:02d}"] for i in range(400)]
    rows[201][1] = "x"  # line 202, in the second chunk: the amount
    rows[352][2] = ""  # line 353, in the third: the required date left empty
    job = run_import(api, "deals", csv_bytes(rows), {"on_error": "skip"})
    assert len(direct) == 6, "numbers, amounts and dates of chunks 2 and 3 go directly"
    assert (job["status"], job["created"], job["errors"]) == ("done", 398, 2), job
    where = [(e["line"], e["column"], e.get("code")) for e in job["error_sample"]]
    assert where[0][:2] == (202, "Сумма") and where[1] == (353, "Дата", "required"), where
    got = {r["values"]["number"]: r["values"] for r in records(api, "deals")}
    assert "N200" not in got and "N351" not in got and len(got) == 398
    assert got["N399"]["amount"] == "399.99" and got["N399"]["day"] == "2099-03-08"


def test_texts_that_repeat_across_the_file_are_converted_once_each(api, monkeypatch):
    """A client's phone repeats on the client's deals all over the file: the first
    chunks are nearly all new phones, yet the column keeps its memo (deciding on the
    first chunk, a million-row import parsed every phone anew)."""
    from kartoteka.importer import runner

    calls = {"phone": 0}
    compile_real = runner.compile_column

    def counting(col, *args):  # type: ignore[no-untyped-def]
        convert = compile_real(col, *args)
        if col.field.api_name != "phone":
            return convert

        def counted(text):  # type: ignore[no-untyped-def]
            calls["phone"] += 1
            return convert(text)

        return counted

    monkeypatch.setattr(runner, "CHUNK_ROWS", 100)
    monkeypatch.setattr(runner, "compile_column", counting)
    api.catalog("Сделки", [*FIELDS, {"name": "Телефон", "api_name": "phone", "type": "phone"}],
                api_name="deals")  # fmt: skip
    rows = [["Номер", "Сумма", "Дата", "Телефон"]]
    rows += [[f"N{i}", "1", "2024-01-01", f"+7 916 555-{(i * 7919) % 700:04d}"]
             for i in range(3000)]  # fmt: skip
    job = run_import(api, "deals", csv_bytes(rows), {})
    assert (job["status"], job["created"]) == ("done", 3000), job
    assert calls["phone"] == 700, calls
