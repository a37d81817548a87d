"""Date expressions that differ between dialects (kept here, beside the other SQL)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def month_day(column: Any, dialect: str) -> Any:
    """`MM-DD` of a date column (yearly reminders: birthdays, anniversaries)."""
    if dialect == "postgresql":
        return sa.func.to_char(column, "MM-DD")
    return sa.func.strftime("%m-%d", column)
