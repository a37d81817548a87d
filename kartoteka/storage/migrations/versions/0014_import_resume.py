"""imports resume from their last committed chunk and keep every refused row; records
an import wrote wait in search_pending for the search index to catch up

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kartoteka.storage.types import JSONText

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = (
    # The last source line of the last committed chunk: a resumed job starts after it.
    ("resume_line", sa.Integer),
    # Where the job reads its file (an upload kept until the job ends, or the CLI's path).
    ("source_path", sa.String(1000)),
    ("filename", sa.String(255)),
    ("message", sa.Text),
    # The file's header row (the error file repeats it).
    ("headers", JSONText),
)


def upgrade() -> None:
    """Add the resume columns to imports and the import_errors table."""
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("imports")}
    with op.batch_alter_table("imports") as batch:
        for name, type_ in COLUMNS:
            if name not in have:
                batch.add_column(sa.Column(name, type_, nullable=True))
    if "import_errors" not in inspector.get_table_names():
        op.create_table(
            "import_errors",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("job_id", sa.Integer, nullable=False),
            sa.Column("line", sa.Integer),
            sa.Column("column_name", sa.String(255)),
            sa.Column("message", sa.Text, nullable=False),
            sa.Column("cells", JSONText),
            sqlite_autoincrement=True,
        )
        op.create_index("ix_import_errors_job", "import_errors", ["job_id", "id"])
    if "search_pending" not in inspector.get_table_names():
        op.create_table(
            "search_pending",
            sa.Column("catalog_id", sa.Integer, primary_key=True),
            sa.Column("record_id", sa.BigInteger, primary_key=True),
        )


def downgrade() -> None:
    """Drop the import_errors and search_pending tables and the resume columns."""
    op.drop_table("search_pending")
    op.drop_index("ix_import_errors_job", "import_errors")
    op.drop_table("import_errors")
    with op.batch_alter_table("imports") as batch:
        for name, _ in COLUMNS:
            batch.drop_column(name)
