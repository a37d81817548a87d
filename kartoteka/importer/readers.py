"""Reading CSV and XLSX files as rows of text cells (encoding and delimiter detected)."""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from kartoteka.errors import ValidationFailed

SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls and other OLE containers
#: Limits on what one import file may make the server read (docs/import-export.md).
MAX_COLUMNS = 1000
MAX_CELLS = 50_000_000
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_PART = 256 * 1024 * 1024


def bad_file(message: str) -> ValidationFailed:
    """An error about the uploaded file itself (shown as `fields.file`)."""
    return ValidationFailed(f"file: {message}", fields={"file": message})


@dataclass
class Source:
    """An opened tabular file: its headers and a way to iterate its data rows."""

    path: Path
    kind: str  # csv | xlsx
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(file line number, cells as text) for each non-empty data row; header is line 1."""
        if self.kind == "xlsx":
            return _xlsx_rows(self.path, skip_header=True)
        return _csv_rows(self.path, self.encoding or "utf-8", self.delimiter or ",", True)

    def count_rows(self, stop_after: int) -> int:
        """Data rows in the file (counting stops just past `stop_after`)."""
        n = 0
        for _ in self.rows():
            n += 1
            if n > stop_after:
                break
        return n


def open_source(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Source:
    """Detect the file kind, read its header row, and return a Source (or a `file` error)."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head.strip():
        raise bad_file("the file is empty")
    if head.startswith(XLSX_MAGIC):
        return _open_xlsx(path)
    if head.startswith(OLE_MAGIC) or b"\x00" in head:
        raise bad_file("unsupported file type (expected CSV or XLSX)")
    encoding = encoding or detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    delimiter = delimiter or detect_delimiter(text)
    headers = next((cells for _, cells in _csv_rows(path, encoding, delimiter, False)), None)
    if not headers:
        raise bad_file("no header row")
    return Source(path, "csv", _clean_headers(headers), encoding, delimiter)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as such, else Windows-1251."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a character cut at the sample's end is fine
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8-sig"


def detect_delimiter(text: str) -> str:
    """The delimiter `csv.Sniffer` finds in the sample, falling back to the header's commonest."""
    lines = text.splitlines()
    sample = "\n".join(lines[:-1] if len(lines) > 1 else lines)  # the last line may be cut
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _clean_headers(cells: list[Any]) -> list[str]:
    return [cell_text(c).strip() for c in cells]


def _csv_rows(
    path: Path, encoding: str, delimiter: str, skip_header: bool
) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        line = 1
        try:
            for cells in reader:
                start, line = line, reader.line_num + 1
                if len(cells) > MAX_COLUMNS:
                    raise bad_file(f"line {start}: more than {MAX_COLUMNS} columns")
                if skip_header and start == 1:
                    continue
                if any(c.strip() for c in cells):
                    yield start, cells
        except UnicodeDecodeError:
            raise bad_file(f"not valid {encoding} text near line {line}") from None
        except csv.Error as exc:
            raise bad_file(f"line {line}: {exc}") from None


def _open_xlsx(path: Path) -> Source:
    headers = next((cells for _, cells in _xlsx_rows(path, skip_header=False)), None)
    if not headers:
        raise bad_file("no header row")
    return Source(path, "xlsx", _clean_headers(headers))


def check_xlsx_parts(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than the limits (a zip bomb: a few
    KB that inflate to gigabytes of XML)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise bad_file(f"not a readable XLSX workbook ({exc})") from None
    total = sum(p.file_size for p in parts)
    biggest = max((p.file_size for p in parts), default=0)
    if total > MAX_XLSX_UNCOMPRESSED or biggest > MAX_XLSX_PART:
        raise bad_file(
            f"the workbook unpacks to {total} bytes; at most {MAX_XLSX_UNCOMPRESSED} "
            f"in all and {MAX_XLSX_PART} per part"
        )


def _xlsx_rows(path: Path, skip_header: bool) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # lazy: heavy, only for XLSX imports

    check_xlsx_parts(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise bad_file(f"not a readable XLSX workbook ({exc})") from None
    try:
        sheet = book.active
        if sheet is None:
            raise bad_file("the workbook has no sheet")
        # The sheet's declared `dimension` may claim A1:XFD1048576 for a single cell; read
        # only the cells that are there, as wide as the header row.
        sheet.reset_dimensions()  # type: ignore[union-attr]
        width = _xlsx_width(sheet)
        for line, values in enumerate(sheet.iter_rows(max_col=width, values_only=True), start=1):
            if line * width > MAX_CELLS:
                raise bad_file(f"more than {MAX_CELLS} cells (line {line})")
            if skip_header and line == 1:
                continue
            if not any(v is not None for v in values):
                continue
            cells = [cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                yield line, cells
    finally:
        book.close()


def _xlsx_width(sheet: Any) -> int:
    """Columns of the header row (trailing empty cells dropped), at most MAX_COLUMNS."""
    # Without dimensions one row is as wide as its last cell (16384 at most): cheap once.
    first = next(sheet.iter_rows(max_row=1, values_only=True), ())
    cells = [cell_text(v).strip() for v in first]
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise bad_file(f"more than {MAX_COLUMNS} columns")
    return max(1, len(cells))


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV would hold (dates ISO, whole floats without .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def normalise_number(text: str, decimal_comma: bool | None) -> str:
    """Remove thousands separators; with `decimal_comma` the comma is the decimal point."""
    text = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if decimal_comma is True:
        return text.replace(".", "").replace(",", ".")
    if decimal_comma is False:
        return text.replace(",", "")
    return text


def parse_date_text(text: str, date_format: str, with_time: bool) -> str:
    """A date (or datetime) cell parsed with an explicit strptime format, as ISO text."""
    parsed = datetime.strptime(text.strip(), date_format)
    return parsed.isoformat() if with_time else parsed.date().isoformat()
