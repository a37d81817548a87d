"""Reading CSV and XLSX files as rows of text cells (encoding and delimiter detected)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import re
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


def bad_file(code: str, /, **params: Any) -> ValidationFailed:
    """An error about the uploaded file itself (shown as `fields.file`): a code of
    `messages/imports.py` and its params."""
    return ValidationFailed.of(code, "file", **params)


@dataclass
class Source:
    """An opened tabular file: its headers and a way to iterate its data rows."""

    path: Path
    kind: str  # csv | xlsx
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None  # XLSX: the chosen sheet's title

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(file line number, cells as text) for each non-empty data row; header is line 1."""
        if self.kind == "xlsx":
            return _xlsx_rows(self.path, True, self.sheet)
        return _csv_rows(self.path, self.encoding or "utf-8", self.delimiter or ",", True)

    def count_rows(self, stop_after: int) -> int:
        """Data rows in the file (counting stops just past `stop_after`)."""
        n = 0
        for _ in self.rows():
            n += 1
            if n > stop_after:
                break
        return n


def open_source(
    path: Path,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> Source:
    """Detect the file kind, read its header row, and return a Source (or a `file` error).

    A `.tsv` file is tab-separated whatever its sample suggests; `sheet` picks an XLSX
    sheet by name or number (1 = the first; default: the sheet the workbook opens on)."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head.strip():
        raise bad_file("import_file_empty")
    if head.startswith(XLSX_MAGIC):
        return _open_xlsx(path, sheet)
    if head.startswith(OLE_MAGIC) or b"\x00" in head:
        raise bad_file("import_file_type")
    if sheet is not None:
        raise bad_file("import_sheet_csv")
    if delimiter is None and path.suffix.lower() == ".tsv":
        delimiter = "\t"
    encoding = encoding or detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    delimiter = delimiter or detect_delimiter(text)
    headers = next((cells for _, cells in _csv_rows(path, encoding, delimiter, False)), None)
    if not headers:
        raise bad_file("import_no_header")
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
                    raise bad_file("import_columns_at_line", line=start, max=MAX_COLUMNS)
                if skip_header and start == 1:
                    continue
                # A row of blank cells is skipped: its cells joined are blank (one C
                # call per row instead of a generator stripping every cell).
                if "".join(cells).strip():
                    yield start, cells
        except UnicodeDecodeError:
            raise bad_file("import_bad_text", encoding=encoding, line=line) from None
        except csv.Error as exc:
            raise bad_file("import_csv_error", line=line, reason=str(exc)) from None


def _open_xlsx(path: Path, sheet: str | int | None) -> Source:
    title = sheet_title(path, sheet)
    headers = next((cells for _, cells in _xlsx_rows(path, False, title)), None)
    if not headers:
        raise bad_file("import_no_header_sheet", sheet=title)
    return Source(path, "xlsx", _clean_headers(headers), sheet=title)


def sheet_titles(path: Path) -> list[str]:
    """The sheets of a workbook, in order."""
    with _workbook(path) as book:
        return list(book.sheetnames)


def sheet_title(path: Path, sheet: str | int | None) -> str:
    """The title of the chosen sheet (the active one when None), or a `file` error."""
    with _workbook(path) as book:
        names = list(book.sheetnames)
        if not names:
            raise bad_file("import_no_sheet")
        if sheet is None:
            active = book.active
            return active.title if active is not None else names[0]
    if isinstance(sheet, int):
        if sheet > len(names):
            raise bad_file("import_sheet_count", count=len(names), sheet=sheet)
        return names[sheet - 1]
    for name in names:
        if name.casefold() == sheet.strip().casefold():
            return name
    raise bad_file("import_sheet_unknown", sheet=sheet, names=", ".join(names))


@contextlib.contextmanager
def _workbook(path: Path) -> Iterator[Any]:
    import openpyxl  # lazy: heavy, only for XLSX imports

    check_xlsx_parts(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise bad_file("import_xlsx_unreadable", reason=str(exc)) from None
    try:
        yield book
    finally:
        book.close()


def check_xlsx_parts(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than the limits (a zip bomb: a few
    KB that inflate to gigabytes of XML)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise bad_file("import_xlsx_unreadable", reason=str(exc)) from None
    total = sum(p.file_size for p in parts)
    biggest = max((p.file_size for p in parts), default=0)
    if total > MAX_XLSX_UNCOMPRESSED or biggest > MAX_XLSX_PART:
        raise bad_file(
            "import_xlsx_too_big",
            total=total,
            max_total=MAX_XLSX_UNCOMPRESSED,
            max_part=MAX_XLSX_PART,
        )


def _xlsx_rows(
    path: Path, skip_header: bool, sheet_name: str | None = None
) -> Iterator[tuple[int, list[str]]]:
    with _workbook(path) as book:
        sheet = book[sheet_name] if sheet_name else book.active
        if sheet is None:
            raise bad_file("import_no_sheet")
        # The sheet's declared `dimension` may claim A1:XFD1048576 for a single cell; read
        # only the cells that are there, as wide as the header row.
        sheet.reset_dimensions()  # type: ignore[union-attr]
        width = _xlsx_width(sheet)
        for line, values in enumerate(sheet.iter_rows(max_col=width, values_only=True), start=1):
            if line * width > MAX_CELLS:
                raise bad_file("import_too_many_cells", max=MAX_CELLS, line=line)
            if skip_header and line == 1:
                continue
            if not any(v is not None for v in values):
                continue
            cells = [cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                yield line, cells


def _xlsx_width(sheet: Any) -> int:
    """Columns of the header row (trailing empty cells dropped), at most MAX_COLUMNS."""
    # Without dimensions one row is as wide as its last cell (16384 at most): cheap once.
    first = next(sheet.iter_rows(max_row=1, values_only=True), ())
    cells = [cell_text(v).strip() for v in first]
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise bad_file("import_too_many_columns", max=MAX_COLUMNS)
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


#: Pattern letters users type (1C, Excel) and the strptime directives they stand for.
_PATTERN_TOKENS = (
    ("yyyy", "%Y"), ("гггг", "%Y"), ("yy", "%y"), ("гг", "%y"),
    ("dd", "%d"), ("дд", "%d"), ("hh", "%H"), ("чч", "%H"),
    ("ss", "%S"), ("сс", "%S"), ("mm", "%m"), ("мм", "%m"),
)  # fmt: skip


def pattern_format(pattern: str) -> str:
    """A date pattern as a user types it (`dd.mm.yyyy`, `дд.мм.гггг чч:мм`) as a strptime
    format; text with a `%` is taken as strptime already. `mm` right after an hour and a
    colon (`hh:mm`) is minutes, elsewhere the month. ValueError when no date part is named."""
    if "%" in pattern:
        return pattern
    out: list[str] = []
    i, low = 0, pattern.lower()
    while i < len(low):
        for token, directive in _PATTERN_TOKENS:
            if low.startswith(token, i):
                if directive == "%m" and "".join(out[-2:]) in ("%H:", "%M:"):
                    directive = "%M"
                out.append(directive)
                i += len(token)
                break
        else:
            out.append(pattern[i])
            i += 1
    text = "".join(out)
    if "%d" not in text or "%m" not in text or ("%Y" not in text and "%y" not in text):
        raise ValueError(pattern)
    return text


_DIRECTIVES = {
    "%d": r"(?P<d>\d{1,2})", "%m": r"(?P<m>\d{1,2})", "%Y": r"(?P<Y>\d{4})",
    "%y": r"(?P<y>\d{2})", "%H": r"(?P<H>\d{1,2})", "%M": r"(?P<M>\d{2})",
    "%S": r"(?P<S>\d{2})",
}  # fmt: skip


@functools.lru_cache(maxsize=64)
def date_regex(date_format: str, with_time: bool) -> re.Pattern[str] | None:
    """A regex doing what strptime does for formats made of %d %m %Y %y %H %M %S and
    literal text (None for any other directive: strptime is used then). strptime costs
    ~10 microseconds a cell; a million rows have a few million date cells."""
    parts = re.split(r"(%.)", date_format)
    out = []
    for part in parts:
        if part.startswith("%") and len(part) == 2:
            if part not in _DIRECTIVES:
                return None
            out.append(_DIRECTIVES[part])
        else:
            out.append(re.escape(part))
    body = "".join(out)
    if with_time and "%H" not in date_format:
        body += r"(?: (?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
    return re.compile(body)


def parse_date_text(text: str, date_format: str, with_time: bool) -> str:
    """A date (or datetime) cell parsed with an explicit strptime format, as ISO text.

    For a datetime the format may name the date alone: a time after it (` HH:MM[:SS]`)
    is read too. ValueError when the text does not match."""
    text = text.strip()
    pattern = date_regex(date_format, with_time)
    if pattern is None:
        return _strptime_text(text, date_format, with_time)
    m = pattern.fullmatch(text)
    if m is None:
        raise ValueError(text)
    g = m.groupdict()
    year = int(g["Y"]) if g.get("Y") else two_digit_year(int(g["y"]))
    parsed = datetime(
        year, int(g["m"]), int(g["d"]),
        int(g.get("H") or 0), int(g.get("M") or 0), int(g.get("S") or 0),
    )  # fmt: skip
    return parsed.isoformat() if with_time else parsed.date().isoformat()


def two_digit_year(year: int) -> int:
    """strptime's rule for %y: 69-99 are 1969-1999, 00-68 are 2000-2068."""
    return 1900 + year if year >= 69 else 2000 + year


def _strptime_text(text: str, date_format: str, with_time: bool) -> str:
    formats = [date_format]
    if with_time and "%H" not in date_format:
        formats += [f"{date_format} %H:%M:%S", f"{date_format} %H:%M"]
    for fmt in formats:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.isoformat() if with_time else parsed.date().isoformat()
    raise ValueError(text)
