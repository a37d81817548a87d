"""How a value becomes part of a duplicate key: phone, e-mail, name, digits or exact.

Values come either as stored (a database row) or as the history form of a write
(`records.batches.history_value`); `canonical` gives both the same text, so a key
computed from a pending change equals the key kept for the stored row.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from kartoteka.fields.base import FieldValueError
from kartoteka.fields.phone import normalise_phone

NORMALISERS = ("phone", "email", "name", "digits", "exact")
#: The field types a rule may name (single stored values that compare as text).
FIELD_TYPES = ("text", "long_text", "email", "phone", "url", "number", "date", "autonumber")
#: Keys longer than this are stored as their SHA-256 (the index stays small).
MAX_KEY = 190
SEPARATOR = "\x1f"


def default_normaliser(field_type: str) -> str:
    """What a rule does with a field's values when it does not say."""
    return {"phone": "phone", "email": "email", "text": "name", "long_text": "name"}.get(
        field_type, "exact"
    )


def canonical(value: Any) -> str | None:
    """A value as text, the same whether it comes from a row or from a change (None: empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value)).normalize()
        except InvalidOperation:
            return str(value)
        return format(number, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def normalise(how: str, value: Any, region: str = "RU") -> str | None:
    """One value normalised for a key; None when it is empty after normalising."""
    text = canonical(value)
    if text is None:
        return None
    if how == "phone":
        try:
            return normalise_phone(text, region)
        except FieldValueError:  # not a valid number: its digits still compare
            digits = "".join(c for c in text if c.isdigit())
            return f"+{digits}" if digits else None
    if how == "email":
        return text.lower()
    if how == "name":
        folded = " ".join(text.lower().replace("ё", "е").split())
        return folded or None
    if how == "digits":
        digits = "".join(c for c in text if c.isdigit())
        return digits or None
    return text


def key_of(parts: list[str | None]) -> str | None:
    """The stored key of normalised parts; None when any part is empty (no key, no check)."""
    if not parts or any(p is None for p in parts):
        return None
    key = SEPARATOR.join(p for p in parts if p is not None)
    if len(key) > MAX_KEY:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def valid_region(region: Any) -> str:
    """A phone field's region option, or RU."""
    if isinstance(region, str) and region.upper() in phonenumbers.SUPPORTED_REGIONS:
        return region.upper()
    return "RU"
