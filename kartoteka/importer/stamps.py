"""Historical data: an import keeping the file's own created/updated dates and authors.

With `options.keep_stamps`, columns mapped to `created_at`, `updated_at`, `created_by`
or `updated_by` set those columns of the records the import writes instead of the
time of the import and the importing user. Authors are named by e-mail (one query per
chunk for the e-mails not seen yet). Only administrators may do it: the stamps are what
"who made this record, when" rests on. History records the change as imported (by the
importing user, at the time of the import); see docs/import.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from kartoteka.context import Actor
from kartoteka.errors import Forbidden
from kartoteka.fields.base import FieldValueError
from kartoteka.fields.datetime import parse_datetime
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection

from . import readers
from .options import STAMPS, ImportOptions, option_error

if TYPE_CHECKING:
    from .rows import Row


@dataclass
class StampColumn:
    """One source column written to one of the record's stamps."""

    index: int
    header: str
    name: str  # one of STAMPS


def map_stamps(actor: Actor, headers: list[str], opts: ImportOptions) -> list[StampColumn]:
    """The file's stamp columns; a 422 naming the mapping when `keep_stamps` is not on,
    a 403 when the actor is not an administrator."""
    position = {h.casefold(): i for i, h in reversed(list(enumerate(headers)))}
    columns: list[StampColumn] = []
    if opts.mapping is not None:
        for header, name in opts.mapping.items():
            if name not in STAMPS:
                continue
            if header.casefold() not in position:
                raise option_error(f"mapping.{header}", "import_no_column")
            if not opts.keep_stamps:
                raise option_error(f"mapping.{header}", "import_stamp_needs_keep", name=name)
            columns.append(StampColumn(position[header.casefold()], header, name))
    elif opts.keep_stamps:
        # Without a mapping, columns named after a stamp go to it (otherwise they are
        # ignored, as every column naming no field is).
        columns = [StampColumn(i, h, h.casefold()) for i, h in enumerate(headers)
                   if h.casefold() in STAMPS]  # fmt: skip
    if not opts.keep_stamps:
        return []
    if not columns:
        raise option_error("keep_stamps", "import_no_stamp_column", stamps=", ".join(STAMPS))
    seen: dict[str, str] = {}
    for col in columns:
        if col.name in seen:
            raise readers.bad_file(
                "import_columns_clash", first=seen[col.name], second=col.header, name=col.name
            )
        seen[col.name] = col.header
    if not actor.is_admin:
        raise Forbidden.of("import_keep_stamps_admin")
    return columns


ErrorSink = Callable[["Row", str, str, str], None]


class StampReader:
    """Converts the stamp cells of a chunk's rows into `row.stamps`."""

    def __init__(
        self, actor: Actor, columns: list[StampColumn], date_format: str | None, error: ErrorSink
    ) -> None:
        self.actor = actor
        self.columns = columns
        self.date_format = readers.pattern_format(date_format) if date_format else None
        self.format_text = date_format  # as the user wrote it, for messages
        self.error = error
        self.users: dict[str, int | None] = {}  # e-mail (case-folded) -> user id

    def convert(self, rows: list[Row]) -> list[Row]:
        """The rows whose stamps are all valid, each with `stamps` filled."""
        if not self.columns:
            return rows
        parsed = [row for row in rows if self._parse(row)]
        emails = {v for row in parsed for k, v in row.stamps.items() if k.endswith("_by")} - set(
            self.users
        )
        self._load_users(emails)
        return [row for row in parsed if self._authors(row)]

    def _parse(self, row: Row) -> bool:
        for col in self.columns:
            text = row.cells[col.index].strip() if col.index < len(row.cells) else ""
            if not text:
                continue  # the import's own time or user, as without keep_stamps
            if col.name.endswith("_by"):
                row.stamps[col.name] = text.casefold()
                continue
            try:
                row.stamps[col.name] = self._moment(text)
            except ValueError:
                wanted = f"date_format {self.format_text}" if self.format_text else "ISO 8601"
                self.error(row, col.header, text, f"expected a date and time ({wanted})")
                return False
        created, updated = row.stamps.get("created_at"), row.stamps.get("updated_at")
        if created and updated and updated < created:
            header = next(c.header for c in self.columns if c.name == "updated_at")
            self.error(row, header, row.cells[self._index("updated_at")],
                       "updated_at is before created_at")  # fmt: skip
            return False
        return True

    def _index(self, name: str) -> int:
        return next(c.index for c in self.columns if c.name == name)

    def _moment(self, text: str) -> datetime:
        if self.date_format:
            text = readers.parse_date_text(text, self.date_format, True)
        try:
            moment = parse_datetime(text, self.actor)
        except FieldValueError:
            raise ValueError(text) from None
        assert moment is not None
        return moment.replace(microsecond=0)

    def _load_users(self, emails: set[str]) -> None:
        if not emails:
            return
        u = schema.users
        wanted = sorted(emails)
        with read_connection(self.actor.workspace.engine) as conn:
            for start in range(0, len(wanted), 900):
                part = wanted[start : start + 900]
                q = sa.select(sa.func.lower(u.c.email), u.c.id).where(
                    sa.func.lower(u.c.email).in_(part)
                )
                for email, uid in conn.execute(q):
                    self.users[str(email)] = int(uid)
        for email in emails:
            self.users.setdefault(email, None)

    def _authors(self, row: Row) -> bool:
        for col in self.columns:
            email = row.stamps.get(col.name) if col.name.endswith("_by") else None
            if email is None:
                continue
            uid = self.users.get(email)
            if uid is None:
                text = row.cells[col.index].strip()
                self.error(row, col.header, text, f"no user with e-mail {text!r}")
                return False
            row.stamps[col.name] = uid
        return True
