"""How an exported column's values become cells: CSV texts and typed values, a chunk at a time.

The exact rule of every cell is the field type's own: its `reader` (the stored value as
the records API renders it), the reader's field rule (`FieldView.value` masks), then
`export_text` (CSV) or `typed_value` (Parquet, XLSX). Done per value, that is three
dispatches per cell; a million rows x 12 fields is 36 million calls and the export's
whole budget. So a column's converter is built once per export, and for the types
whose rule is a plain expression over the stored value (texts, numbers, money, dates,
moments, flags, single choices) the converter is that expression in one list
comprehension over the column. Everything else (masked columns, multi-choices, types
of plugins) goes the exact way. `tests/exporter/test_export_cells.py` holds every fast
converter to the exact one, value by value.

These converters live beside the exporter rather than in the field types because the
records reader owns the field formatters; a field type that overrides its rendering
(a subclass, a plugin) is never matched here (the table is keyed by exact class).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from kartoteka.access.visibility import FieldView
from kartoteka.catalogs.models import Field
from kartoteka.context import Actor
from kartoteka.fields.base import ExportType, FieldType, same
from kartoteka.fields.checkbox import CheckboxType
from kartoteka.fields.date import DateType
from kartoteka.fields.datetime import DateTimeType, render_datetime
from kartoteka.fields.money import MoneyType
from kartoteka.fields.number import NumberType
from kartoteka.fields.select import SelectType

Values = Sequence[Any]
Convert = Callable[[Values], list[Any]]

#: A cell starting with one of these is a formula to Excel and LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP's CSV-injection rule).

    A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
    Excel and LibreOffice (`=HYPERLINK(...)`, `-2+3+cmd|...`); a leading apostrophe
    makes it text. A plain number (`-12.50`) stays as it is.
    """
    if text and text[0] in FORMULA_STARTS and (text[0] != "-" or not NUMBER.fullmatch(text)):
        return "'" + text
    return text


@dataclass(frozen=True)
class Cells:
    """One column's converters over a chunk of its values (stored, or rendered when
    `rendered`: link, user and file columns come from the records renderer)."""

    #: CSV cell texts, "" when empty, formula-safe for text columns.
    texts: Convert
    #: Python values of the column's export type, None when empty (Parquet, XLSX).
    typed: Convert
    #: The Parquet column (a pyarrow array) straight from the values, where that is
    #: cheaper than `typed`; None: `pa.array(typed(values))`.
    arrow: Callable[[Values], Any] | None = None
    #: Its texts are `csv_safe` already (text columns are made so otherwise).
    formula_safe: bool = False
    #: Takes the driver's own values (no SQLAlchemy result processing: on SQLite dates
    #: and moments as their stored text, flags as 0/1), which it converts for less.
    raw: bool = False


def cells(actor: Actor, view: FieldView, field: Field, kind: ExportType, *, masked: bool,
          rendered: bool, text_moments: bool = False) -> Cells:  # fmt: skip
    """The converters of one exported column, built once per export.

    `text_moments`: the database keeps dates and moments as text (SQLite), so a
    converter that takes the driver's values (`Cells.raw`) gets them as text.
    """
    fast = None if masked or rendered else _FAST.get(type(field.ftype))
    made = fast(field, text_moments) if fast is not None else None
    if made is None and not masked and not rendered:
        made = _stored_as_is(field)
    if made is None:
        made = exact_cells(actor, view, field, kind, masked=masked, rendered=rendered)
    if kind.kind != "text" or made.formula_safe:
        return made
    texts = made.texts
    return Cells(lambda values: _formula_safe(texts(values)), made.typed, made.arrow, made.raw)


def _formula_safe(texts: list[str]) -> list[str]:
    """`csv_safe` of each text (only a text starting with `-` can be a plain number)."""
    starts, number = FORMULA_STARTS, NUMBER.fullmatch
    return [
        "'" + t if t and t[0] in starts and (t[0] != "-" or not number(t)) else t for t in texts
    ]


def exact_cells(actor: Actor, view: FieldView, field: Field, kind: ExportType, *, masked: bool,
           rendered: bool) -> Cells:  # fmt: skip
    """The field type's own rules, value by value: reader, mask, export text or type."""
    ftype = field.ftype
    read = same if rendered else ftype.reader(field, actor)

    def values_of(values: Values) -> list[Any]:
        shown = list(values) if read is same else list(map(read, values))
        return [view.value(field, v) for v in shown] if masked else shown

    export_text = ftype.export_text
    typed_value = export_text if kind.kind == "text" else ftype.typed_value
    return Cells(
        lambda values: ftype.export_texts(values_of(values), field),
        lambda values: [None if v is None else typed_value(v, field) for v in values_of(values)],
    )


def _stored_as_is(field: Field) -> Cells | None:
    """Types that render the stored value itself and write it as `str` (texts, e-mails,
    phones, URLs): no call per value at all."""
    ftype, kind = field.ftype, type(field.ftype)
    if ftype.reader(field, None) is not same:
        return None
    if kind.export_text is not FieldType.export_text or kind.to_text is not FieldType.to_text:
        return None
    if kind.typed_value is not FieldType.typed_value or ftype.export_type(field).kind != "text":
        return None
    starts, number = FORMULA_STARTS, NUMBER.fullmatch

    def texts(values: Values) -> list[str]:
        # `str` and `csv_safe` in one pass: the column is text, so every value is checked.
        return [
            ""
            if v is None
            else "'" + t
            if (t := str(v)) and t[0] in starts and (t[0] != "-" or not number(t))
            else t
            for v in values
        ]

    return Cells(
        texts,
        lambda values: [None if v is None else str(v) for v in values],
        formula_safe=True,
    )


