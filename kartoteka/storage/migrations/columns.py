"""Column steps the migrations share: the code and parameters of a stored error.

Several revisions store a failure's code and parameters beside its English text (so it
can be told in the reader's language): a `String(60)` code and a JSON parameters column,
both nullable. They add them the same way, here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kartoteka.storage.types import JSONText


def add_code_and_params(table: str, code: str, params: str) -> None:
    """Add `table`'s `code` and `params` columns, unless `code` is there already."""
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    if code in have:
        # A workspace stamped back to an older revision may have the columns already.
        return
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column(code, sa.String(60), nullable=True))
        batch.add_column(sa.Column(params, JSONText, nullable=True))


def drop_code_and_params(table: str, code: str, params: str) -> None:
    """Drop the two columns add_code_and_params adds."""
    with op.batch_alter_table(table) as batch:
        batch.drop_column(params)
        batch.drop_column(code)
