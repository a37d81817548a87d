"""ISO 8601 durations (`PT10M`, `P7D`, `-P3D`) and times of day (`09:30`)."""

from __future__ import annotations

import re
from datetime import time, timedelta

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
MAX_DAYS = 3660


def parse_duration(text: object) -> timedelta:
    """A signed duration; ValueError names what is wrong (months and years are ambiguous)."""
    if not isinstance(text, str):
        raise ValueError("must be an ISO 8601 duration such as PT10M or P7D")
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper().rstrip("T").endswith("P") or text.upper().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT10M or P7D")
    delta = timedelta(
        weeks=int(m["w"] or 0),
        days=int(m["d"] or 0),
        hours=int(m["h"] or 0),
        minutes=int(m["m"] or 0),
        seconds=float(m["s"] or 0),
    )
    if delta.days > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days")
    return -delta if m["sign"] else delta


def parse_time_of_day(text: object) -> time:
    """`HH:MM` (24-hour)."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
        raise ValueError("must be a time of day such as 09:00")
    hours, minutes = (int(x) for x in text.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError("must be a time of day such as 09:00")
    return time(hours, minutes)
