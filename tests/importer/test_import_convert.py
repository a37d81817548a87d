"""A column's one-step converter (`importer.convert.compile_column`) gives exactly what the
general path (options' reading, then the field type's `from_text` and `to_db`) gives:
the same stored value, or the same error, for edge values and for any text."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kartoteka.catalogs.models import Field
from kartoteka.fields.base import FieldValueError
from kartoteka.importer import convert, readers
from kartoteka.importer.options import ImportOptions
from kartoteka.importer.plan import Column


class _Actor:
    """What the converters ask of an actor: the workspace's time zone."""

    timezone = ZoneInfo("Europe/Moscow")


ACTOR: Any = _Actor()

FIELDS = {
    "text": ("text", {}),
    "short_text": ("text", {"max_length": 5}),
    "long_text": ("long_text", {}),
    "money": ("money", {}),
    "money0": ("money", {"decimals": 0}),
    "money4": ("money", {"decimals": 4}),
    "number": ("number", {}),
    "number2": ("number", {"decimals": 2}),
    "date": ("date", {}),
    "datetime": ("datetime", {}),
    "checkbox": ("checkbox", {}),
}
FORMATS = [None, "dd.mm.yyyy", "дд.мм.гг", "%d/%m/%Y", "dd.mm.yyyy чч:мм", "%Y %b %d"]

EDGES = [
    "", " ", "\t", "0", "-0", "00012", "1", "-1", "+1", "1.5", "1,5", "-0,50", "1 234,56",
    "1\u00a0234,56", "1'234.5", "1.234,5", "12,345", "1e3", "NaN", "inf", "٣", "999999999999",
    "1000000000000", "999999999999999", "1" * 20, "0.0000000001", "0,001", "1,999", "1,10",
    "abc", "a\nb", " a  b ", "a\x00b", "123456", "ёлка", "05.03.2019", "31.12.2020",
    "29.02.2021", "29.02.2024", "1.1.2020", "05.03.19", "05.03.2019 10:30", "05.03.2019 10:30:15",
    "05.03.2019 25:00", "00.01.2020", "01.13.2020", "01.01.0000", "01.01.9999 23:59:59",
    "2019-03-05", "2019-03-05T10:30:00Z", "05/03/2019", "2019 Mar 05", " 05.03.2019 ",
    "05.03.2019  10:30", "05.03.2019 10:30 x", "05.03.2019 24:00", "05.03.2019 7:05:09",
    "05.03.2019 10:60", "31.02.2019 10:30", "05.03.2019 10:30:", "٠٥.٠٣.٢٠١٩ ١٠:٣٠",
]  # fmt: skip


def _column(kind: str) -> Column:
    ftype, options = FIELDS[kind]
    field = Field(1, 1, kind, kind, ftype, "f_1", options=dict(options))
    return Column(0, kind, field)


def _outcome(fn: Any, text: str) -> Any:
    try:
        return ("value", fn(text))
    except FieldValueError as exc:
        return ("error", exc.code, exc.params, exc.message)


def _agree(kind: str, date_format: str | None, decimal_comma: bool | None, text: str) -> None:
    opts = ImportOptions(date_format=date_format, decimal_comma=decimal_comma)
    fmt = readers.pattern_format(date_format) if date_format else None
    col = _column(kind)
    fast = convert.compile_column(col, opts, ACTOR, fmt)
    slow = convert.general(col, opts, ACTOR, fmt)
    assert _outcome(fast, text) == _outcome(slow, text), (kind, date_format, text)


@pytest.mark.parametrize("kind", sorted(FIELDS))
@pytest.mark.parametrize("date_format", FORMATS)
@pytest.mark.parametrize("decimal_comma", [None, True, False])
def test_edge_values_convert_as_the_general_path(kind, date_format, decimal_comma):
    for text in EDGES:
        _agree(kind, date_format, decimal_comma, text)


def test_fast_converters_are_used_where_they_apply():
    opts = ImportOptions(date_format="dd.mm.yyyy", decimal_comma=True)
    fmt = readers.pattern_format("dd.mm.yyyy")
    for kind in ("text", "long_text", "money", "number", "date", "datetime"):
        col = _column(kind)
        assert convert.compile_column(col, opts, ACTOR, fmt).__qualname__.startswith("_"), kind
    # Moscow is UTC+3: a date-time in the file is stored as naive UTC, parsed once.
    made = convert.compile_column(_column("datetime"), opts, ACTOR, fmt)("05.03.2019 10:30")
    assert made.isoformat() == "2019-03-05T07:30:00"
    assert convert.compile_column(_column("money"), opts, ACTOR, fmt)("-1 234,5") == -123450


CELL = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789 ,.-'\u00a0", max_size=24),
    st.builds(
        lambda d, m, y, h, mi: f"{d}.{m}.{y} {h}:{mi}",
        st.integers(0, 40), st.integers(0, 14), st.integers(0, 10_000),
        st.integers(0, 30), st.integers(0, 70),
    ),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(FIELDS)),
    date_format=st.sampled_from(FORMATS),
    decimal_comma=st.sampled_from([None, True, False]),
    text=CELL,
)
def test_any_text_converts_as_the_general_path(kind, date_format, decimal_comma, text):
    _agree(kind, date_format, decimal_comma, text)


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "UTC"])
def test_date_times_around_clock_changes_convert_as_the_general_path(zone, monkeypatch):
    """The one-step date-time takes the zone's offset at the local time itself (no
    round trip through an aware time): the same UTC moments as the general path in
    the hour skipped and the hour repeated by a clock change, and at the ends of time."""
    monkeypatch.setattr(_Actor, "timezone", ZoneInfo(zone))
    texts = [
        "13.03.2022 01:59", "13.03.2022 02:30", "13.03.2022 03:00", "06.11.2022 00:59",
        "06.11.2022 01:30", "06.11.2022 02:00", "03.04.2022 01:45", "02.10.2022 02:15",
        "01.01.0001 00:00", "31.12.9999 23:59:59", "01.07.2022 12:00",
    ]  # fmt: skip
    for text in texts:
        _agree("datetime", "dd.mm.yyyy", None, text)
