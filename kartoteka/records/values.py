"""A row's `values` dict made by a function compiled once per shape of columns (issue 16)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from kartoteka.fields.base import same

#: One column of a page: the api_name, the row position it reads, and the function
#: turning that stored value (the record id, for links) into the value shown.
Column = tuple[str, int, Callable[[Any], Any]]


#: Per columns' shape (names, positions, which render the stored value as it is): the
#: function that makes a row's `values` from the shape's readers (`values_maker`).
_makers: OrderedDict[tuple[tuple[str, int, bool], ...], Callable[..., Any]] = OrderedDict()
_makers_lock = threading.Lock()
MAKER_CACHE_SIZE = 512


def values_maker(columns: list[Column]) -> Callable[[Any], dict[str, Any]]:
    """A function making one row's `values` dict, `{name: read(row[i]) ...}` for these
    columns, with the dict written out as one display (issue 16).

    The comprehension over (name, position, reader) triples was a fifth of a page's
    rendering: a tuple unpacked and a call per value, `same` included (a field whose
    stored value is its value). The made function is compiled once per shape of columns
    (names and positions are all its source holds; names as `repr` literals) and bound
    to each page's readers, which may be new per page (links, users, files).
    """
    key = tuple((name, i, fn is same) for name, i, fn in columns)
    with _makers_lock:
        make = _makers.get(key)
        if make is not None:
            _makers.move_to_end(key)
    if make is None:
        readers = [f"f{k}" for k in range(len(columns))]
        entries = ", ".join(
            f"{name!r}: r[{i}]" if plain else f"{name!r}: {reader}(r[{i}])"
            for (name, i, plain), reader in zip(key, readers, strict=True)
        )
        source = (
            f"def make({', '.join(readers)}):\n"
            f"    def values(r):\n"
            f"        return {{{entries}}}\n"
            f"    return values\n"
        )
        space: dict[str, Any] = {}
        exec(compile(source, "<kartoteka.records.read values>", "exec"), space)  # noqa: S102
        make = space["make"]
        with _makers_lock:
            _makers[key] = make
            while len(_makers) > MAKER_CACHE_SIZE:
                _makers.popitem(last=False)
    return make(*(fn for _, _, fn in columns))  # type: ignore[no-any-return]
