"""Imports: CSV/XLSX rows go through the field types' `from_text` and the one write path.

Every row is written by `records.service.batch` in chunks, so rights, validation,
request webhooks, history and outbox events apply exactly as for an API call.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from kartoteka.access import keys as access_keys
from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor
from kartoteka.errors import DomainError, Forbidden, NotFound, Rejected, TooLarge, ValidationFailed
from kartoteka.fields.base import FieldValueError
from kartoteka.records import service as records
from kartoteka.records import write
from kartoteka.records.errors import RecordInvalid
from kartoteka.records.requests import BatchRequest, CreateItem, UpdateItem, Upsert
from kartoteka.storage.engine import read_connection

from . import readers
from .options import ImportOptions, option_error, parse_options

CHUNK_ROWS = 500
MAX_ERROR_SAMPLE = 100
DEFAULT_MAX_ROWS = 1_000_000
MAX_ROWS_SETTING = "import_max_rows"

Progress = Callable[["ImportResult"], None]


# ----- plan: which column goes to which field --------------------------------------------
@dataclass
class Column:
    """One source column written to one field."""

    index: int
    header: str
    field: Field
    link_key: Field | None = None  # for link fields resolved by a key of the linked catalog
    target: Catalog | None = None


@dataclass
class Plan:
    """An import checked against the catalog and the file's header row, ready to run."""

    catalog: Catalog
    options: ImportOptions
    source: readers.Source
    columns: list[Column]
    key: list[Field]

    @property
    def batch_upsert(self) -> bool:
        """A single unique key: `batch` resolves create-or-update itself."""
        return self.options.mode == "upsert" and len(self.key) == 1 and self.key[0].unique

    def column_of(self, api_name: str) -> Column | None:
        """The source column feeding a field."""
        return next((c for c in self.columns if c.field.api_name == api_name), None)


def plan_import(actor: Actor, catalog_ref: str | int, path: Path, options: Any) -> Plan:
    """Check options, rights and the header row; raise a precise 422 before anything is written."""
    catalog = get_catalog(actor, catalog_ref)
    opts = options if isinstance(options, ImportOptions) else parse_options(options)
    if opts.mode in ("create", "upsert") and not access.can_create(actor, catalog):
        raise Forbidden("you may not create records in this catalog")
    source = readers.open_source(path, opts.encoding, opts.delimiter)
    columns = _map_columns(actor, catalog, source.headers, opts)
    _attach_link_keys(actor, catalog, columns, opts)
    key = _key_fields(catalog, columns, opts)
    return Plan(catalog, opts, source, columns, key)


def _writable(actor: Actor, catalog: Catalog) -> dict[str, Field]:
    rules = access.field_rules(actor, catalog)
    return {
        f.api_name: f
        for f in catalog.fields
        if not f.ftype.read_only and rules.get(f.api_name) not in ("hidden", "read_only", "masked")
    }


def _map_columns(
    actor: Actor, catalog: Catalog, headers: list[str], opts: ImportOptions
) -> list[Column]:
    writable = _writable(actor, catalog)
    columns: list[Column] = []
    if opts.mapping is not None:
        position = {h.casefold(): i for i, h in reversed(list(enumerate(headers)))}
        for header, api_name in opts.mapping.items():
            if header.casefold() not in position:
                raise option_error(f"mapping.{header}", "no such column in the file")
            if api_name not in writable:
                raise option_error(f"mapping.{header}", f"{api_name!r} is not a writable field")
            columns.append(Column(position[header.casefold()], header, writable[api_name]))
    else:
        by_name = {f.api_name.casefold(): f for f in writable.values()}
        by_name.update({f.name.casefold(): f for f in writable.values()})
        for i, header in enumerate(headers):
            f = by_name.get(header.casefold())
            if f is not None:
                columns.append(Column(i, header, f))
    seen: dict[str, str] = {}
    for col in columns:
        if col.field.api_name in seen:
            raise readers.bad_file(
                f"columns {seen[col.field.api_name]!r} and {col.header!r} both go to "
                f"{col.field.api_name!r}"
            )
        seen[col.field.api_name] = col.header
    if not columns:
        raise readers.bad_file("no column matches a writable field (use options.mapping)")
    return columns


def _attach_link_keys(
    actor: Actor, catalog: Catalog, columns: list[Column], opts: ImportOptions
) -> None:
    meta = actor.workspace.meta()
    for link_name, key_name in opts.link_keys.items():
        f = catalog.by_api_name.get(link_name)
        if f is None or not f.is_link:
            raise option_error(f"link_keys.{link_name}", "not a link field of this catalog")
        target = meta.catalog(f.options.get("catalog") or 0)
        key = target.by_api_name.get(key_name) if target else None
        if target is None or key is None or not key.storage_column:
            raise option_error(f"link_keys.{link_name}", f"{key_name!r} is not a stored field")
        if not access_keys.readable_key(actor, target, key):
            # Matching on a hidden or masked field would tell right guesses from wrong.
            raise option_error(
                f"link_keys.{link_name}", f"{key_name!r} is not a field you may match by"
            )
        for col in columns:
            if col.field.id == f.id:
                col.link_key, col.target = key, target


