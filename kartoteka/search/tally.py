"""The workspace search's numbers for every catalog, asked in one statement.

For each catalog a workspace search needs to know whether its match is broad (more
matching records than are ranked: the newest come first then) and how many records the
reader may see match (up to a cap). Asked catalog by catalog, that was two or three
statements each — thirty round trips for ten catalogs, each scanning up to a thousand
matches. Here one `UNION ALL` answers for all of them: per catalog, the matching index
rows counted up to the decision's cap and, only where the reader has a record rule, the
records that pass it counted up to the count's cap. Without a rule every matching index
row is a record the reader sees (the match itself is limited to the fields they read),
so the first number is the count too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.storage import fulltext


@dataclass(frozen=True)
class Question:
    """One catalog's search as the tally asks it."""

    match: fulltext.Match
    #: The catalog's table (the rule's columns are on it).
    table: Any
    #: The reader's compiled record rule on the catalog; None: they see every record.
    rule: Any | None


@dataclass(frozen=True)
class Tally:
    """One catalog's numbers."""

    #: Matching index rows (rights not applied, the reader's fields applied), counted
    #: up to the decision's cap.
    matching: int
    #: Matching records the reader's rule lets them see, counted up to the count's cap;
    #: None: no rule, `matching` counts them.
    visible: int | None

    def count(self, cap: int) -> int:
        """How many records the reader finds, at most `cap`."""
        return min(self.matching, cap) if self.visible is None else self.visible

    @property
    def empty(self) -> bool:
        """Nothing the reader may see matches (a page would be empty)."""
        return self.matching == 0 or self.visible == 0


def tally(conn: Connection, questions: Sequence[Question], decide: int, cap: int) -> list[Tally]:
    """Each question's numbers, in order: matches up to `decide`, visible up to `cap`."""
    if not questions:
        return []
    dialect = conn.dialect.name
    # The decision's number stands for the count where there is no rule: it must count
    # at least as far.
    decide = max(decide, cap)
    window = fulltext.PROBE * decide
    branches = []
    for position, q in enumerate(questions):
        visible: Any = sa.null()
        if q.rule is not None:
            visible = fulltext.visible_count(dialect, q.match, q.table, q.rule, cap, window)
        branches.append(
            sa.select(
                sa.literal(position, sa.Integer).label("position"),
                fulltext.matching_count(dialect, q.match, decide).label("matching"),
                sa.cast(visible, sa.Integer).label("visible"),
            )
        )
    statement = branches[0] if len(branches) == 1 else sa.union_all(*branches)
    rows = {int(r.position): r for r in conn.execute(statement)}
    return [
        Tally(int(rows[i].matching), None if rows[i].visible is None else int(rows[i].visible))
        for i in range(len(questions))
    ]
