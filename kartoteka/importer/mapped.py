"""One column of the file mapped to one field (apart from `plan.py`, which needs the
database: the reading process of `ahead.py` imports only what converting takes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Catalog, Field


@dataclass
class Column:
    """One source column written to one field."""

    index: int
    header: str
    field: Field
    link_key: Field | None = None  # for link fields resolved by a key of the linked catalog
    target: Catalog | None = None
