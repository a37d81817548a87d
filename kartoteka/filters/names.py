"""The field names a filter or a sort mentions, without compiling it.

Views check who may read a filter by its names; the catalog designer counts the views
a field deletion touches by them. Both read the same spec shapes as the compiler.
"""

from __future__ import annotations

from typing import Any

BOOLEAN_KEYS = ("and", "or", "not")


def filter_fields(spec: Any) -> set[str]:
    """Every field name (`a` or `link.b`) a filter mentions."""
    out: set[str] = set()
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in BOOLEAN_KEYS:
                    stack.append(value)
                else:
                    out.add(str(key))
    return out


def sort_fields(spec: Any) -> set[str]:
    """Every field name a sort mentions (`"a,-b"` or a list)."""
    items = spec.split(",") if isinstance(spec, str) else spec if isinstance(spec, list) else []
    return {str(i).strip().lstrip("-+") for i in items if str(i).strip()}
