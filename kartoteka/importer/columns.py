"""A chunk's cells converted column by column: one `map` per column, not a loop per cell.

A 1C export repeats stages, dates, link keys and flags on most lines, so each column
keeps a memo of its distinct cell texts (`ColumnMemo`, a dict whose `__missing__`
converts a text it has not seen). A chunk's column is then `map(memo.__getitem__,
texts)` — a lookup per cell in C, Python only for a text seen for the first time. A
cell whose text is an error (or empty in a required field) is remembered among the
column's `bad` texts, so a chunk with no bad text costs one `isdisjoint` per column to
know it. Errors are reported in the file's order (line, then column), as a loop over
rows would report them.

A column that does not repeat (deal numbers, amounts, times to the minute) gains nothing
from its memo: every cell is a miss that converts anyway and is then stored. Once a
chunk of such a column is nearly all misses, the column is converted directly
(`ColumnMemo.direct`): its converter mapped over the texts, and only a chunk where some
text is refused goes cell by cell to find which.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kartoteka.errors import ItemError
from kartoteka.fields.base import FieldValueError

from .plan import Column

#: Distinct cell texts remembered per column (a bound on memory for unique columns).
MEMO_LIMIT = 65_536
#: A column converts directly once a chunk of at least this many of its cells was
#: nearly all new texts, and not before its memo has seen this many chunks: a client's
#: phone repeats on the client's deals all over the file, so with 50,000 clients the
#: first chunks are nearly all new phones, and deciding on the first chunk parsed every
#: phone of a million rows anew (~30 microseconds each).
DIRECT_FROM = 100
DIRECT_AFTER = 16
REQUIRED = ItemError(None, None, None, "required")


@dataclass(frozen=True)
class Required:
    """The value of an empty cell in a required field: an error, like a FieldValueError."""

    problem: ItemError = REQUIRED


#: A cell's stored value, or why it has none.
CellProblem = FieldValueError | Required


class ColumnMemo(dict[str, Any]):
    """Cell text -> stored value (or its problem) of one column; converts on a miss."""

    def __init__(self, convert: Callable[[str], Any], is_empty: Callable[[Any], bool] | None):
        super().__init__()
        self.convert = convert
        self.is_empty = is_empty  # the type's test, for a required field; else None
        self.bad: set[str] = set()  # texts whose value is a problem
        self.lists = False  # some value is a list: each row gets its own copy
        self.direct = False  # the column barely repeats: convert without the memo
        self.chunks = 0  # chunks converted through the memo

    def value(self, text: str) -> Any:
        """The stored value of `text` (or its problem), without remembering it."""
        try:
            value = self.convert(text)
        except FieldValueError as exc:
            return exc
        if self.is_empty is not None and self.is_empty(value):
            return Required()
        return value

    def __missing__(self, text: str) -> Any:
        value = self.value(text)
        if len(self) >= MEMO_LIMIT:
            # A column that barely repeats (numbers, times) starts again: memory stays
            # bounded and a miss costs what converting costs anyway.
            self.clear()
            self.bad.clear()
        if isinstance(value, CellProblem):
            self.bad.add(text)
        elif isinstance(value, list):
            self.lists = True
        self[text] = value
        return value


@dataclass
class ChunkColumns:
    """A chunk converted: per row, its values by field id, or None when it has problems
    (`problems`: (row position, column, text, problem) in the file's order)."""

    values: list[dict[int, Any] | None]
    problems: list[tuple[int, Column, str, CellProblem]]


def memos(columns: list[Column], converters: dict[int, Callable[[str], Any]]) -> list[ColumnMemo]:
    """A memo per column (in the plan's order)."""
    return [
        ColumnMemo(converters[c.index], c.field.ftype.is_empty if c.field.required else None)
        for c in columns
    ]


def convert_chunk(
    columns: list[Column], column_memos: list[ColumnMemo], cells: list[list[str]]
) -> ChunkColumns:
    """Every row's stored values, column by column."""
    texts = _texts(columns, cells)
    converted = []
    problems: list[tuple[int, Column, str, CellProblem]] = []
    for col, memo, column in zip(columns, column_memos, texts, strict=True):
        remembered = not memo.direct
        if memo.direct:
            values = _direct(memo, column)
            if len(values) != len(column):  # not all converted: cell by cell
                values = list(map(memo.value, column))
                problems += [
                    (pos, col, text, value)
                    for pos, (text, value) in enumerate(zip(column, values, strict=True))
                    if isinstance(value, CellProblem)
                ]
        else:
            before = len(memo)
            values = list(map(memo.__getitem__, column))
            memo.chunks += 1
            # Nearly every text new (and none forgotten meanwhile), after enough chunks
            # for texts that repeat across the file to come back: no use remembering.
            memo.direct = (
                memo.chunks >= DIRECT_AFTER
                and len(column) >= DIRECT_FROM
                and len(memo) - before >= 0.9 * len(column)
            )
            if memo.bad and not memo.bad.isdisjoint(column):
                problems += [
                    (pos, col, text, values[pos]) for pos, text in enumerate(column)
                    if text in memo.bad
                ]  # fmt: skip
        if memo.lists and remembered:
            # A memo's list (link keys, several choices) is the row's own copy.
            values = [list(v) if type(v) is list else v for v in values]
        converted.append(values)
    fids = [c.field.id for c in columns]
    rows: list[dict[int, Any] | None] = (
        [dict(zip(fids, vals, strict=True)) for vals in zip(*converted, strict=True)]
        if columns
        else [{} for _ in cells]
    )
    if problems:
        place = {c.index: k for k, c in enumerate(columns)}
        problems.sort(key=lambda p: (p[0], place[p[1].index]))
        for pos, *_ in problems:
            rows[pos] = None
    return ChunkColumns(rows, problems)


def _direct(memo: ColumnMemo, column: tuple[str, ...]) -> list[Any]:
    """The column's values converted without the memo; an empty list when some text is
    refused (or empty in a required field), for the caller to go cell by cell."""
    try:
        values = list(map(memo.convert, column))
    except FieldValueError:
        return []
    empty = memo.is_empty
    if empty is not None and any(map(empty, values)):
        return []
    return values


def _texts(columns: list[Column], cells: list[list[str]]) -> list[tuple[str, ...]]:
    """The chunk's cell texts per column (a short row's missing cells are empty)."""
    if not cells:
        return [() for _ in columns]
    indexes = [c.index for c in columns]
    need = max(indexes) + 1
    if len(indexes) == 1:
        i = indexes[0]
        return [tuple(row[i] if i < len(row) else "" for row in cells)]
    if min(map(len, cells)) >= need:
        pick = operator.itemgetter(*indexes)
        return list(zip(*map(pick, cells), strict=True))
    padded = [row if len(row) >= need else row + [""] * (need - len(row)) for row in cells]
    return list(zip(*map(operator.itemgetter(*indexes), padded), strict=True))