def _key_fields(catalog: Catalog, columns: list[Column], opts: ImportOptions) -> list[Field]:
    key: list[Field] = []
    for name in opts.key:
        f = catalog.by_api_name.get(name)
        if f is None or not f.column or f.ftype.storage != "column":
            raise option_error("key", f"{name!r} is not a stored field of this catalog")
        if not any(c.field.id == f.id for c in columns):
            raise option_error("key", f"no column of the file goes to {name!r}")
        key.append(f)
    return key


# ----- running ---------------------------------------------------------------------------
@dataclass
class ImportResult:
    """Counts and the first errors of an import (also what the job row stores)."""

    status: str = "running"
    processed: int = 0
    total: int | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    error_sample: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The API shape (without the job id)."""
        return dataclasses.asdict(self)


class ImportStopped(Exception):
    """on_error=stop met an error: the job fails and the current chunk is not written."""


@dataclass
class Row:
    """One source row on its way to the write path."""

    line: int
    values: dict[str, Any]
    cells: dict[str, str]  # api_name -> source text
    record_id: int | None = None


def max_rows(actor: Actor) -> int:
    """The row limit of one import (workspace setting `import_max_rows`)."""
    value = actor.workspace.meta().settings.get(MAX_ROWS_SETTING)
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_ROWS


def import_file(
    actor: Actor,
    catalog_ref: str | int,
    path: Path | str,
    options: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import a CSV/XLSX file synchronously (the CLI and the job runner call this)."""
    plan = plan_import(actor, catalog_ref, Path(path), options)
    return run_import(actor, plan, progress).to_json()


def run_import(actor: Actor, plan: Plan, progress: Progress | None = None) -> ImportResult:
    """Run a planned import chunk by chunk; a dry run rolls every write back at the end."""
    result = ImportResult()
    limit = max_rows(actor)
    result.total = plan.source.count_rows(limit)
    if result.total > limit:
        raise TooLarge(f"the file has more than {limit} rows")
    if progress:
        progress(result)
    try:
        if plan.options.dry_run:
            with rolled_back(actor) as dry:
                _Runner(dry, plan, result, progress).run()
        else:
            _Runner(actor, plan, result, progress).run()
    except ImportStopped as exc:
        result.status, result.message = "failed", str(exc)
        return result
    result.status = "done"
    return result


