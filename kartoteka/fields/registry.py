"""The registry of field types. Built-ins register the same way a plugin would."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import FieldType

_TYPES: dict[str, FieldType] = {}

BUILTIN_MODULES = (
    "text",
    "long_text",
    "number",
    "money",
    "date",
    "datetime",
    "checkbox",
    "select",
    "user",
    "email",
    "phone",
    "url",
    "link",
    "file",
    "autonumber",
    "system",
)


def register(field_type: type[FieldType]) -> type[FieldType]:
    """Class decorator: make a field type available under its `type` name."""
    _TYPES[field_type.type] = field_type()
    return field_type


_builtins_loaded = False


def _load_builtins() -> None:
    # A flag, not `if not _TYPES`: importing one type module directly (records imports
    # fields.datetime) registers that type and must not stop the others from loading.
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(f"kartoteka.fields.{module}")


def get_type(name: str) -> FieldType:
    """The field type registered as `name` (KeyError if unknown)."""
    _load_builtins()
    return _TYPES[name]


def all_types() -> dict[str, FieldType]:
    """Every registered field type by name."""
    _load_builtins()
    return dict(_TYPES)
