"""What an import does with rows that would create a duplicate: report, skip, merge or allow.

The importer asks before writing a chunk (`sort_creates`) and then writes with the
write hook's check skipped, so each row is judged once, with the answer the import
option asks for (docs/duplicates.md#imports).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kartoteka.access.visibility import visible_ids
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.errors import ItemError
from kartoteka.records.hooks import PendingChange
from kartoteka.storage.engine import read_connection

from .check import Candidate, candidates_of, refusal
from .rules import rules_of

MODES = ("report", "skip", "merge", "allow")


@dataclass(frozen=True)
class Verdict:
    """What to do with one row: "refuse" (with `message`), "skip", or "merge" into `record_id`."""

    action: str
    message: str = ""
    record_id: int | None = None
    #: A refusal's reason as a code with parameters (the first rule's), so the import's
    #: error list words it in the reader's language; `message` is the English text.
    problem: ItemError | None = None


def sort_creates(
    actor: Actor,
    catalog: Catalog,
    rows: list[dict[int, Any]],
    how: str,
    names: list[str],
) -> dict[int, Verdict]:
    """Position -> verdict for the rows (stored values by field id) that duplicate a record
    or an earlier row; `names` say how to call a row in a message ("line 12")."""
    if how == "allow" or not rows:
        return {}
    rules = rules_of(actor, catalog)
    if not rules:
        return {}
    wanted = {p.field.id for r in rules for p in r.parts}
    changes = [
        PendingChange(
            "create",
            None,
            {catalog.by_id[f].api_name: v for f, v in values.items() if f in wanted},
            index=i,
            where="create",
        )
        for i, values in enumerate(rows)
    ]
    out: dict[int, Verdict] = {}
    with read_connection(actor.workspace.engine) as conn:
        hits: dict[int, list[Candidate]] = {}
        for c in candidates_of(conn, catalog, rules, changes):
            if c.matches or c.repeats is not None:
                if c.repeats is not None:  # "create[3]" -> "line 14"
                    c.repeats = names[int(c.repeats.split("[")[1].rstrip("]"))]
                hits.setdefault(c.index or 0, []).append(c)
        matched = sorted({r for found in hits.values() for c in found for r in c.matches})
        seen = visible_ids(conn, actor, catalog, matched)
        for index, found in hits.items():
            ids = {r for c in found for r in c.matches}
            if how == "skip":
                out[index] = Verdict("skip")
            elif (
                how == "merge"
                and len(ids) == 1
                and ids <= seen
                and all(c.repeats is None for c in found)
            ):
                out[index] = Verdict("merge", record_id=next(iter(ids)))
            else:
                errors = refusal(conn, actor, catalog, found).errors
                text = "; ".join(_text(e) for e in errors)
                out[index] = Verdict("refuse", text, problem=errors[0] if errors else None)
    return out


def _text(error: ItemError) -> str:
    return error.text()
