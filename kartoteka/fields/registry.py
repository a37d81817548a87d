"""The registry of field types. Built-ins are registered the way a plugin would be:
listed in `kartoteka.plugins.DEFAULT_PLUGINS` and put here by `plugins.install()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import FieldType


_TYPES: dict[str, FieldType] = {}


def register(field_type: type[FieldType]) -> type[FieldType]:
    """Make a field type available under its `type` name (registering twice is harmless)."""
    if type(_TYPES.get(field_type.type)) is not field_type:
        _TYPES[field_type.type] = field_type()
    return field_type


def get_type(name: str) -> FieldType:
    """The field type registered as `name` (KeyError if unknown)."""
    return _TYPES[name]


def all_types() -> dict[str, FieldType]:
    """Every registered field type by name, in registration order."""
    return dict(_TYPES)
