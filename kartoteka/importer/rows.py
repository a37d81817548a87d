"""A source row on its way to the write path, and a chunk's rows split into the write
path's columns and links (planned once per chunk: its rows give the same fields)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kartoteka.records.write import Prepared


@dataclass
class Row:
    """One source row on its way to the write path."""

    line: int
    cells: list[str]  # the file's row as read
    cell_of: dict[str, int]  # api_name -> the cell it comes from (shared by all rows)
    values: dict[int, Any] = field(default_factory=dict)  # field id -> stored value
    record_id: int | None = None
    prepared: Prepared | None = None
    stamps: dict[str, Any] = field(default_factory=dict)  # keep_stamps: name -> db value

    def text(self, api_name: str) -> str | None:
        """The source text of a field's cell (None: no column goes to it)."""
        i = self.cell_of.get(api_name)
        if i is None:
            return None
        return self.cells[i] if i < len(self.cells) else ""


class Split:
    """A row's values (by field id) as the write path's columns (by column name) and
    links; the rows of a chunk give the same fields, so the split is planned once."""

    def __init__(self, sample: dict[int, Any], link_fids: set[int], col_name: dict[int, str]):
        self.link_fids = link_fids
        self.col_name = col_name
        self.fids = set(sample)
        columns = [fid for fid in sample if fid not in link_fids]
        self.names = [col_name[fid] for fid in columns]
        # A tuple of items even for one column (itemgetter of one key gives the item
        # itself): the last key twice, the extra item left out by `zip`.
        self.pick: Callable[[dict[int, Any]], tuple[Any, ...]] = (
            operator.itemgetter(*columns, *columns[-1:]) if columns else lambda _values: ()
        )
        self.links = [fid for fid in sample if fid in link_fids]

    def __call__(self, values: dict[int, Any]) -> tuple[dict[str, Any], dict[int, Any]]:
        """(columns, links) of one row's values."""
        if values.keys() != self.fids:
            return self._one_by_one(values)
        columns = dict(zip(self.names, self.pick(values), strict=False))
        return columns, {fid: values[fid] for fid in self.links}

    def _one_by_one(self, values: dict[int, Any]) -> tuple[dict[str, Any], dict[int, Any]]:
        columns, links = {}, {}
        for fid, value in values.items():
            if fid in self.link_fids:
                links[fid] = value
            else:
                columns[self.col_name[fid]] = value
        return columns, links