class _Runner:
    """Carries one import through its chunks."""

    def __init__(
        self, actor: Actor, plan: Plan, result: ImportResult, progress: Progress | None
    ) -> None:
        self.actor = actor
        self.plan = plan
        self.catalog = plan.catalog
        self.opts = plan.options
        self.result = result
        self.progress = progress
        self.seen_keys: dict[tuple[Any, ...], int] = {}

    def run(self) -> None:
        for chunk in _chunks(self.plan.source.rows(), CHUNK_ROWS):
            rows = [r for r in (self._convert(line, cells) for line, cells in chunk) if r]
            rows = self._resolve_links(rows)
            if self.opts.mode != "create":
                rows = self._match_keys(rows)
            rows = self._validate(rows)
            if rows:
                self._write(rows)
            self.result.processed += len(chunk)
            if self.progress:
                self.progress(self.result)

    # errors -------------------------------------------------------------------------------
    def error(self, line: int, column: str | None, value: Any, message: str) -> None:
        """Note one problem; with on_error=stop it ends the import."""
        self.result.errors += 1
        if len(self.result.error_sample) < MAX_ERROR_SAMPLE:
            self.result.error_sample.append(
                {"line": line, "column": column, "value": value, "message": message}
            )
        if self.opts.on_error == "stop":
            where = f" ({column})" if column else ""
            raise ImportStopped(f"line {line}{where}: {message}")

    def field_errors(self, row: Row, fields: dict[str, str], fallback: str) -> None:
        """Errors keyed by api_name, reported with the source column and cell text."""
        if not fields:
            self.error(row.line, None, None, fallback)
        for api_name, message in fields.items():
            col = self.plan.column_of(api_name)
            header = col.header if col else api_name
            self.error(row.line, header, row.cells.get(api_name), message)

    # stages -------------------------------------------------------------------------------
    def _convert(self, line: int, cells: list[str]) -> Row | None:
        row = Row(line, {}, {})
        ok = True
        for col in self.plan.columns:
            text = cells[col.index] if col.index < len(cells) else ""
            row.cells[col.field.api_name] = text
            try:
                row.values[col.field.api_name] = self._cell_value(col, text)
            except FieldValueError as exc:
                self.error(line, col.header, text, exc.message)
                ok = False
        return row if ok else None

    def _cell_value(self, col: Column, text: str) -> Any:
        f = col.field
        if text.strip() and self.opts.date_format and f.type in ("date", "datetime"):
            try:
                text = readers.parse_date_text(text, self.opts.date_format, f.type == "datetime")
            except ValueError:
                raise FieldValueError(
                    f"does not match date_format {self.opts.date_format}"
                ) from None
        if text.strip() and f.type in ("number", "money"):
            text = readers.normalise_number(text, self.opts.decimal_comma)
        return f.ftype.from_text(text, f, self.actor)

    def _resolve_links(self, rows: list[Row]) -> list[Row]:
        for col in self.plan.columns:
            if col.link_key is not None and col.target is not None:
                rows = self._resolve_link_column(col, rows)
        return rows

    def _resolve_link_column(self, col: Column, rows: list[Row]) -> list[Row]:
        key, target, name = col.link_key, col.target, col.field.api_name
        assert key is not None and target is not None
        wanted: dict[int, list[tuple[str, Any]]] = {}
        kept: list[Row] = []
        for row in rows:
            texts = row.values.get(name) or []
            try:
                wanted[row.line] = [(t, _key_value(self.actor, key, t)) for t in texts]
            except FieldValueError as exc:
                self.error(row.line, col.header, row.cells.get(name), exc.message)
                continue
            kept.append(row)
        values = {v for pairs in wanted.values() for _, v in pairs if v is not None}
        found = self._lookup(target, [key], [(v,) for v in values])
        out = []
        for row in kept:
            ids, problem = [], None
            for text, value in wanted[row.line]:
                matches = found.get((value,), [])
                if len(matches) != 1:
                    problem = _match_problem(target, key.api_name, text, len(matches))
                    break
                ids.append(matches[0])
            if problem:
                self.error(row.line, col.header, row.cells.get(name), problem)
                continue
            row.values[name] = ids
            out.append(row)
        return out

    def _lookup(
        self, catalog: Catalog, key: list[Field], wanted: list[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], list[int]]:
        """Ids of visible records of `catalog` by the tuple of their key column values."""
        with _read(self.actor) as conn:
            return access_keys.match_visible(conn, self.actor, catalog, key, wanted)

    def _match_keys(self, rows: list[Row]) -> list[Row]:
        keyed: list[tuple[Row, tuple[Any, ...]]] = []
        for row in rows:
            key = self._row_key(row)
            if key is not None:
                keyed.append((row, key))
        if self.plan.batch_upsert:
            return [row for row, _ in keyed]
        found = self._lookup(self.catalog, self.plan.key, [k for _, k in keyed])
        out = []
        for row, key in keyed:
            matches = found.get(key, [])
            if len(matches) > 1 or (not matches and self.opts.mode == "update"):
                names = "+".join(f.api_name for f in self.plan.key)
                text = " / ".join(row.cells.get(f.api_name, "") for f in self.plan.key)
                self.error(
                    row.line,
                    self._key_header(),
                    text,
                    _match_problem(self.catalog, names, text, len(matches)),
                )
                continue
            row.record_id = matches[0] if matches else None
            out.append(row)
        return out

    def _key_header(self) -> str:
        return "+".join(
            (c.header if (c := self.plan.column_of(f.api_name)) else f.api_name)
            for f in self.plan.key
        )

    def _row_key(self, row: Row) -> tuple[Any, ...] | None:
        """The row's key as stored values; empty or repeated keys are errors."""
        parts = []
        for f in self.plan.key:
            header = self.plan.column_of(f.api_name)
            cell = row.cells.get(f.api_name)
            try:
                value = f.ftype.to_db(row.values.get(f.api_name), f, self.actor)
            except FieldValueError as exc:
                self.error(row.line, header.header if header else f.api_name, cell, exc.message)
                return None
            if f.ftype.is_empty(value):
                self.error(
                    row.line, header.header if header else f.api_name, cell, "the key needs a value"
                )
                return None
            parts.append(value)
        key = tuple(parts)
        if key in self.seen_keys:
            self.error(
                row.line,
                self._key_header(),
                " / ".join(str(p) for p in parts),
                f"the same key is on line {self.seen_keys[key]}",
            )
            return None
        self.seen_keys[key] = row.line
        return key

    def _validate(self, rows: list[Row]) -> list[Row]:
        """Field-type validation of every row up front, so a chunk rarely fails in `batch`."""
        out = []
        for row in rows:
            creating = self.opts.mode == "create" or (
                self.opts.mode == "upsert" and not self.plan.batch_upsert and not row.record_id
            )
            try:
                write.prepare(self.actor, self.catalog, row.values, creating=creating)
            except RecordInvalid as exc:
                self.field_errors(row, _field_messages(exc), _row_message(exc))
                continue
            out.append(row)
        return out

    # writing ------------------------------------------------------------------------------
    def _request(self, rows: list[Row]) -> tuple[BatchRequest, dict[str, list[Row]]]:
        """The batch writing `rows`, and the rows of each of its lists (to name a culprit)."""
        if self.plan.batch_upsert:
            key = tuple(f.api_name for f in self.plan.key)
            upsert = Upsert(key, [CreateItem(r.values) for r in rows])
            return BatchRequest(upsert=upsert), {"upsert": rows}
        creates = [r for r in rows if not r.record_id]
        updates = [r for r in rows if r.record_id]
        request = BatchRequest(
            create=[CreateItem(r.values) for r in creates],
            update=[UpdateItem(r.record_id, r.values) for r in updates if r.record_id],
        )
        return request, {"create": creates, "update": updates}

    def _write(self, rows: list[Row]) -> None:
        """Write rows with `batch`; a row it rejects is noted and the rest retried."""
        pending = list(rows)
        while pending:
            request, lists = self._request(pending)
            try:
                out = records.batch(self.actor, self.catalog.id, request)
            except (ValidationFailed, NotFound, Rejected, Forbidden) as exc:
                culprit = _culprit(exc, lists)
                if isinstance(exc, Forbidden) and culprit is None:
                    raise  # not about a row (no right to create here): the import fails
                if culprit is None and len(pending) > 1 and self.opts.on_error == "skip":
                    for row in pending:  # the error names no row: find it one by one
                        self._write([row])
                    return
                culprit = culprit or pending[0]
                self.field_errors(culprit, _field_messages(exc), _row_message(exc))
                pending.remove(culprit)
                continue
            self.result.created += len(out.created)
            self.result.updated += len(out.updated)
            self.result.unchanged += len(out.unchanged)
            return


