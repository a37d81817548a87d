"""Errors of the catalogs service."""

from kartoteka.errors import Conflict, NotFound, ValidationFailed, problem
from kartoteka.fields.base import FieldValueError


class CatalogNotFound(NotFound):
    """No such catalog in this workspace."""


class FieldNotFound(NotFound):
    """No such field in this catalog."""


class DuplicateName(Conflict):
    """An api_name is already taken."""


class BadFieldSpec(ValidationFailed):
    """A field definition is invalid."""


def options_error(exc: FieldValueError, key: str = "options") -> BadFieldSpec:
    """A field type's refusal of its options, as a coded error about `key`."""
    return BadFieldSpec(errors=[problem(exc.code, key, **exc.params)])
