"""History values as people read them: choice labels, user names, linked records' titles.

History stores ids for select, user and link fields; the card shows what they stand for.
A linked record the reader may not see stays `#id` (its title is not theirs to read):
`records.linked.link_items` applies the same rule as the API's link values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.records.linked import link_items
from kartoteka.storage.engine import read_connection
from kartoteka.users import service as users

from .forms import value_text

#: Cells of the types whose history holds ids (labels, names and titles are looked up).
REFERENCES = frozenset({"chips", "people", "records"})


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, int) and not isinstance(v, bool)]


def _link_titles(
    actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]
) -> dict[str, dict[int, str]]:
    """Titles of the linked records named in the history, as the reader may see them."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        for name, change in (entry.get("changes") or {}).items():
            f = catalog.by_api_name.get(name)
            if f is None or f.ftype.cell != "records":
                continue
            for side in ("old", "new"):
                wanted.setdefault(name, set()).update(_ids(change.get(side)))
    found: dict[str, dict[int, str]] = {}
    with read_connection(actor.workspace.engine) as conn:
        for name, ids in wanted.items():
            items = link_items(conn, actor, catalog.by_api_name[name], ids)
            found[name] = {i: str(item.get("title") or f"#{i}") for i, item in items.items()}
    return found


def describer(
    actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]
) -> Callable[[Field | None, Any], str]:
    """`text(field, stored_value)` for the history of one record."""
    names = {u["id"]: u.get("name") or u.get("email") for u in users.list_users(actor)}
    linked = _link_titles(actor, catalog, entries)

    def text(field: Field | None, value: Any) -> str:
        if field is None or value in (None, [], ""):
            return value_text(field, value)
        cell = field.ftype.cell
        if isinstance(value, str) and cell in REFERENCES:
            return value  # stored as ids, so a string is the reader's mask: show it as is
        if cell == "chips":
            labels = {c["id"]: c["label"] for c in field.options.get("choices", [])}
            return ", ".join(labels.get(i, f"#{i}") for i in _ids(value)) or value_text(
                field, value
            )
        if cell == "people":
            return ", ".join(str(names.get(i) or f"#{i}") for i in _ids(value))
        if cell == "records":
            known = linked.get(field.api_name, {})
            return ", ".join(known.get(i, f"#{i}") for i in _ids(value))
        return value_text(field, value)

    return text
