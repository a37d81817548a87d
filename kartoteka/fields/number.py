"""`number`: an integer or a decimal number (`decimals` option)."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .base import ExportType, FieldType, FieldValueError, LinkRef, nullable

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


MAX_ABS = 10**15
INTEGER_EXPORT = ExportType("integer")
FLOAT_EXPORT = ExportType("float")


def parse_number(value: Any) -> Decimal | None:
    """A Decimal from a JSON number or a numeric string ('1 234,5' allowed)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldValueError("expected a number", "number")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise FieldValueError("expected a finite number", "finite_number")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if not text:
            return None
        if len(text) > 40:
            raise FieldValueError("number is too long", "number_too_long")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise FieldValueError("expected a number", "number") from None
        if not result.is_finite():
            raise FieldValueError("expected a finite number", "finite_number")
    else:
        raise FieldValueError("expected a number", "number")
    if abs(result) >= MAX_ABS:
        raise FieldValueError(f"number out of range (|x| < {MAX_ABS})", "number_range", max=MAX_ABS)
    return result


def clean_decimals(options: dict[str, Any], key: str = "decimals", default: int = 0) -> int:
    """Validate a `decimals` option (0..10)."""
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise FieldValueError(
            f"{key} must be an integer from 0 to 10", "decimals_option", key=key, max=10
        )
    return value


#: How a number field's values show (the value itself never changes).
NUMBER_FORMATS = ("grouped", "plain", "percent")


class NumberType(FieldType):
    """A number; `decimals: 0` (default) stores integers, more stores a float rounded on write."""

    type = "number"
    editor = "number"
    cell = "number"
    inline_edit = True
    names_records = True
    value_kind = "number"
    labels = {"en": "Number", "ru": "Число"}
    option_docs = {
        "decimals": "digits after the point; 0 = integer (default)",
        "format": "how values show: grouped (thousands apart, default), plain (no grouping: "
        "years, codes) or percent (the number followed by %)",
    }

    def ui_options(self, field: Field) -> dict[str, Any]:
        return {
            "decimals": field.options.get("decimals"),
            "currency": field.options.get("currency"),
            "format": field.options.get("format") or "grouped",
        }

    def export_type(self, field: Field) -> ExportType:
        return INTEGER_EXPORT if not field.options.get("decimals") else FLOAT_EXPORT

    def typed_value(self, value: Any, field: Field) -> Any:
        return int(value) if not field.options.get("decimals") else float(value)

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        decimals = int(field.options.get("decimals") or 0)
        return nullable({"type": "integer" if decimals == 0 else "number"})

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.BigInteger() if not options.get("decimals") else sa.Float()

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        options["decimals"] = clean_decimals(options)
        shown = options.get("format")
        if shown is None:
            options.pop("format", None)
        elif shown not in NUMBER_FORMATS:
            raise FieldValueError(
                "format must be one of: grouped, plain, percent",
                "option_one_of",
                option="format",
                allowed=", ".join(NUMBER_FORMATS),
            )
        return options

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        number = parse_number(value)
        if number is None:
            return None
        decimals = int(field.options.get("decimals") or 0)
        if decimals == 0:
            if number != number.to_integral_value():
                raise FieldValueError("expected a whole number", "whole_number")
            return int(number)
        return float(round(number, decimals))

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        # `lt 1.5` is a fair question to ask of an integer field, so no whole-number check.
        number = parse_number(value)
        if number is None:
            return None
        return int(number) if number == number.to_integral_value() else float(number)

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        if raw is None:
            return None
        decimals = int(field.options.get("decimals") or 0)
        if decimals == 0:
            return int(raw)
        return round(float(raw), decimals)

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        decimals = int(field.options.get("decimals") or 0)
        if decimals == 0:
            return lambda raw: None if raw is None else int(raw)
        return lambda raw: None if raw is None else round(float(raw), decimals)
