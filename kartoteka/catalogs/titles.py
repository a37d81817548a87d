"""The title field is indexed: grids, link pickers and imports sort and look records up by it.

A catalog's title is what its records are called: the default sort of a grid, the order of
a link picker, the key an import matches rows by. Without an index every such page scans
the whole table and sorts what matched (a 20,000-record catalog: 2 ms of SQLite's CPU for
a page of 100, nearly all of it reading rows). So a field that becomes the title gets the
same `(column, id)` index as a field marked `indexed` — it *is* marked `indexed`, so the
API shows it and `PATCH ... {"indexed": false}` drops it again. See
docs/decisions/0021-index-the-title-field.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Field
from kartoteka.storage import dynamic, schema


def index_title(conn: Connection, catalog_id: int, field: Field | None) -> None:
    """Index the field that just became the catalog's title, unless it has an index."""
    if field is None or field.indexed or not field.column:
        return
    if field.ftype.storage != "column" or not field.ftype.can_be_indexed:
        return
    dynamic.create_column_index(conn, catalog_id, field.column, False)
    fields = schema.fields
    conn.execute(sa.update(fields).where(fields.c.id == field.id).values(indexed=True))
