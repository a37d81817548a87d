"""The one place that decides rights. Every read and write path asks these functions.

This is the seam the rights issue fills in: catalog grants per group, record rules
compiled to SQL, field rules. Until then administrators may do everything and other
signed-in users may read and write records but not change structure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.sql.elements import ColumnElement

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Catalog
    from kartoteka.context import Actor


def can_manage(actor: Actor, catalog: Catalog | None) -> bool:
    """May change catalogs, fields and shared views."""
    return actor.is_admin


def can_see_catalog(actor: Actor, catalog: Catalog) -> bool:
    """May see that the catalog exists and read some of its records."""
    return True


def can_create(actor: Actor, catalog: Catalog) -> bool:
    """May create records in the catalog."""
    return True


def record_filter(
    actor: Actor, catalog: Catalog, action: str = "view", table: Any = None
) -> ColumnElement[bool] | None:
    """SQL condition on the catalog table (or `table`, an alias of it) limiting `action`.

    `action` is view, edit or delete; None means no restriction.
    """
    return None


def field_rules(actor: Actor, catalog: Catalog) -> dict[str, str]:
    """api_name -> "hidden" | "read_only" | "masked" for this actor."""
    return {}


def check_write(actor: Actor, catalog: Catalog, values: dict[str, Any]) -> None:
    """Raise Forbidden when the actor may not write these values (record rules on the result)."""
    return None


def mask_value(field: Any, value: Any) -> Any:
    """A masked rendering of a value (phones/emails keep their last characters)."""
    if value is None:
        return None
    text = str(value)
    keep = 2 if len(text) > 4 else 0
    return "*" * (len(text) - keep) + text[len(text) - keep :]
