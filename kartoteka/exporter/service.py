"""Exports: a catalog's records (rights, filter and view applied) as CSV, XLSX or JSON lines.

Records are read page by page through `records.service.list_records`, so memory stays
flat and every read rule applies exactly as for the list API.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor
from kartoteka.errors import ValidationFailed
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson",
}
PAGE = 1000
ID_HEADER = "id"
XLSX_BLOCK = 256 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


@dataclass
class Export:
    """A file being exported: its name, media type and body (an iterator of bytes)."""

    filename: str
    media_type: str
    body: Iterator[bytes]

    @property
    def content_disposition(self) -> str:
        """`attachment` with an ASCII fallback name and the real (UTF-8) one."""
        ascii_name = self.filename.encode("ascii", "replace").decode().replace("?", "_")
        ascii_name = ascii_name.replace('"', "_")
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename)}"


def export_records(
    actor: Actor,
    catalog_ref: str | int,
    format: str = "csv",
    filter: Any = None,
    view: Any = None,
    fields: Any = None,
    sort: Any = None,
) -> Export:
    """Start an export; bad parameters fail here (before any byte is sent)."""
    if format not in FORMATS:
        why = f"must be one of {', '.join(FORMATS)}"
        raise ValidationFailed(f"format: {why}", fields={"format": why})
    catalog = get_catalog(actor, catalog_ref)
    first = records.list_records(actor, catalog.id, filter, sort, PAGE, None, fields, view)
    columns = _columns(actor, catalog, first["items"], fields, view)
    pages = _pages(actor, catalog, first, filter, sort, fields, view)
    writer = {"csv": _csv, "xlsx": _xlsx, "jsonl": _jsonl}[format]
    name = f"{catalog.name}.{format}"
    return Export(name, FORMATS[format], writer(columns, pages))


def _columns(
    actor: Actor, catalog: Catalog, items: list[dict[str, Any]], fields: Any, view: Any
) -> list[Field]:
    """The exported fields: those the first record shows, or (no records) the visible ones."""
    if items:
        return [catalog.by_api_name[name] for name in items[0]["values"]]
    only = [f.strip() for f in fields.split(",") if f.strip()] if isinstance(fields, str) else None
    return visible_fields(actor, catalog, only or None)


def _pages(
    actor: Actor,
    catalog: Catalog,
    first: dict[str, Any],
    filter: Any,
    sort: Any,
    fields: Any,
    view: Any,
) -> Iterator[list[dict[str, Any]]]:
    page = first
    while True:
        yield page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return
        page = records.list_records(actor, catalog.id, filter, sort, PAGE, cursor, fields, view)


def cell_text(f: Field, value: Any) -> str:
    """A value as text, the way the field type writes it (and reads it back on import)."""
    return f.ftype.export_text(value, f)


def csv_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP's CSV-injection rule).

    A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
    Excel and LibreOffice (`=HYPERLINK(...)`, `-2+3+cmd|...`); a leading apostrophe
    makes it text. A plain number (`-12.50`) stays as it is.
    """
    if text and text[0] in FORMULA_STARTS and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv(columns: list[Field], pages: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    """UTF-8 with a BOM so Excel opens Cyrillic text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([ID_HEADER] + [csv_safe(f.name) for f in columns])
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    for items in pages:
        buffer.seek(0)
        buffer.truncate()
        for record in items:
            values = record["values"]
            writer.writerow(
                [record["id"]] + [csv_safe(cell_text(f, values.get(f.api_name))) for f in columns]
            )
        yield buffer.getvalue().encode()


def _jsonl(columns: list[Field], pages: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    for items in pages:
        yield b"".join(orjson.dumps(record) + b"\n" for record in items)


def _xlsx(columns: list[Field], pages: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    """openpyxl's write-only mode streams rows to disk; the finished file is then streamed."""
    import openpyxl  # lazy: heavy, only for XLSX exports

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("records")
    sheet.append([ID_HEADER] + [_xlsx_text(sheet, f.name) for f in columns])
    for items in pages:
        for record in items:
            values = record["values"]
            sheet.append(
                [record["id"]] + [_xlsx_value(sheet, f, values.get(f.api_name)) for f in columns]
            )
    with tempfile.TemporaryFile() as tmp:
        book.save(tmp)
        tmp.seek(0)
        while block := tmp.read(XLSX_BLOCK):
            yield block


def _xlsx_value(sheet: Any, f: Field, value: Any) -> Any:
    if value is None:
        return None
    cell = f.ftype.spreadsheet_value(value, f)
    return _xlsx_text(sheet, cell) if isinstance(cell, str) else cell


def _xlsx_text(sheet: Any, text: str) -> Any:
    """A string cell, never a formula: openpyxl writes any text starting with `=` as one."""
    from openpyxl.cell import WriteOnlyCell  # lazy: heavy, only for XLSX
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # lazy: heavy, only for XLSX

    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"
    return cell