# ----- the fast converters, one per built-in type whose rule is an expression ---------------
def _money(field: Field, text_moments: bool) -> Cells:
    """Minor units -> `"-1234.50"` (`MoneyType.reader`), a Decimal, an exact decimal128."""
    scale = int(field.options.get("decimals", 2))
    unit = 10**scale
    typed_value = field.ftype.typed_value
    if scale == 0:

        def texts(values: Values) -> list[str]:
            return ["" if v is None else str(int(v)) for v in values]
    else:
        whole_part = f"%d.%0{scale}d"

        def texts(values: Values) -> list[str]:
            return [
                ""
                if v is None
                else whole_part % divmod(m, unit)
                if (m := int(v)) >= 0
                else "-" + whole_part % divmod(-m, unit)
                for v in values
            ]

    def typed(values: Values) -> list[Any]:
        return [None if t == "" else typed_value(t, field) for t in texts(values)]

    def arrow(values: Values) -> Any:
        # A decimal128 holds the unscaled integer: the minor units are that integer at
        # this scale, so the column is the integers cast, its scale set (no rounding).
        import pyarrow as pa  # lazy: heavy, only for Parquet exports

        whole = pa.array([None if v is None else int(v) for v in values], pa.int64())
        whole = whole.cast(pa.decimal128(38, 0))
        return pa.Array.from_buffers(
            pa.decimal128(38, scale), len(whole), whole.buffers(), whole.null_count
        )

    return Cells(texts, typed, arrow)


def _number(field: Field, text_moments: bool) -> Cells:
    """`int(raw)` or `round(float(raw), decimals)` (`NumberType.reader`), written by `str`."""
    decimals = int(field.options.get("decimals") or 0)
    if decimals == 0:

        def typed(values: Values) -> list[Any]:
            return [None if v is None else int(v) for v in values]
    else:

        def typed(values: Values) -> list[Any]:
            return [None if v is None else round(float(v), decimals) for v in values]

    return Cells(lambda values: ["" if v is None else str(v) for v in typed(values)], typed)


def _date(field: Field, text_moments: bool) -> Cells:
    """A stored date -> ISO text (`render_date`: of a text, its first ten characters) and
    the date."""
    if not text_moments:
        return Cells(
            lambda values: ["" if v is None else v.isoformat() for v in values],
            lambda values: [None if v is None else v for v in values],
        )
    fromisoformat = date.fromisoformat
    return Cells(
        lambda values: ["" if v is None else v[:10] for v in values],
        lambda values: [None if v is None else fromisoformat(v[:10]) for v in values],
        raw=True,
    )


def _datetime(field: Field, text_moments: bool) -> Cells:
    """A stored naive-UTC moment -> `...Z` to the second (`render_datetime`), and the same
    moment aware in UTC (what `typed_value` reads back from that text)."""
    if text_moments:
        return _datetime_text(field)

    def texts(values: Values) -> list[str]:
        return ["" if v is None else v.isoformat(timespec="seconds") + "Z" for v in values]

    def typed(values: Values) -> list[Any]:
        return [None if v is None else v.replace(microsecond=0, tzinfo=UTC) for v in values]

    def arrow(values: Values) -> Any:
        # Whole seconds (pyarrow truncates to the unit), then the export's unit and zone.
        import pyarrow as pa  # lazy: heavy, only for Parquet exports

        seconds = pa.array(values, pa.timestamp("s"))
        return seconds.cast(pa.timestamp("ms")).cast(pa.timestamp("ms", tz="UTC"))

    return Cells(texts, typed, arrow)


def _datetime_text(field: Field) -> Cells:
    """SQLite's stored text `YYYY-MM-DD HH:MM:SS[.ffffff]` sliced into `YYYY-MM-DDTHH:MM:SSZ`;
    any other form of text goes through `render_datetime` as the reader does."""
    typed_value = field.ftype.typed_value

    def texts(values: Values) -> list[str]:
        return [
            ""
            if v is None
            else v[:10] + "T" + v[11:19] + "Z"
            if len(v) >= 19 and v[10] == " "
            else render_datetime(v) or ""
            for v in values
        ]

    def typed(values: Values) -> list[Any]:
        return [None if t == "" else typed_value(t, field) for t in texts(values)]

    return Cells(texts, typed, raw=True)


def _checkbox(field: Field, text_moments: bool) -> Cells:
    """`bool(raw)`: never empty, `true`/`false` (the same of 0/1 as of booleans)."""
    return Cells(
        lambda values: ["true" if v else "false" for v in values],
        lambda values: [bool(v) for v in values],
        raw=True,
    )


def _select(field: Field, text_moments: bool) -> Cells | None:
    """A single choice -> its label; a choice no longer listed is empty."""
    if field.options.get("multiple"):
        return None
    labels = {c["id"]: str(c["label"]) for c in field.options.get("choices") or []}
    get = labels.get
    return Cells(
        lambda values: ["" if v is None else get(int(v), "") for v in values],
        lambda values: [None if v is None else get(int(v)) for v in values],
    )


_FAST: dict[type[FieldType], Callable[[Field, bool], Cells | None]] = {
    MoneyType: _money,
    NumberType: _number,
    DateType: _date,
    DateTimeType: _datetime,
    CheckboxType: _checkbox,
    SelectType: _select,
}
