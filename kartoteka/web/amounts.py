"""Numbers and amounts as people type them in the card, in their language.

A Russian user writes `1 234,56` (spaces between thousands, a decimal comma), an English
one `1,234.56`; both also write a bare `1234.56`. The records service takes a plain
`1234.56`, so the card reads what was typed here and shows stored values back the way
the user would type them.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from kartoteka.fields.base import FieldValueError

#: Spaces of every width sit between thousands (babel's Russian uses a no-break space).
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009")
#: A hyphen or the typographic minus (what a copy from a formatted document brings).
_MINUS = ("-", "\u2212")
#: Longer than any amount the field types store; past it, the text is not an amount.
MAX_LENGTH = 40
_DIGITS = re.compile("[0-9]*")


def amount_from_input(text: str, language: str, *, decimals: int | None = None) -> Decimal | None:
    """The number typed in `language`'s way ('1 234,56', '1,234.56', '-1234.5'); None when
    empty. Raises FieldValueError ("amount_not_number"; "amount_decimals" when it has more
    than `decimals` digits after the separator)."""
    compact = text.strip().translate(_SPACES)
    if not compact:
        return None
    sign = "-" if compact[0] in _MINUS else ""
    body = compact[1:] if sign or compact[0] == "+" else compact
    if len(body) > MAX_LENGTH:
        raise _not_a_number()
    whole, fraction = _split(body, language)
    if decimals is not None and len(fraction.rstrip("0")) > decimals:
        raise FieldValueError(
            f"at most {decimals} digits after the point", "amount_decimals", max=decimals
        )
    try:
        return Decimal(f"{sign}{whole or '0'}" + (f".{fraction}" if fraction else ""))
    except InvalidOperation:
        raise _not_a_number() from None


def _split(body: str, language: str) -> tuple[str, str]:
    """(whole digits without their grouping, digits after the separator)."""
    point = _decimal_mark(body, language)
    whole, _sep, fraction = body.rpartition(point) if point else (body, "", "")
    # The other mark groups thousands, and must do it properly: "1,23.4" is no amount.
    group = {",": ".", ".": ","}[point] if point else ("," if "," in body else ".")
    if group in whole:
        if not re.fullmatch(rf"[0-9]{{1,3}}(?:{re.escape(group)}[0-9]{{3}})+", whole):
            raise _not_a_number()
        whole = whole.replace(group, "")
    if not (whole or fraction) or not _DIGITS.fullmatch(whole) or not _DIGITS.fullmatch(fraction):
        raise _not_a_number()
    return whole, fraction


def _decimal_mark(body: str, language: str) -> str | None:
    """Which of ',' and '.' separates the fraction in `body`, or None (a whole number).

    With both, the later one does ('1.234,56' and '1,234.56' mean the same everywhere).
    With one, the language's decimal symbol is one; its group symbol is not (English
    '1,234' is a thousand and more); a point typed in Russian is, once, a decimal point,
    as on a keypad.
    """
    commas, points = body.count(","), body.count(".")
    if commas and points:
        return "," if body.rfind(",") > body.rfind(".") else "."
    if not (commas or points):
        return None
    mark = "," if commas else "."
    if mark == get_decimal_symbol(language):
        return mark
    if mark == get_group_symbol(language) or body.count(mark) > 1:
        return None
    return mark


def _not_a_number() -> FieldValueError:
    return FieldValueError("not a number", "amount_not_number")


def amount_for_input(value: Any, language: str, *, decimals: int, grouped: bool = True) -> str:
    """A stored number as the user would type it ('1 234,50' in Russian, '1,234.50' in
    English); '' for none, the value as it is when it is no number."""
    if value is None or value == "":
        return ""
    number = finite_decimal(value)
    if number is None:
        return str(value)
    return format_decimal(number, format=decimal_pattern(decimals, grouped), locale=language)


def finite_decimal(value: Any) -> Decimal | None:
    """`value` as a finite Decimal (None: no number, or an infinity or NaN)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def decimal_pattern(decimals: int, grouped: bool) -> str:
    """The Babel pattern of a number with `decimals` digits, thousands grouped or not."""
    return ("#,##0" if grouped else "0") + ("." + "0" * decimals if decimals else "")
