"""The id of the request being served, for log lines and outgoing webhook calls.

A context variable: FastAPI's threadpool copies the context into the thread that runs a
sync endpoint, so services see the id of the request they work for without being told.
Code that hands work to its own thread pool passes `contextvars.copy_context().run`.
"""

from __future__ import annotations

import contextvars
import os
import re

HEADER = "X-Request-ID"
#: Ids a client may choose: short, and safe to copy into logs and outgoing headers.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kartoteka_request_id", default=None
)


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    """Make `value` the current request's id; returns the token to restore the previous one."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    """Restore the id that was current before `set_request_id`."""
    _request_id.reset(token)


def accepted_or_new(sent: str | None) -> str:
    """The client's `X-Request-ID` when it is a sane token, else a new random id."""
    if sent and _ACCEPTED.match(sent):
        return sent
    return os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID
