"""Errors of the records service."""

from kartoteka.errors import NotFound, ValidationFailed


class RecordNotFound(NotFound):
    """No such record (or the actor may not see it)."""


class RecordInvalid(ValidationFailed):
    """One or more values are invalid; `fields` maps api_name to the reason."""
