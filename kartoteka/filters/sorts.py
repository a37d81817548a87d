"""Sort keys (`-deadline,name`) resolved against a catalog's fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kartoteka.context import Actor

from .compiler import Rights, invalid, resolve_field

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Catalog, Field


@dataclass
class SortKey:
    """One sort column."""

    field: Field
    desc: bool


def parse_sort(actor: Actor, catalog: Catalog, spec: Any, rights: Rights | None) -> list[SortKey]:
    """`-deadline,name` (or a list of such names) to sort keys."""
    if spec in (None, "", []):
        return []
    items = spec.split(",") if isinstance(spec, str) else spec
    if not isinstance(items, list) or len(items) > 10:
        raise invalid("sort", "sort_too_long", max=10)
    keys = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise invalid("sort", "sort_empty_key")
        item = item.strip()
        desc = item.startswith("-")
        name = item.lstrip("+-")
        field = resolve_field(actor, catalog, name, "sort", rights)
        if not field.ftype.sortable:
            raise invalid("sort", "sort_unsortable", type=field.type, name=name)
        if name != "id":
            keys.append(SortKey(field, desc))
    return keys
