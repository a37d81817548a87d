"""Numbers and amounts typed into the card in the user's language (web/amounts.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kartoteka.fields.base import FieldValueError
from kartoteka.web.amounts import amount_for_input, amount_from_input


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),  # what the card itself shows: a no-break space
        ("1\u202f234\u00a0567,5", "1234567.5"),
        ("1234,56", "1234.56"),
        ("1234.56", "1234.56"),  # a keypad's point is a decimal point too
        ("1.234.567", "1234567"),
        ("-1 234,5", "-1234.5"),
        ("\u22121 234,5", "-1234.5"),  # the typographic minus of a copied document
        (",5", "0.5"),
        ("  42  ", "42"),
        ("1,234", "1.234"),  # a Russian comma is the decimal one
    ],
)
def test_russian_amounts(text, expected):
    assert amount_from_input(text, "ru") == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1,234", "1234"),  # an English comma groups thousands
        ("1,234,567.5", "1234567.5"),
        ("1 234.56", "1234.56"),
        ("-1,234.56", "-1234.56"),
        ("+7", "7"),
        ("1.234,56", "1234.56"),  # both marks: the later one is the decimal one
    ],
)
def test_english_amounts(text, expected):
    assert amount_from_input(text, "en") == Decimal(expected)


@pytest.mark.parametrize("text", ["", "   ", "\u00a0"])
def test_nothing_typed_is_no_amount(text):
    assert amount_from_input(text, "ru") is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("abc", "ru"),
        ("12abc", "en"),
        ("1,5", "en"),  # not a grouping of thousands, and a comma is no English decimal
        ("1,23.4", "en"),
        ("1.2.3", "en"),
        ("1,2,3", "ru"),
        ("--1", "ru"),
        ("1-", "ru"),
        ("1e5", "en"),
        ("NaN", "en"),
        ("Infinity", "ru"),
        (".", "en"),
        ("١٢", "en"),  # digits of another script
        ("1" * 41, "en"),
    ],
)
def test_garbage_is_not_a_number(text, lang):
    with pytest.raises(FieldValueError) as refused:
        amount_from_input(text, lang)
    assert refused.value.code == "amount_not_number"


def test_more_decimals_than_the_field_keeps_are_refused():
    with pytest.raises(FieldValueError) as refused:
        amount_from_input("1 234,567", "ru", decimals=2)
    assert (refused.value.code, refused.value.params) == ("amount_decimals", {"max": 2})
    with pytest.raises(FieldValueError):
        amount_from_input("0.5", "en", decimals=0)
    # Zeros past the field's digits change nothing.
    assert amount_from_input("1,234.500", "en", decimals=2) == Decimal("1234.5")
    assert amount_from_input("1 234,567", "ru") == Decimal("1234.567")  # no limit given


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
