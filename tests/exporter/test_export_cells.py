"""The exporter's fast per-column converters answer exactly what the field types answer.

`exporter/cells.py` writes the common types' export rules as one expression per column;
`exact_cells` is the type's own reader, mask and `export_text`/`typed_value` value by
value. Both run here over awkward stored values and over a whole exported catalog.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pyarrow.parquet as pq
import pytest

from kartoteka.access.visibility import FieldView
from kartoteka.context import Actor
from kartoteka.exporter import cells as cells_module
from kartoteka.exporter.cells import cells, exact_cells
from kartoteka.fields.base import TEXT_EXPORT
from kartoteka.records.service import get_catalog

FIELDS = [
    {"name": "Text", "api_name": "text", "type": "text"},
    {"name": "Phone", "api_name": "phone", "type": "phone"},
    {"name": "Mail", "api_name": "mail", "type": "email"},
    {"name": "Money", "api_name": "money", "type": "money"},
    {"name": "Roubles", "api_name": "roubles", "type": "money", "options": {"decimals": 0}},
    {"name": "Fine", "api_name": "fine", "type": "money", "options": {"decimals": 3}},
    {"name": "Count", "api_name": "count", "type": "number"},
    {"name": "Rate", "api_name": "rate", "type": "number", "options": {"decimals": 2}},
    {"name": "Day", "api_name": "day", "type": "date"},
    {"name": "Seen", "api_name": "seen", "type": "datetime"},
    {"name": "Flag", "api_name": "flag", "type": "checkbox"},
    {
        "name": "Stage",
        "api_name": "stage",
        "type": "select",
        "options": {"choices": [{"label": "Лид"}, {"label": "-минус"}]},
    },
]
#: Stored values per field, as the drivers hand them over (None = empty).
STORED: dict[str, list[Any]] = {
    "text": [None, "", "plain", "=HYPERLINK(1)", "-12.50", "-x", "+7", "@a", "\tt", "ё"],
    "phone": [None, "+79161234567", "+12025550123"],
    "mail": [None, "a@example.com"],
    "money": [None, 0, 5, -5, 123456789, -123456789, 100, -100, 2**62],
    "roubles": [None, 0, -7, 1234567],
    "fine": [None, 1, -1, 1000, -123456],
    "count": [None, 0, -7, 2**53],
    "rate": [None, 0.0, 12.5, -0.01, 1 / 3, 1e-9],
    "day": [None, date(2026, 1, 2), date(1, 1, 1)],
    "seen": [None, datetime(2026, 1, 2, 9, 30), datetime(2026, 1, 2, 9, 30, 5, 999999)],
    "flag": [None, True, False, 0, 1],
    "stage": [None, 1, 2, 999],
}
#: Dates and moments as SQLite keeps them (text); other forms go the reader's way.
STORED_TEXT: dict[str, list[Any]] = {
    "day": [None, "2026-01-02", "2026-01-02 00:00:00"],
    "seen": [None, "2026-01-02 09:30:00.000000", "2026-01-02 09:30:05.999999",
             "2026-01-02 09:30:05", "2026-01-02T09:30:05", "2026-01-02 09:30:05+03:00",
             "2026-01-02"],
}  # fmt: skip


@pytest.fixture
def catalog(api, instance) -> tuple[Actor, Any]:
    api.catalog("Cells", FIELDS, api_name="cells")
    actor = Actor.system(instance.workspace(instance.settings.default_workspace))
    return actor, get_catalog(actor, "cells")


@pytest.mark.parametrize(
    ("name", "text_moments"),
    [(name, False) for name in STORED] + [(name, True) for name in STORED_TEXT],
)
def test_fast_converters_answer_what_the_field_type_answers(catalog, name, text_moments):
    actor, cat = catalog
    field = cat.by_api_name[name]
    view = FieldView.of(actor, cat)
    kind = field.ftype.export_type(field)
    fast = cells(actor, view, field, kind, masked=False, rendered=False, text_moments=text_moments)
    exact = exact_cells(actor, view, field, kind, masked=False, rendered=False)
    values = (STORED_TEXT if text_moments else STORED)[name]
    safe = cells_module._formula_safe if kind.kind == "text" else (lambda texts: texts)
    assert fast.texts(values) == safe(exact.texts(values))
    assert fast.typed(values) == exact.typed(values)
    if fast.arrow is not None:
        import pyarrow as pa

        expected = pa.array(exact.typed(values), fast.arrow(values).type)
        assert fast.arrow(values).equals(expected)


def test_the_common_types_take_the_fast_way_and_masks_the_exact_one(catalog):
    actor, cat = catalog
    view = FieldView.of(actor, cat)
    for name in STORED:
        field = cat.by_api_name[name]
        kind = field.ftype.export_type(field)
        fast = cells(actor, view, field, kind, masked=False, rendered=False)
        assert "exact_cells" not in fast.typed.__qualname__, name
        masked = cells(actor, view, field, TEXT_EXPORT, masked=True, rendered=False)
        assert "exact_cells" in masked.typed.__qualname__ and masked.arrow is None, name


ROWS = [
    {
        "text": "-12.50",
        "phone": "+79161234567",
        "mail": "a@example.com",
        "money": "-0.05",
        "roubles": 12,
        "fine": "1.001",
        "count": -3,
        "rate": 0.33,
        "day": "2026-02-03",
        "seen": "2026-02-03T04:05:06Z",
        "flag": True,
        "stage": "-минус",
    },
    {"text": "=1+2", "money": "1234567.89", "fine": "-0.5", "stage": "Лид"},
    {},
]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_an_export_is_the_same_file_the_exact_converters_write(api, catalog, monkeypatch, fmt):
    api.records("cells", ROWS)

    def get() -> bytes:
        r = api.get("/catalogs/cells/export", params={"format": fmt, "sort": "id"})
        assert r.status_code == 200, r.text
        return r.content

    fast = get()
    monkeypatch.setattr(cells_module, "_FAST", {})
    monkeypatch.setattr(cells_module, "_stored_as_is", lambda field: None)
    exact = get()
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(fast)).equals(pq.read_table(io.BytesIO(exact)))
    elif fmt == "xlsx":
        import openpyxl

        def values(content: bytes) -> list[list[Any]]:
            sheet = openpyxl.load_workbook(io.BytesIO(content)).active
            return [[(c.value, c.data_type, c.number_format) for c in r] for r in sheet.iter_rows()]

        assert values(fast) == values(exact)
    else:
        assert fast == exact
        text = fast.decode("utf-8-sig")
        # A number stays a number; text and phones that start like a formula do not.
        assert "\r\n1,-12.50,'+79161234567," in text and "\r\n2,'=1+2," in text


def test_the_collector_pauses_for_a_chunk_only_and_only_where_it_ran(api, catalog, monkeypatch):
    import gc

    from kartoteka.exporter import source
    from kartoteka.exporter.service import export_records

    actor, _ = catalog
    api.records("cells", ROWS)
    during: list[bool] = []
    real_chunk = source.Chunk

    def chunk(*args: Any) -> Any:
        during.append(gc.isenabled())
        return real_chunk(*args)

    monkeypatch.setattr(source, "Chunk", chunk)
    between = [gc.isenabled() for _ in export_records(actor, "cells", "csv").body]
    assert during == [False] and all(between) and gc.isenabled()
    gc.disable()
    try:
        for _ in export_records(actor, "cells", "parquet").body:
            assert not gc.isenabled()
        assert not gc.isenabled()  # not switched on by the export
    finally:
        gc.enable()
