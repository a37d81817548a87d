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
from datetime import datetime, time
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
            parts = _date_time(slow, date_format, zone) if with_time else None
            return parts or _date(slow, pattern, zone)
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


#: The time a date-time pattern may follow its date with (`readers.date_regex`).
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_BAD = object()
_MIDNIGHT = time()
#: Distinct date and time texts remembered per column.
_PARTS_LIMIT = 65_536


def _date_time(slow: Converter, date_format: str, zone: Any) -> Converter | None:
    """A date-time "date[ time]" read as its two halves, each remembered: a column of
    moments rarely repeats (minutes of two thousand days), its dates and its times do.
    Values and errors are `_date`'s: a cell either half refuses goes the general way.
    None when the date format itself holds a space or a time (no single split)."""
    if " " in date_format or any(d in date_format for d in ("%H", "%M", "%S")):
        return None
    pattern = readers.date_regex(date_format, False)
    if pattern is None:
        return None
    day_of = _date(lambda _text: _BAD, pattern, None)
    days: dict[str, Any] = {}
    times: dict[str, Any] = {}

    def convert(text: str) -> Any:
        t = text.strip()
        if not t:
            return None
        day_text, space, time_text = t.partition(" ")
        day = days.get(day_text)
        if day is None:
            day = _remember(days, day_text, day_of(day_text))
        clock: Any = _MIDNIGHT
        if space:
            clock = times.get(time_text)
            if clock is None:
                clock = _remember(times, time_text, _clock(time_text))
        if day is _BAD or clock is _BAD or day is None:
            return slow(text)  # its error (or its reading of an odd form)
        try:
            moment = datetime.combine(day, clock)
            return moment - zone.utcoffset(moment.replace(tzinfo=zone))
        except (ValueError, OverflowError):
            return slow(text)

    return convert


def _clock(text: str) -> Any:
    """`HH:MM[:SS]` as a time (`_BAD`: no such time or form)."""
    match = _TIME.fullmatch(text)
    if match is None:
        return _BAD
    hours, minutes, seconds = match.groups()
    try:
        return time(int(hours), int(minutes), int(seconds or 0))
    except ValueError:
        return _BAD


def _remember(memo: dict[str, Any], text: str, value: Any) -> Any:
    if len(memo) >= _PARTS_LIMIT:
        memo.clear()
    memo[text] = value
    return value
