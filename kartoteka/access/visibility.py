"""What one reader sees of stored values: the field rules applied wherever a value shows.

Records, history, the live feed, titles, link values, pickers and exports all show
values; each asks a `FieldView` for one (actor, catalog) instead of reading the rules
itself, so a hidden field is absent and a masked one masked on every path alike.
`visible_ids` and `require_visible` answer which records the reader may see at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.errors import RecordNotFound
from kartoteka.storage.engine import read_connection

from . import service as access

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Catalog, Field
    from kartoteka.context import Actor

#: History keys that are not fields and every reader of a record's history sees: the
#: records merged into it, the record it was merged into (`duplicates.merge`).
HISTORY_NOTES = frozenset({"_merged", "_merged_into"})


@dataclass(frozen=True)
class FieldView:
    """One reader's view of one catalog's fields."""

    catalog: Catalog
    rules: dict[str, str]
    #: Administrators (and the system) see every stored key, even of deleted fields.
    unrestricted: bool = False

    @classmethod
    def of(cls, actor: Actor, catalog: Catalog) -> FieldView:
        """The view of `actor` on `catalog`."""
        return cls(catalog, access.field_rules(actor, catalog), unrestricted=actor.is_admin)

    def shows(self, api_name: str) -> bool:
        """Whether the field appears at all."""
        return self.rules.get(api_name) != "hidden"

    def clear(self, api_name: str) -> bool:
        """Whether the reader reads the field's value unmasked (may search or key on it)."""
        return self.rules.get(api_name) not in ("hidden", "masked")

    def value(self, field: Field, value: Any) -> Any:
        """A visible field's value as the reader sees it (masked when masked)."""
        if self.rules.get(field.api_name) == "masked":
            return masked(field, value)
        return value

    def values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A {api_name: value} map with hidden fields left out and masked ones masked.

        Keys that are no current field (renamed or deleted since the value was stored)
        show only to unrestricted readers: no rule can be judged for them any more.
        """
        out: dict[str, Any] = {}
        by_name = self.catalog.by_api_name
        for key, value in values.items():
            field = by_name.get(key)
            if field is None:
                if self.unrestricted:
                    out[key] = value
                continue
            if self.shows(key):
                out[key] = self.value(field, value)
        return out

    def changes(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """History changes `{api_name: {"old", "new"}}` as the reader may see them."""
        out: dict[str, Any] = {}
        for key, change in changes.items():
            field = self.catalog.by_api_name.get(key)
            if field is None:
                if self.unrestricted or key in HISTORY_NOTES:
                    out[key] = change
                continue
            if not self.shows(key):
                continue
            if self.rules.get(key) == "masked" and isinstance(change, Mapping):
                change = {k: masked(field, v) for k, v in change.items()}
            out[key] = change
        return out

    def title(self, text: str, record_id: int) -> str:
        """A record title built from the title field, as the reader may see it."""
        field = self.catalog.title_field
        if field is None:
            return text
        rule = self.rules.get(field.api_name)
        if rule == "hidden":
            return f"#{record_id}"
        if rule == "masked" and text != f"#{record_id}":
            return str(masked(field, text))
        return text

    def title_searchable(self) -> bool:
        """Whether searching by title text is allowed (never on a hidden or masked title)."""
        field = self.catalog.title_field
        return field is not None and self.clear(field.api_name)


def masked(field: Field, value: Any) -> Any:
    """A value masked as text: a phone `+7 *** ***-**-67`, anything else `*****67`.

    Structured values (a select's `{"id", "label"}`, a user, a list of links) are masked
    through their text, so the mask never shows ids or a label's structure. Empty stays
    empty.
    """
    if value is None or value == "" or value == []:
        return value
    if not isinstance(value, str):
        try:
            value = field.ftype.to_text(value, field)
        except (AttributeError, KeyError, TypeError, ValueError):
            value = str(value)
    return access.mask_value(field, value)


# ----- records the actor may see ---------------------------------------------------------
def visible_ids(conn: Connection, actor: Actor, catalog: Catalog, ids: list[int]) -> set[int]:
    """Which of `ids` the actor may see."""
    if not ids:
        return set()
    table = catalog.table
    q = sa.select(table.c.id).where(table.c.id.in_(ids))
    rights = access.record_filter(actor, catalog, "view")
    if rights is not None:
        q = q.where(rights)
    return {r[0] for r in conn.execute(q)}


def require_visible(actor: Actor, catalog: Catalog, record_id: int) -> None:
    """RecordNotFound unless the actor may see the record."""
    with read_connection(actor.workspace.engine) as conn:
        if record_id not in visible_ids(conn, actor, catalog, [record_id]):
            raise RecordNotFound.of("record_not_found", None, id=record_id)
