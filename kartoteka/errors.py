"""Domain errors shared by every service. They know nothing about HTTP.

`kartoteka.api.errors` maps each class to a status and an error code in one table.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "ERROR"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(DomainError):
    """A workspace, catalog, record, field, view, user or file does not exist (for this actor)."""

    code = "NOT_FOUND"


class ValidationFailed(DomainError):
    """Input is invalid; `fields` says which field and why. Nothing was written."""

    code = "VALIDATION"

    def __init__(self, message: str, fields: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.fields = fields or {}


class BadRequest(DomainError):
    """A malformed request that is not about one field (bad filter JSON, bad cursor)."""

    code = "BAD_REQUEST"


class Conflict(DomainError):
    """The request conflicts with existing state (duplicate api_name, workspace exists)."""

    code = "CONFLICT"


class Unauthenticated(DomainError):
    """No or wrong credentials."""

    code = "UNAUTHENTICATED"


class TotpRequired(Unauthenticated):
    """The password was right, but the account also needs its two-factor code."""

    code = "TOTP_REQUIRED"


class Forbidden(DomainError):
    """The actor is known but not allowed to do this."""

    code = "FORBIDDEN"


class RateLimited(DomainError):
    """Too many requests or login failures; `retry_after` seconds to wait."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.retry_after = max(1, int(retry_after))


class Rejected(DomainError):
    """A request webhook vetoed the write; the message is the receiver's."""

    code = "REJECTED"


class TooLarge(DomainError):
    """The body, file or batch exceeds a limit."""

    code = "TOO_LARGE"


class RecordNotFound(NotFound):
    """No such record (or the actor may not see it)."""


class RecordInvalid(ValidationFailed):
    """One or more values are invalid; `fields` maps api_name to the reason."""
