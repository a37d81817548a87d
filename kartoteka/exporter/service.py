"""Exports: a catalog's records (rights, filter, view, sort, fields) as CSV, XLSX, JSON Lines
or Parquet, streamed.

`export_records` checks everything it can before the first byte (format, options,
filter, sort, fields, view, rights) and returns an `Export` whose body is a generator:
the rows are read in chunks from one snapshot (`source.py`) and written by the format's
writer (`writers.py`), so a million records never sit in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import ValidationFailed
from kartoteka.records.service import get_catalog

from . import writers
from .cells import csv_safe
from .source import Chunk, Source, plan

__all__ = ["FORMATS", "Export", "ExportOptions", "csv_safe", "export_records", "parse_options"]

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
#: `encoding` values: UTF-8 (with a BOM) or Windows-1251, under the names people use.
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "cp1251": "cp1251", "windows-1251": "cp1251"}
#: `delimiter` values: comma, semicolon (Excel in Russian locales), tab.
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "comma": ",", "semicolon": ";"}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportOptions:
    """How the file is written: format, and for CSV its encoding and delimiter."""

    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","


@dataclass
class Export:
    """A file being exported: its name, media type and body (an iterator of bytes)."""

    filename: str
    media_type: str
    body: Iterator[bytes]
    source: Source

    @property
    def content_disposition(self) -> str:
        """`attachment` with an ASCII fallback name and the real (UTF-8) one."""
        ascii_name = self.filename.encode("ascii", "replace").decode().replace("?", "_")
        ascii_name = ascii_name.replace('"', "_")
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename)}"


def parse_options(
    format: Any = "csv", encoding: Any = None, delimiter: Any = None
) -> ExportOptions:
    """Checked options; a bad one is a 422 naming it."""
    if format not in FORMATS:
        raise ValidationFailed.of("one_of", "format", allowed=", ".join(FORMATS))
    enc = ENCODINGS.get(str(encoding or "utf-8").lower())
    if enc is None:
        raise ValidationFailed.of("export_encoding", "encoding")
    sep = DELIMITERS.get(str(delimiter or ","))
    if sep is None:
        raise ValidationFailed.of("export_delimiter", "delimiter")
    if format != "csv" and (encoding or delimiter):
        name = "encoding" if encoding else "delimiter"
        raise ValidationFailed.of("export_csv_only", name)
    return ExportOptions(format, enc, sep)


def export_records(
    actor: Actor,
    catalog_ref: str | int,
    format: str = "csv",
    filter: Any = None,
    view: Any = None,
    fields: Any = None,
    sort: Any = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    progress: Progress | None = None,
) -> Export:
    """Start an export; bad parameters fail here (before any byte is sent).

    `progress(n)` is called with the number of records written so far after each chunk.
    """
    options = parse_options(format, encoding, delimiter)
    catalog = get_catalog(actor, catalog_ref)
    source = plan(actor, catalog, filter, view, fields, sort)
    body = _body(actor, source, options, progress)
    return Export(_filename(catalog, options), FORMATS[options.format], body, source)


def _filename(catalog: Catalog, options: ExportOptions) -> str:
    return f"{catalog.name}.{options.format}"


def _counted(chunks: Iterator[Any], progress: Progress | None) -> Iterator[Any]:
    done = 0
    for chunk in chunks:
        yield chunk
        done += len(chunk.ids) if isinstance(chunk, Chunk) else len(chunk)
        if progress is not None:
            progress(done)


def _body(
    actor: Actor, source: Source, options: ExportOptions, progress: Progress | None
) -> Iterator[bytes]:
    if options.format == "jsonl":
        return writers.write_jsonl(_counted(source.records(), progress))
    columns = source.columns
    chunks = _counted(source.chunks(), progress)
    if options.format == "csv":
        return writers.write_csv(
            columns, chunks, encoding=options.encoding, delimiter=options.delimiter
        )
    if options.format == "parquet":
        return writers.write_parquet(columns, chunks)
    return writers.write_xlsx(columns, chunks, zone=actor.timezone)
