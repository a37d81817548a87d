"""Log output: one JSON object per line (for collectors) or plain text (for a terminal).

`KARTOTEKA_LOG_FORMAT` chooses: `json`, `text`, or `auto` (text when stderr is a
terminal, JSON otherwise); `none` leaves logging alone. `kartoteka serve` and
`kartoteka worker` use `auto` by default; an app built by another host (tests,
`uvicorn --factory` without the variable) leaves logging as that host set it up.
Every line carries the request id of the request it belongs to; errors carry their traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from .context import request_id

#: The logger of the one line per request (see middleware.py).
ACCESS_LOGGER = "kartoteka.access"
#: Formats `configure` sets up; `none` (and unset) leaves logging as the host set it.
FORMATS = ("json", "text", "auto")
#: Attributes every LogRecord has; anything else was passed with `extra=` and is printed.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def _with_request_id(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        rid = request_id()
        if rid is not None:
            record.request_id = rid
        return record

    make.kartoteka_request_id = True  # type: ignore[attr-defined]
    return make


def stamp_request_ids() -> None:
    """Make every log record remember the request id current when it was made.

    Done when the record is made, not when it is printed: a handler may format it
    later, on another thread. Installing twice is harmless.
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "kartoteka_request_id", False):
        logging.setLogRecordFactory(_with_request_id(factory))


_second: list[Any] = [None, ""]


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the part up to the second is reused within it."""
    whole = int(created)
    if _second[0] != whole:
        _second[:] = [whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((created - whole) * 1000):03d}+00:00"


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, request id, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_extras(record))
        rid = request_id()
        if rid is not None and "request_id" not in line:
            line["request_id"] = rid
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["traceback"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value...` with the traceback below, for people."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as text; extras follow the message as key=value."""
        text = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        if not extras:
            return text
        head, sep, rest = text.partition("\n")
        return f"{head} {extras}{sep}{rest}"


def resolve_format(value: str) -> str:
    """`json` or `text` for a configured format (`auto`: text on a terminal)."""
    if value == "auto":
        return "text" if sys.stderr.isatty() else "json"
    return value


class _OurHandler(logging.Handler):
    """Writes to the current `sys.stderr`; marks the handler this module installed."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record and a newline."""
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def configure(log_format: str, level: str = "INFO") -> None:
    """Send every log record (ours and uvicorn's) to stderr in `log_format`.

    uvicorn's own access log is switched off: the middleware writes the richer line.
    """
    if log_format not in FORMATS:
        return
    chosen = resolve_format(log_format)
    # Neither format prints threads, processes or source lines: do not collect them
    # for every record (the logging documentation's own advice for speed).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = _OurHandler()
    handler.setFormatter(JSONFormatter() if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
