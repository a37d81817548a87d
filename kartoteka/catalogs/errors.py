"""Errors of the catalogs service."""

from kartoteka.errors import Conflict, NotFound, ValidationFailed


class CatalogNotFound(NotFound):
    """No such catalog in this workspace."""


class FieldNotFound(NotFound):
    """No such field in this catalog."""


class DuplicateName(Conflict):
    """An api_name is already taken."""


class BadFieldSpec(ValidationFailed):
    """A field definition is invalid."""
