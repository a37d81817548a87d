"""A job's progress as the chunks commit: counts, checkpoint, refused rows, error file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.exporter.service import csv_safe
from kartoteka.storage import bulk, schema
from kartoteka.storage.engine import read_connection, utcnow

from .runner import ImportResult, RowError

RESULT_COLUMNS = ("status", "processed", "total", "created", "updated", "unchanged", "errors")
#: Refused rows a dry run keeps for its error file (it writes them when it ends).
DRY_RUN_ERRORS = 100_000
#: The error file's own columns, after the file's.
ERROR_COLUMNS = ("line", "column", "error")


class JobJournal:
    """Writes a job's checkpoint in each chunk's transaction (`runner.Journal`)."""

    def __init__(self, ws: Workspace, job_id: int) -> None:
        self.ws = ws
        self.job_id = job_id
        self.held: list[RowError] = []  # a dry run's refused rows, written at its end

    def chunk_done(
        self, conn: Connection | None, result: ImportResult, last_line: int, errors: list[Any]
    ) -> None:
        """In the chunk's transaction: counts, `resume_line` and the refused rows."""
        if conn is None:
            room = DRY_RUN_ERRORS - len(self.held)
            self.held += errors[: max(0, room)]
            return
        table = schema.imports
        values = {c: getattr(result, c) for c in RESULT_COLUMNS if c != "status"}
        conn.execute(
            sa.update(table)
            .where(table.c.id == self.job_id)
            .values(
                **values,
                error_sample=result.error_sample,
                resume_line=last_line,
                heartbeat_at=utcnow(),
            )
        )
        write_errors(conn, self.job_id, errors)

    def flush(self) -> None:
        """A dry run's refused rows, once its rollback has let go of the database."""
        if self.held:
            with self.ws.engine.begin() as conn:
                write_errors(conn, self.job_id, self.held)
            self.held = []


def write_errors(conn: Connection, job_id: int, errors: list[RowError]) -> None:
    """Insert refused rows of a job."""
    rows = [
        {
            "job_id": job_id,
            "line": e.line,
            "column_name": (e.column or "")[:255] or None,
            "message": e.message,
            "cells": e.cells,
        }
        for e in errors
    ]
    bulk.insert_many(conn, schema.import_errors, rows)


def error_count(ws: Workspace, job_id: int) -> int:
    """How many refused rows a job keeps."""
    t = schema.import_errors
    with read_connection(ws.engine) as conn:
        q = sa.select(sa.func.count()).select_from(t).where(t.c.job_id == job_id)
        return int(conn.execute(q).scalar_one())


def error_csv(
    ws: Workspace, job_id: int, headers: list[str], delimiter: str = ","
) -> Iterator[bytes]:
    """The error file: the file's header and columns, then `line`, `column`, `error` —
    UTF-8 with BOM (Excel opens it as such), streamed by pages of refused rows."""
    t = schema.import_errors
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    width = len(headers)
    writer.writerow([*headers, *ERROR_COLUMNS])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    last = 0
    while True:
        with read_connection(ws.engine) as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.job_id == job_id, t.c.id > last).order_by(t.c.id).limit(5000)
            ).all()
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for r in rows:
            cells = [_safe(c) for c in (r.cells or [])][:width]
            cells += [""] * (width - len(cells))
            writer.writerow([*cells, r.line or "", r.column_name or "", _safe(r.message)])
        yield buffer.getvalue().encode("utf-8")
        last = rows[-1].id


def _safe(text: Any) -> str:
    """A cell that a spreadsheet would run as a formula gets a leading `'` (as exports do)."""
    return csv_safe("" if text is None else str(text))
