"""`phone`: a telephone number, normalised to E.164 where possible."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import phonenumbers

from .base import TEXT_OPS, FieldType, FieldValueError, LinkRef, nullable
from .text import clean_string

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


def normalise_phone(text: str, region: str) -> str:
    """E.164 when the number parses as valid; otherwise refuse it."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise FieldValueError("not a valid phone number", "phone") from None
    if not phonenumbers.is_possible_number(number):
        raise FieldValueError("not a valid phone number", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: A stored Russian number, in the groups it is written in.
_RU_NUMBER = re.compile(r"\+7(\d{3})(\d{3})(\d{2})(\d{2})")


class PhoneType(FieldType):
    """A phone number; `region` option (default RU) is used for numbers without +."""

    type = "phone"
    editor = "phone"
    cell = "text"
    inline_edit = True
    names_records = True
    preferred_title = True
    labels = {"en": "Phone", "ru": "Телефон"}
    operators = TEXT_OPS
    searchable = True
    option_docs = {"region": "ISO country code for numbers written without + (default RU)"}

    def shown_text(self, text: str) -> str:
        """A Russian number as people write it (+7 912 000-00-00, as ui.js `formatPhone`);
        any other as stored (E.164)."""
        found = _RU_NUMBER.fullmatch(text)
        return f"+7 {found[1]} {found[2]}-{found[3]}-{found[4]}" if found else text

    def mask(self, text: str) -> str:
        """`+7 *** ***-**-67`: the country code and the last two digits stay."""
        if not text.startswith("+"):
            return super().mask(text)
        try:
            code = str(phonenumbers.parse(text).country_code)
        except phonenumbers.NumberParseException:
            code = text[1:2]
        return f"+{code} *** ***-**-{text[-2:]}"

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return nullable({"type": "string", "description": "E.164, e.g. +74951234567"})

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        region = options.get("region")
        if region is not None and (
            not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS
        ):
            raise FieldValueError(
                "region must be an ISO country code such as RU or US", "region_option"
            )
        if region:
            options["region"] = region.upper()
        return options

    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        text = clean_string(value, 64)
        if text is None:
            return None
        return normalise_phone(text, field.options.get("region") or "RU")

    def search_text(self, raw: Any, field: Field) -> str:
        # Digits only, also without the country code: "9161234567" finds +7 916 123-45-67.
        digits = "".join(c for c in raw or "" if c.isdigit())
        return f"{digits} {digits[-10:]}" if len(digits) > 10 else digits

    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        text = clean_string(value, 64)
        if text is None:
            return None
        try:
            return normalise_phone(text, field.options.get("region") or "RU")
        except FieldValueError:
            return text
