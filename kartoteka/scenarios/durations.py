"""ISO 8601 durations (`PT10M`, `P7D`, `-P3D`) and times of day (`09:30`)."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

from kartoteka.messages import message as message_of

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
MAX_DAYS = 3660


class BadDuration(ValueError):
    """Why a duration or time of day is invalid: a code (`messages/scenarios.py`) with
    parameters; `str()` is the English text."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(message_of(code, params))
        self.code = code
        self.params = params


def parse_duration(text: object) -> timedelta:
    """A signed duration; BadDuration (a ValueError) says what is wrong (no months, years)."""
    if not isinstance(text, str):
        raise BadDuration("duration_type")
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper().rstrip("T").endswith("P") or text.upper().endswith("T"):
        raise BadDuration("duration_invalid", text=text)
    delta = timedelta(
        weeks=int(m["w"] or 0),
        days=int(m["d"] or 0),
        hours=int(m["h"] or 0),
        minutes=int(m["m"] or 0),
        seconds=float(m["s"] or 0),
    )
    if delta.days > MAX_DAYS:
        raise BadDuration("duration_max_days", max=MAX_DAYS)
    return -delta if m["sign"] else delta


def parse_time_of_day(text: object) -> time:
    """`HH:MM` (24-hour)."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
        raise BadDuration("time_of_day")
    hours, minutes = (int(x) for x in text.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise BadDuration("time_of_day")
    return time(hours, minutes)
