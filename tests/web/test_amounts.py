"""Numbers and amounts typed into the card in the user's language (web/amounts.py): read
as the table of cases the UI's amounts.js is held to too, and shown back the user's way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from support.amount_cases import CASES, case_id, expected

from kartoteka.fields.base import FieldValueError
from kartoteka.web.amounts import amount_for_input, amount_from_input


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_typed_amounts_read_as_the_shared_table_says(case):
    """Every case of tests/data/amount_cases.json (amounts.js is held to the same table)."""
    assert read(case) == expected(case)


def read(case: dict[str, Any]) -> dict[str, Any]:
    """amount_from_input's answer in the table's terms (the value as a plain decimal)."""
    try:
        number = amount_from_input(case["text"], case["lang"], decimals=case.get("decimals"))
    except FieldValueError as refused:
        return {"refused": refused.code}
    return {"value": None if number is None else format(number, "f")}


def test_a_refusal_for_decimals_names_the_most_the_field_keeps():
    with pytest.raises(FieldValueError) as refused:
        amount_from_input("1 234,567", "ru", decimals=2)
    assert (refused.value.code, refused.value.params) == ("amount_decimals", {"max": 2})


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "grouped", "shown"),
    [
        ("1234.50", "ru", 2, True, "1\u00a0234,50"),
        ("1234.50", "en", 2, True, "1,234.50"),
        ("-1234.5", "en", 2, True, "-1,234.50"),
        (2026, "ru", 0, False, "2026"),
        (1.5, "ru", 1, True, "1,5"),
        (None, "ru", 2, True, ""),
        ("n/a", "en", 2, True, "n/a"),
    ],
)
def test_stored_amounts_are_shown_as_the_user_types_them(value, lang, decimals, grouped, shown):
    assert amount_for_input(value, lang, decimals=decimals, grouped=grouped) == shown


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_what_is_shown_reads_back_the_same(lang):
    for value in ("1234567.89", "-0.05", "0.00", "999999999999.99"):
        shown = amount_for_input(value, lang, decimals=2)
        assert amount_from_input(shown, lang, decimals=2) == Decimal(value)
