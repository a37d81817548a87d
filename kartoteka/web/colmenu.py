"""What the grid's column-header menu (`frontend/colmenu.js`) needs from the server: its
strings, and the field designer's address for those who may manage the catalog."""

from __future__ import annotations

from urllib.parse import quote

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor

from .i18n import N_

STRINGS = {
    "column_menu": N_("Column menu"),
    "sort_az": N_("Sort ascending"),
    "sort_za": N_("Sort descending"),
    "filter_by": N_("Filter by this field…"),
    "hide_column": N_("Hide the column"),
    "edit_field": N_("Edit the field…"),
    "insert_left": N_("Insert a field on the left…"),
    "insert_right": N_("Insert a field on the right…"),
    "all_fields": N_("All fields of the catalog…"),
}


def designer_url(base: str, actor: Actor, catalog: Catalog) -> str | None:
    """The catalog's field designer, when the actor may change its fields (else None)."""
    if catalog.system is not None or not access.can_manage(actor, catalog):
        return None
    return f"{base}/admin/catalogs/{quote(catalog.api_name, safe='')}"
