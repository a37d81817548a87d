"""Domain errors shared by every service. They know nothing about HTTP.

`kartoteka.api.errors` maps each class to a status and an error code in one table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Self

from kartoteka.messages import message as message_of


@dataclass(frozen=True)
class ItemError:
    """One problem of a write, as a value: which list and item, which field, which code.

    `where` is the list of a batch ("create", "update", "delete", "upsert") or None for
    the request as a whole; `index` the item's position in that list, None for
    single-record calls; `field` an api_name (or a request key such as "upsert.key").
    Text is made at the edge from `code` and `params` (`kartoteka.messages`).
    """

    where: str | None
    index: int | None
    field: str | None
    code: str
    params: Mapping[str, Any] = dataclass_field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        """The reason alone ("required"), in `lang`."""
        return message_of(self.code, self.params, lang)

    def describe(self, lang: str = "en") -> str:
        """The whole sentence: "create[3]: name: required" (no prefix for single calls)."""
        prefix = f"{self.where}[{self.index}]: " if self.where and self.index is not None else ""
        subject = f"{self.field}: " if self.field else ""
        return f"{prefix}{subject}{self.text(lang)}"


def problem(code: str, field: str | None = None, /, **params: Any) -> ItemError:
    """One coded problem of a whole request (no batch list or index): for `errors=[...]`."""
    return ItemError(None, None, field, code, params)


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    A service says what went wrong as a code with parameters (and the field or request
    key it is about): `raise NotFound.of("catalog_not_found", ref=ref)`, or several at
    once with `errors=[ItemError(...)]`. The edges turn codes into text in the reader's
    language (`text(lang)`, `kartoteka.messages`). `message` is the English text, for
    logs and for code that only speaks English. A message passed as text (a webhook
    receiver's own words) is shown as given in every language.
    """

    code = "ERROR"
    #: The message names the item and field ("create[3]: name: required"); a veto's
    #: message is the reason alone.
    names_item = True

    def __init__(
        self, message: str | None = None, *, errors: Sequence[ItemError] = (), **extra: Any
    ) -> None:
        self.errors = tuple(errors)
        self.given = message
        if message is None:
            message = self._describe("en") if self.errors else self.code
        super().__init__(message)
        self.message = message
        self.extra = extra

    @classmethod
    def of(cls, code: str, field: str | None = None, /, **params: Any) -> Self:
        """One coded error: `code` from `kartoteka.messages`, about `field` (or the
        request as a whole when None), with the template's parameters."""
        return cls(errors=[ItemError(None, None, field, code, params)])

    @property
    def first(self) -> ItemError | None:
        """The first typed error, if any."""
        return self.errors[0] if self.errors else None

    def text(self, lang: str = "en") -> str:
        """The whole message in `lang`: the first error described ("name: required")."""
        if self.given is not None or not self.errors:
            return self.message
        return self._describe(lang)

    def _describe(self, lang: str) -> str:
        first = self.errors[0]
        return first.describe(lang) if self.names_item else first.text(lang)


class NotFound(DomainError):
    """A workspace, catalog, record, field, view, user or file does not exist (for this actor)."""

    code = "NOT_FOUND"


class ValidationFailed(DomainError):
    """Input is invalid; `fields` says which field and why. Nothing was written."""

    code = "VALIDATION"

    def __init__(
        self,
        message: str | None = None,
        fields: dict[str, str] | None = None,
        *,
        errors: Sequence[ItemError] = (),
        **extra: Any,
    ) -> None:
        super().__init__(message, errors=errors, **extra)
        self.given_fields = fields
        self.fields = fields if fields is not None else self.fields_in("en")

    def fields_in(self, lang: str = "en") -> dict[str, str]:
        """{field or request key: the reason} in `lang` (the first reason per key)."""
        if self.given_fields is not None:
            return self.given_fields
        fields: dict[str, str] = {}
        for e in self.errors:
            fields.setdefault(e.field or e.where or "request", e.text(lang))
        return fields


class BadRequest(DomainError):
    """A malformed request that is not about one field (bad filter JSON, bad cursor)."""

    code = "BAD_REQUEST"


class Conflict(DomainError):
    """The request conflicts with existing state (duplicate api_name, workspace exists)."""

    code = "CONFLICT"


class Duplicate(Conflict):
    """A create or update would duplicate existing records under a duplicate rule;
    `duplicates` lists, per item, the matching records the actor may see."""

    code = "DUPLICATE"

    def __init__(self, *, errors: Sequence[ItemError], duplicates: list[dict[str, Any]]) -> None:
        super().__init__(errors=errors, duplicates=duplicates)


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

    def __init__(
        self,
        message: str | None = None,
        retry_after: int = 1,
        *,
        errors: Sequence[ItemError] = (),
        **extra: Any,
    ) -> None:
        super().__init__(message, errors=errors, **extra)
        self.retry_after = max(1, int(retry_after))


class PreconditionFailed(DomainError):
    """`If-Match` (or an item's `version`) names an older version; `current` is the record."""

    code = "PRECONDITION_FAILED"

    def __init__(self, current: dict[str, Any], *, errors: Sequence[ItemError] = ()) -> None:
        super().__init__(errors=errors)
        self.current = current


class Rejected(DomainError):
    """A request webhook vetoed the write; the message is the receiver's."""

    code = "REJECTED"
    names_item = False


class TooLarge(DomainError):
    """The body, file or batch exceeds a limit."""

    code = "TOO_LARGE"


class RecordNotFound(NotFound):
    """No such record (or the actor may not see it)."""


class RecordInvalid(ValidationFailed):
    """One or more values are invalid; `fields` maps api_name to the reason."""
