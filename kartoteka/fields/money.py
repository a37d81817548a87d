"""`money`: an exact amount, stored as integer minor units, read as a string."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .base import ExportType, FieldType, FieldValueError, LinkRef, nullable
from .number import clean_decimals, parse_number

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


#: Minor units are stored in a BIGINT column.
MAX_MINOR_UNITS = 2**63


class MoneyType(FieldType):
    """An amount of money; exact (integer minor units), read back as `"1234.50"`."""

    type = "money"
    editor = "money"
    cell = "number"
    inline_edit = True
    value_kind = "number"
    labels = {"en": "Money", "ru": "Деньги"}
    option_docs = {
        "currency": "ISO 4217 code, e.g. RUB (default RUB)",
        "decimals": "minor unit digits (default 2)",
    }

    def ui_options(self, field: Field) -> dict[str, Any]:
        return {
            "decimals": field.options.get("decimals"),
            "currency": field.options.get("currency"),
        }

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        scale = self._scale(field)
        return nullable(
            {
                "type": "string",
                "pattern": rf"^-?\d+\.\d{{{scale}}}$" if scale else r"^-?\d+$",
                "description": f"an exact amount with {scale} decimals, as a string",
            }
        )

    def write_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": ["string", "number"], "description": "an exact amount"})

    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return sa.BigInteger()

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        currency = options.get("currency", "RUB")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise FieldValueError("currency must be a 3-letter ISO 4217 code", "currency")
        options["currency"] = currency.upper()
        options["decimals"] = clean_decimals(options, default=2)
        return options

    def export_type(self, field: Field) -> ExportType:
        return ExportType("decimal", self._scale(field))

    def typed_value(self, value: Any, field: Field) -> Any:
        return Decimal(value)

    def _scale(self, field: Field) -> int:
        return int(field.options.get("decimals", 2))

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        amount = parse_number(value)
        if amount is None:
            return None
        scale = self._scale(field)
        minor = amount.scaleb(scale)
        if minor != minor.to_integral_value():
            raise FieldValueError(
                f"at most {scale} digits after the point", "max_decimals", max=scale
            )
        if abs(minor) >= MAX_MINOR_UNITS:
            # With many decimals even an amount below the number limit overflows BIGINT.
            raise FieldValueError(
                f"amount out of range for {scale} decimals", "amount_range", scale=scale
            )
        return int(minor)

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        if raw is None:
            return None
        scale = self._scale(field)
        return f"{Decimal(int(raw)).scaleb(-scale):.{scale}f}"

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        scale = self._scale(field)
        if scale == 0:
            return lambda raw: None if raw is None else str(int(raw))
        unit = 10**scale

        def render(raw: Any) -> str | None:
            # `from_db` by integer arithmetic: the same text at a fraction of the cost of
            # Decimal's scaleb and format, per value of a page.
            if raw is None:
                return None
            minor = int(raw)
            if minor < 0:
                whole, part = divmod(-minor, unit)
                return f"-{whole}.{str(part).zfill(scale)}"
            whole, part = divmod(minor, unit)
            return f"{whole}.{str(part).zfill(scale)}"

        return render
