"""Per-column cell converters: a cell's text to its stored value, compiled once per import.

The general path for a cell is the import's own reading (`date_format`,
`decimal_comma`, `list_separator`), then the field type's `from_text` and `to_db`.
For the common types `compile_column` gives a function doing the same in one step:
a date is parsed once (the general path parses it three times: the pattern, the
type's text formats, then ISO), an amount by integer arithmetic instead of Decimal,
a text stripped once. Any text the one-step function does not recognise takes the
general path, so values and errors are those of the general path
(`tests/importer/test_import_convert.py` checks both agree on edge values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kartoteka.context import Actor
from kartoteka.fields.base import FieldValueError
from kartoteka.fields.date import DateType
from kartoteka.fields.datetime import DateTimeType
from kartoteka.fields.long_text import MAX_LONG_TEXT, LongTextType
from kartoteka.fields.money import MoneyType
from kartoteka.fields.number import NumberType
from kartoteka.fields.text import DEFAULT_MAX, TextType

from . import readers
from .options import ImportOptions
from .plan import Column

Converter = Callable[[str], Any]

#: A plain decimal as `normalise_number` leaves it: sign, at most 12 integer digits
#: (far from every range limit), an optional fraction.
_DECIMAL = re.compile(r"(-?)(\d{1,12})(?:\.(\d{1,10}))?", re.ASCII)


def general(col: Column, opts: ImportOptions, actor: Actor, date_format: str | None) -> Converter:
    """The general path: a cell's stored value (for a link by key: its key texts)."""
    f = col.field
    ftype = f.ftype
    kind = ftype.value_kind
    dates = bool(date_format) and kind in ("date", "datetime")
    separator = opts.list_separator if f.is_link else None

    def convert(text: str) -> Any:
        if dates and text.strip():
            assert date_format is not None
            try:
                text = readers.parse_date_text(text, date_format, kind == "datetime")
            except ValueError:
                raise FieldValueError(
                    f"does not match date_format {opts.date_format}",
                    "date_format_mismatch",
                    format=opts.date_format,
                ) from None
        if kind == "number" and text.strip():
            text = readers.normalise_number(text, opts.decimal_comma)
        if separator and text.strip():
            value: Any = [t.strip() for t in text.split(separator) if t.strip()]
        else:
            value = ftype.from_text(text, f, actor)
        if col.link_key is not None:
            return value or []
        return ftype.to_db(value, f, actor)

    return convert


def compile_column(
    col: Column, opts: ImportOptions, actor: Actor, date_format: str | None
) -> Converter:
    """The column's converter: one step for text, long text, integer numbers, money,
    dates and date-times; the general path for the rest and for what it leaves."""
    slow = general(col, opts, actor, date_format)
    f = col.field
    if col.link_key is not None or f.is_link:
        return slow
    kind = type(f.ftype)
    if kind is TextType:
        return _text(slow, int(f.options.get("max_length") or DEFAULT_MAX), fold=True)
    if kind is LongTextType:
        return _text(slow, MAX_LONG_TEXT, fold=False)
    if kind is MoneyType:
        return _decimal(slow, opts.decimal_comma, int(f.options.get("decimals", 2)))
    if kind is NumberType and not f.options.get("decimals"):
        return _decimal(slow, opts.decimal_comma, 0)
    if date_format and kind in (DateType, DateTimeType):
        with_time = kind is DateTimeType
        pattern = readers.date_regex(date_format, with_time)
        if pattern is not None:
            zone = actor.timezone if with_time else None
            return _date(slow, pattern, zone)
    return slow


def _text(slow: Converter, limit: int, fold: bool) -> Converter:
    """`from_text` + `clean_string` (+ newline folding for one-line text) in one step."""

    def convert(text: str) -> Any:
        t = text.strip()
        if not t:
            return None
        if len(t) > limit or "\x00" in t:
            return slow(text)  # its error
        if fold and "\n" in t:
            return " ".join(t.split())
        return t

    return convert


def _decimal(slow: Converter, decimal_comma: bool | None, scale: int) -> Converter:
    """A whole number (scale 0) or an amount in minor units (scale = its decimals),
    by integer arithmetic; fractions longer than `scale`, big or odd texts go slow."""
    unit = 10**scale

    def convert(text: str) -> Any:
        t = readers.normalise_number(text, decimal_comma)
        m = _DECIMAL.fullmatch(t)
        if m is None:
            return slow(text)  # empty, an error, or a form only Decimal reads
        sign, whole, frac = m.groups()
        if frac is not None and len(frac) > scale:
            return slow(text)
        value = int(whole) * unit + (int(frac.ljust(scale, "0")) if frac else 0)
        return -value if sign else value

    return convert


def _date(slow: Converter, pattern: re.Pattern[str], zone: Any) -> Converter:
    """A date (zone None) or a date-time in `zone` stored as naive UTC, parsed once."""
    # The groups by position (a dict of groups per cell cost more than the parsing).
    names = ("Y", "y", "m", "d", "H", "M", "S")
    places = [pattern.groupindex.get(n) for n in names]
    Y, y, m, d, H, M, S = (p or 0 for p in places)  # noqa: N806 - strptime's letters
    if not (Y or y) or not m or not d:
        return slow  # (no pattern of a date: every date format names all three)

    def convert(text: str) -> Any:
        t = text.strip()
        if not t:
            return None
        match = pattern.fullmatch(t)
        if match is None:
            return slow(text)  # its error
        g = match.group
        year = int(g(Y)) if Y and g(Y) else readers.two_digit_year(int(g(y)))
        try:
            # A time in the pattern is checked even for a date, as the general path does.
            moment = datetime(
                year, int(g(m)), int(g(d)),
                int((H and g(H)) or 0), int((M and g(M)) or 0), int((S and g(S)) or 0),
            )  # fmt: skip
            if zone is None:
                return moment.date()
            # What `moment.replace(tzinfo=zone).astimezone(UTC)` gives, without the tz
            # round trip (1.8 microseconds a cell).
            return moment - zone.utcoffset(moment.replace(tzinfo=zone))
        except (ValueError, OverflowError):
            return slow(text)  # its error (no such day, out of range)

    return convert
