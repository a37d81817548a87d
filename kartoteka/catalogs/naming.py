"""api_name rules: ASCII slugs derived from names (Cyrillic transliterated)."""

from __future__ import annotations

import re

from slugify import slugify

from kartoteka.errors import ItemError, problem

API_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Names filters and sorts use for system columns, the whole-record full-text search
#: (`{"search": "…"}`) and the filter language's combinators (`{"and": […]}`, `or`,
#: `not`); a field may not take them. A field named `search` made before the name was
#: reserved keeps its key in filters.
RESERVED = frozenset(
    {"id", "created_at", "updated_at", "created_by", "updated_by", "search", "and", "or", "not"}
)


def derive_api_name(name: str, taken: set[str], fallback: str = "field") -> str:
    """A unique ASCII api_name from a human name ("Дата сделки" -> "data_sdelki")."""
    base = slugify(name or "", separator="_", max_length=50) or fallback
    if not base[0].isalpha():
        base = f"{fallback}_{base}"
    candidate, n = base, 2
    while candidate in taken or candidate in RESERVED:
        candidate = f"{base}_{n}"
        n += 1
    return candidate


def check_api_name(api_name: object) -> ItemError | None:
    """Why an api_name is invalid (a coded problem of the `api_name` key), or None."""
    if not isinstance(api_name, str) or not API_NAME.match(api_name):
        return problem("api_name_format", "api_name")
    if api_name in RESERVED:
        return problem("api_name_reserved", "api_name", name=api_name)
    return None
