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
import time
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


def _only_our_json_handler(logger: logging.Logger, level: int) -> _OurHandler | None:
    """Our JSON handler when it is all `logger`'s records at `level` reach, unfiltered."""
    if logger.filters:
        return None
    node: logging.Logger | None = logger
    while node is not None and node.parent is not None:  # up to, not including, the root
        if node.handlers or not node.propagate:
            return None
        node = node.parent
    handlers = logging.getLogger().handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if not isinstance(handler, _OurHandler) or handler.filters or handler.level > level:
        return None
    return handler if type(handler.formatter) is JSONFormatter else None


def write_access_line(logger: logging.Logger, level: int, fields: dict[str, Any]) -> None:
    """Log one access line (`message` "request" with `fields`) through `logger`.

    When the line would only reach the JSON handler `configure` installed, it is written
    directly, the same line `JSONFormatter` makes, without a LogRecord: making the record
    and passing it through the handler chain cost ~30 us of a ~600 us request. Any other
    setup (a handler or filter added, text format, caplog in tests) gets a real record.
    """
    handler = _only_our_json_handler(logger, level)
    if handler is None:
        # makeRecord + handle: `log.log` would also walk the stack for the caller's file
        # and line, a third of the line's cost, and the line never shows them.
        logger.handle(
            logger.makeRecord(logger.name, level, "", 0, "request", (), None, extra=fields)
        )
        return
    line: dict[str, Any] = {
        "time": _timestamp(time.time()),
        "level": logging.getLevelName(level).lower(),
        "logger": logger.name,
        "message": "request",
        **fields,
    }
    rid = request_id()
    if rid is not None:
        line["request_id"] = rid
    try:
        sys.stderr.write(orjson.dumps(line, default=str).decode() + "\n")
    except Exception:  # as logging does: a broken stream never fails the request
        handler.handleError(logger.makeRecord(logger.name, level, "", 0, "request", (), None))


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
