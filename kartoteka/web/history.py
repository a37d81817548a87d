"""History values as people read them: choice labels, user names, linked records' titles.

History stores ids for select, user and link fields; the card shows what they stand for.
A linked record the reader may not see stays `#id` (its title is not theirs to read).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.records import service as records
from kartoteka.records.read import titles
from kartoteka.storage.engine import read_connection
from kartoteka.users import service as users

from .forms import value_text


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, int) and not isinstance(v, bool)]


def _link_titles(actor: Actor, catalog: Catalog, entries: list[dict[str, Any]]) -> dict[int, str]:
    """Titles of the linked records named in the history that the reader may see."""
    meta = actor.workspace.meta()
    wanted: dict[int, set[int]] = {}
    for entry in entries:
        for name, change in (entry.get("changes") or {}).items():
            f = catalog.by_api_name.get(name)
            if f is None or f.type != "link":
                continue
            target = f.options.get("catalog") or 0
            for side in ("old", "new"):
                wanted.setdefault(target, set()).update(_ids(change.get(side)))
    found: dict[int, str] = {}
    with read_connection(actor.workspace.engine) as conn:
        for target_id, ids in wanted.items():
            target = meta.catalog(target_id)
            if target is None or not ids:
                continue
            seen = records.visible_ids(conn, actor, target, sorted(ids))
            found.update(titles(conn, target, seen))
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
        if field.type == "select":
            labels = {c["id"]: c["label"] for c in field.options.get("choices", [])}
            return ", ".join(labels.get(i, f"#{i}") for i in _ids(value)) or value_text(
                field, value
            )
        if field.type in ("user", "created_by", "updated_by"):
            return ", ".join(str(names.get(i) or f"#{i}") for i in _ids(value))
        if field.type == "link":
            return ", ".join(linked.get(i, f"#{i}") for i in _ids(value))
        return value_text(field, value)

    return text