def _culprit(exc: DomainError, lists: dict[str, list[Row]]) -> Row | None:
    """The row a batch error names (by its list and index), if it names one."""
    first = exc.first
    if first is None or first.where is None or first.index is None:
        return None
    rows = lists.get(first.where, [])
    return rows[first.index] if 0 <= first.index < len(rows) else None


def _field_messages(exc: DomainError) -> dict[str, str]:
    """api_name -> reason, for the errors of the item the exception names."""
    if exc.errors:
        return {e.field: e.text() for e in exc.errors if e.field}
    return dict(getattr(exc, "fields", {}) or {})


def _row_message(exc: DomainError) -> str:
    """The error for a row, without the batch's list and index (the line says which)."""
    first = exc.first
    if isinstance(exc, Rejected) or first is None:
        return exc.message
    return f"{first.field}: {first.text()}" if first.field else first.text()


def _match_problem(catalog: Catalog, key: str, text: str, matches: int) -> str:
    if matches == 0:
        return f"no record of {catalog.api_name!r} with {key} = {text!r}"
    return f"{text!r} matches {matches} records of {catalog.api_name!r} by {key}"


def _key_value(actor: Actor, key: Field, text: str) -> Any:
    return key.ftype.to_db(key.ftype.from_text(text, key, actor), key, actor)


def _chunks(
    rows: Iterator[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read(actor: Actor) -> Any:
    return read_connection(actor.workspace.engine)


# ----- dry runs --------------------------------------------------------------------------
class _SharedConnection:
    """What `engine.connect()` gives in a dry run: the one open connection, left open."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execution_options(self, **_options: Any) -> _SharedConnection:
        """Options do not matter inside the dry run's transaction."""
        return self

    def __enter__(self) -> Connection:
        return self._conn

    def __exit__(self, *_exc: Any) -> None:
        return None


class _DryRunEngine:
    """Stands in for a workspace engine: every write is a savepoint inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    def connect(self) -> _SharedConnection:
        """The shared connection."""
        return _SharedConnection(self.conn)

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A savepoint: a failed batch rolls back alone, as its own transaction would."""
        with self.conn.begin_nested():
            yield self.conn


@contextlib.contextmanager
def rolled_back(actor: Actor) -> Iterator[Actor]:
    """An actor whose writes all happen in one transaction that is rolled back at the end.

    The dry run goes through the very same `batch` calls as a real import, so counts and
    errors (unique values, links, keys repeated across chunks) are exactly the real ones.
    The actor's `via` is "dry_run" so request-webhook hooks can tell.
    """
    with actor.workspace.engine.connect() as conn:
        tx = conn.begin()
        try:
            engine: Any = _DryRunEngine(conn)
            ws = dataclasses.replace(actor.workspace, engine=engine)
            yield dataclasses.replace(actor, workspace=ws, via="dry_run")
        finally:
            tx.rollback()
