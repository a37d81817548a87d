"""File formats of exports, each a generator of bytes over the chunks of a `Source`.

Nothing here holds more than one chunk: CSV and JSON Lines are encoded chunk by chunk,
Parquet writes one row group per chunk and hands its bytes on at once, XLSX streams
rows into openpyxl's write-only workbook on disk and then the finished file.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from kartoteka.fields.base import ExportType

from .cells import csv_safe
from .source import Chunk, Column, collector_paused

ID_HEADER = "id"
XLSX_BLOCK = 256 * 1024
#: Excel number formats of typed cells (the cell holds the number, the format shows it).
XLSX_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss"}
#: Characters XML 1.0 cannot hold (openpyxl refuses them); the same set as openpyxl's.
ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

Chunks = Iterator[Chunk]


# ----- CSV -----------------------------------------------------------------------------------
def write_csv(
    columns: list[Column], chunks: Chunks, *, encoding: str, delimiter: str
) -> Iterator[bytes]:
    """CSV: UTF-8 with a BOM (Excel then reads Cyrillic right) or Windows-1251.

    A character Windows-1251 cannot hold becomes `?` (the file is already streaming
    when it appears); the export docs say to choose UTF-8 for such data.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    codec = "utf-8" if encoding == "utf-8" else "cp1251"

    def drain() -> bytes:
        data = buffer.getvalue().encode(codec, errors="replace")
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow([ID_HEADER] + [csv_safe(c.name) for c in columns])
    yield (b"\xef\xbb\xbf" if codec == "utf-8" else b"") + drain()
    texts = [c.cells.texts for c in columns]
    for chunk in chunks:
        with collector_paused():
            cells = [t(values) for t, values in zip(texts, chunk.values, strict=True)]
            writer.writerows(zip(chunk.ids, *cells, strict=True))
            data = drain()
        yield data


# ----- JSON Lines ----------------------------------------------------------------------------
def write_jsonl(records: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    """One record per line, exactly as the records API renders it."""
    for chunk in records:
        with collector_paused():
            data = b"".join(orjson.dumps(record) + b"\n" for record in chunk)
        yield data


# ----- Parquet -------------------------------------------------------------------------------
class _Sink(io.RawIOBase):
    """A write-only file that keeps what was written until `take` hands it on."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        part = bytes(data)
        self.parts.append(part)
        self.position += len(part)
        return len(part)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        """Everything written since the last call."""
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _arrow_type(pa: Any, kind: ExportType) -> Any:
    return {
        "integer": pa.int64(),
        "float": pa.float64(),
        "decimal": pa.decimal128(38, kind.scale),
        "date": pa.date32(),
        "datetime": pa.timestamp("ms", tz="UTC"),
        "boolean": pa.bool_(),
    }.get(kind.kind, pa.string())


def write_parquet(columns: list[Column], chunks: Chunks) -> Iterator[bytes]:
    """Parquet with typed columns (int64, float64, decimal128, date32, UTC timestamps,
    booleans, strings), one row group per chunk, zstd-compressed."""
    import pyarrow as pa  # lazy: heavy, only for Parquet exports
    import pyarrow.parquet as pq  # lazy: heavy, only for Parquet exports

    schema = pa.schema(
        [pa.field(ID_HEADER, pa.int64(), nullable=False)]
        + [pa.field(c.field.api_name, _arrow_type(pa, c.type)) for c in columns]
    )
    types = [_arrow_type(pa, c.type) for c in columns]
    sink = _Sink()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        yield sink.take()
        for chunk in chunks:
            with collector_paused():
                arrays = [pa.array(chunk.ids, pa.int64())]
                for column, type_, values in zip(columns, types, chunk.values, strict=True):
                    made = column.cells
                    if made.arrow is not None:
                        arrays.append(made.arrow(values))
                    else:
                        arrays.append(pa.array(made.typed(values), type_))
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            yield sink.take()
    yield sink.take()


# ----- XLSX ----------------------------------------------------------------------------------
def write_xlsx(columns: list[Column], chunks: Chunks, *, zone: ZoneInfo) -> Iterator[bytes]:
    """Typed cells: numbers, money, dates and times are Excel values with a number format,
    booleans are booleans, everything else a text cell (never a formula).

    Excel has no time zones: date-times are written in the workspace's zone.
    """
    import openpyxl  # lazy: heavy, only for XLSX exports

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("records")
    sheet.append([ID_HEADER] + [_xlsx_text(sheet, c.name) for c in columns])
    cells = [_xlsx_cell(sheet, c, zone) for c in columns]
    for chunk in chunks:
        with collector_paused():
            typed = [c.cells.typed(v) for c, v in zip(columns, chunk.values, strict=True)]
            for i, rid in enumerate(chunk.ids):
                sheet.append([rid] + [cell(v[i]) for cell, v in zip(cells, typed, strict=True)])
    with tempfile.TemporaryFile() as tmp:
        book.save(tmp)
        tmp.seek(0)
        while block := tmp.read(XLSX_BLOCK):
            yield block


def _xlsx_cell(sheet: Any, column: Column, zone: ZoneInfo) -> Callable[[Any], Any]:
    """A typed value (`Cells.typed`) -> what `sheet.append` writes for it in this column.

    openpyxl gives dates and date-times their number format itself, and writes a plain
    `str` as text unless it starts with `=`: only those, illegal characters and amounts
    (shown with their decimals) need a cell object, which costs ten times a value.
    """
    kind = column.type.kind
    if kind == "text":

        def text(value: Any) -> Any:
            if value is not None and (value.startswith("=") or ILLEGAL.search(value)):
                return _xlsx_text(sheet, value)
            return value

        return text
    if kind in ("integer", "float", "boolean", "date"):
        return lambda v: v
    if kind == "datetime":
        return lambda v: None if v is None else _excel_value(v, zone)
    number_format = _number_format(column.type)

    def cell(value: Any) -> Any:
        if value is None:
            return None
        return _formatted(sheet, _excel_value(value, zone), number_format)

    return cell


def _number_format(kind: ExportType) -> str:
    if kind.kind == "decimal":
        return "#,##0" + ("." + "0" * kind.scale if kind.scale else "")
    return XLSX_FORMATS[kind.kind]


def _excel_value(value: Any, zone: ZoneInfo) -> Any:
    """Excel's own types: a float for an amount, a naive local time for a moment."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, date):
        return value
    return value


def _formatted(sheet: Any, value: Any, number_format: str) -> Any:
    from openpyxl.cell import WriteOnlyCell  # lazy: heavy, only for XLSX

    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def _xlsx_text(sheet: Any, text: str) -> Any:
    """A string cell, never a formula: openpyxl writes any text starting with `=` as one."""
    from openpyxl.cell import WriteOnlyCell  # lazy: heavy, only for XLSX
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # lazy: heavy, only for XLSX

    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"
    return cell
