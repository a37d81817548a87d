"""Stored values as JSON and back: dates, date-times, decimals and JSON objects are
tagged (`{"$dt": ...}`, `{"$d": ...}`, `{"$n": ...}`, `{"$j": ...}`) so they return as
the same Python values. Keyset cursors and the rows kept by deletion events use it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def dump(value: Any) -> Any:
    """A JSON-safe form of a stored value."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    if isinstance(value, dict):
        return {"$j": value}
    return value


def load(value: Any) -> Any:
    """Inverse of `dump`."""
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$n" in value:
            return Decimal(value["$n"])
        if "$j" in value:
            return value["$j"]
    return value
