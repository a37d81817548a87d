"""Field types: one module per type, registered in `registry`."""

from .registry import all_types, get_type

__all__ = ["all_types", "get_type"]
