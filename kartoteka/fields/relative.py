"""Relative dates in filters: "today", "-7d", "+2w", "+1m", "-1y" (workspace time zone)."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

_RELATIVE = re.compile(r"^([+-]?)(\d{1,5})([dwmy])$")


def add_months(day: date, months: int) -> date:
    """Shift by calendar months, clamping the day (31 Jan + 1m = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        # english-ok: caught by the date types, which raise their own coded error
        raise ValueError("date out of range")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def parse_relative(text: str, today: date) -> date | None:
    """The date a relative expression means, or None if `text` is not relative."""
    text = text.strip().lower()
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    if text == "tomorrow":
        return today + timedelta(days=1)
    m = _RELATIVE.match(text)
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    n = int(m.group(2)) * sign
    unit = m.group(3)
    try:
        if unit == "d":
            return today + timedelta(days=n)
        if unit == "w":
            return today + timedelta(weeks=n)
        if unit == "m":
            return add_months(today, n)
        return add_months(today, 12 * n)
    except (OverflowError, ValueError):
        # english-ok: caught by the date types, which raise their own coded error
        raise ValueError("relative date out of range") from None
