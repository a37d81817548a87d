"""Carrying an import through its chunks: convert, resolve links, match keys, write.

Each distinct cell text of a column is converted (`from_text`, then the field type's
`to_db`) once per import, not once per row: 1C exports repeat stages, dates, link keys
and flags on most lines. Rows are validated once (`write.prepare_stored`) and handed to
`records.batches.run_prepared`, the same rights, history and outbox as every write.
A chunk's writes and its checkpoint share a transaction, committed a group of chunks at
a time (`transaction.ChunkGroup`, decision 0027).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from kartoteka.access import keys as access_keys
from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.duplicates import imports as duplicates
from kartoteka.duplicates.check import skipping
from kartoteka.errors import (
    DomainError,
    Forbidden,
    ItemError,
    NotFound,
    Rejected,
    ValidationFailed,
)
from kartoteka.fields.base import FieldValueError
from kartoteka.records import batches, write
from kartoteka.records.errors import RecordInvalid
from kartoteka.records.write import Prepared
from kartoteka.storage.engine import read_connection

from . import collector, columns, readers, transaction
from .convert import compile_column
from .missing import create_missing
from .plan import Column, Plan
from .results import (
    ImportResult,
    ImportStopped,
    Journal,
    RowError,
    chunks,
    coded,
    culprit_of,
    field_problems,
    match_problem,
    row_message,
)
from .rows import Row, Split
from .stamps import StampReader

#: Rows per chunk: one checkpoint, a few set-based statements per table.
CHUNK_ROWS = 2000
#: Chunks commit together, this many (or fewer when a group has been open this long).
GROUP_CHUNKS = 5
GROUP_SECONDS = 2.0
MAX_ERROR_SAMPLE = 100
#: Distinct link key texts remembered per column (a bound on memory).
MEMO_LIMIT = columns.MEMO_LIMIT
_MISSING = object()


Progress = Callable[[ImportResult], None]


class Runner:
    """Carries one import through its chunks."""

    def __init__(
        self,
        actor: Actor,
        plan: Plan,
        result: ImportResult,
        progress: Progress | None = None,
        journal: Journal | None = None,
        after_line: int = 0,
        stop_requested: Callable[[], bool] | None = None,
    ) -> None:
        self.actor = actor
        #: Asked after a chunk that leaves its group open (`progress` is told, and may
        #: stop the import, after each commit).
        self.stop_requested = stop_requested
        self.plan = plan
        self.catalog = plan.catalog
        self.opts = plan.options
        self.result = result
        self.progress = progress
        self.journal = journal
        self.after_line = after_line
        #: Every key so far -> its line. A million rows keep a million keys: a one-field
        #: key is kept as its value, not a one-value tuple (~60 bytes a row less), a text
        #: as its UTF-8 bytes (a Cyrillic str takes two bytes a letter: ~37 MB less).
        self.seen_keys: dict[Any, int] = {}
        self.rules = access.field_rules(actor, plan.catalog)
        self.cell_of = {c.field.api_name: c.index for c in plan.columns}
        self.verdicts = write.stored_verdicts(plan.catalog, self.rules)
        mapped = {c.field.id for c in plan.columns}
        self.clean = all(self.verdicts[fid] == "ok" for fid in mapped)
        self.unmapped_special = any(
            (f.required or "default" in f.options) and f.id not in mapped
            for f in plan.catalog.fields
        )
        self.link_fids = {f.id for f in plan.catalog.fields if f.is_link}
        self.col_name = {f.id: f.column for f in plan.catalog.fields if f.column}
        self.stamps = StampReader(actor, plan.stamps, self.opts.date_format, self._stamp_error)
        self.key_memo: dict[int, dict[str, Any]] = {}
        self.pending: list[RowError] = []
        self.dry = self.opts.dry_run
        fmt = self.opts.date_format
        self.date_format = readers.pattern_format(fmt) if fmt else None
        self.convert_cell = {
            c.index: compile_column(c, self.opts, actor, self.date_format) for c in plan.columns
        }
        self.memos = columns.memos(plan.columns, self.convert_cell)
        self.batch_upsert = plan.batch_upsert  # (asked for every row)

    def run(self) -> None:
        """Every chunk after `after_line`, each written and checkpointed; committed a
        group of chunks at a time (`transaction.ChunkGroup`)."""
        with collector.spaced_out():
            if self.dry:
                self._run_dry()
            else:
                self._run()

    def _stages(self, chunk: list[tuple[int, list[str]]]) -> list[Row]:
        rows = self._convert(chunk)
        rows = self.stamps.convert(rows)
        rows = self._resolve_links(rows)
        if self.opts.mode != "create":
            rows = self._match_keys(rows)
        return self._duplicates(self._validate(rows))

    def _run_dry(self) -> None:
        """A dry run: the same stages inside the one transaction it rolls back."""
        for chunk in chunks(self.plan.source.rows(), CHUNK_ROWS, self.after_line):
            self._chunk(chunk, None)
            if self.progress:
                self.progress(self.result)

    def _chunk(self, chunk: list[tuple[int, list[str]]], conn: Connection | None) -> None:
        """One chunk through the stages, written, and its checkpoint on `conn` (None: a
        dry run's, kept in memory)."""
        rows = self._stages(chunk)
        self.result.processed += len(chunk)
        if rows:
            self._write(self.actor, rows)
        self._journal(conn, chunk[-1][0])

    def _run(self) -> None:
        """Chunks written in groups: while a group is open every stage reads and writes
        inside its transaction (as a dry run does in its one), so a chunk sees the rows
        of the chunks before it, committed or not. Progress is told after each commit:
        a status read must never report rows a rollback or a kill could take back."""
        outer = self.actor
        group = transaction.ChunkGroup(outer, GROUP_CHUNKS * CHUNK_ROWS, GROUP_SECONDS)
        committed = self._counts()

        def commit() -> None:
            nonlocal committed
            if group.commit():
                self.actor = outer
                committed = self._counts()
                if self.progress:
                    self.progress(self.result)

        try:
            for chunk in chunks(self.plan.source.rows(), CHUNK_ROWS, self.after_line):
                self.actor, conn = group.begin()
                self._chunk(chunk, conn)
                if group.full(len(chunk)) or (self.stop_requested and self.stop_requested()):
                    commit()  # (asked to stop: after this chunk, as without groups)
            commit()
        except ImportStopped:
            # The chunks before the stopping row's are whole (and checkpointed): they
            # commit, as they would have one by one; the stopping chunk wrote nothing.
            group.commit()
            raise
        except BaseException as exc:
            group.rollback(exc)
            self._restore(committed)
            raise
        finally:
            self.actor = outer

    def _counts(self) -> tuple[int, int, int, int, int, list[dict[str, Any]]]:
        r = self.result
        return r.processed, r.created, r.updated, r.unchanged, r.errors, list(r.error_sample)

    def _restore(self, counts: tuple[int, int, int, int, int, list[dict[str, Any]]]) -> None:
        """The counts of the last commit (a rolled-back group's rows are not imported)."""
        r = self.result
        r.processed, r.created, r.updated, r.unchanged, r.errors, r.error_sample = counts

    def _journal(self, conn: Connection | None, last_line: int) -> None:
        if self.journal is not None:
            # Stages find problems column by column; the error file reads line by line.
            self.pending.sort(key=lambda e: e.line or 0)
            self.journal.chunk_done(conn, self.result, last_line, self.pending)
        self.pending = []

    # errors -------------------------------------------------------------------------------
    def error(
        self,
        row: Row | None,
        column: str | None,
        value: Any,
        message: str,
        problem: ItemError | None = None,
    ) -> None:
        """Note one problem (`problem`: its code, for the reader's language); with
        on_error=stop it ends the import."""
        line = row.line if row else None
        entry = RowError(line, column, value, message, row.cells if row else None, problem)
        self.result.errors += 1
        if len(self.result.error_sample) < MAX_ERROR_SAMPLE:
            self.result.error_sample.append(entry.sample())
        self.pending.append(entry)
        if self.opts.on_error == "stop":
            raise ImportStopped(entry)

    def _stamp_error(self, row: Row, column: str, value: str, message: str) -> None:
        self.error(row, column, value, message)

    def field_errors(self, row: Row, exc: DomainError) -> None:
        """The errors of `exc` keyed by api_name, reported with the source column and
        cell text (the whole row's reason when it names no field)."""
        fields = field_problems(exc)
        if not fields:
            self.error(row, None, None, row_message(exc))
        for api_name, problem in fields.items():
            col = self.plan.column_of(api_name)
            header = col.header if col else api_name
            self.error(row, header, row.text(api_name), problem.text(), problem)

    # converting ----------------------------------------------------------------------------
    def _convert(self, chunk: list[tuple[int, list[str]]]) -> list[Row]:
        """The chunk's rows with their stored values (a row with a bad cell is reported,
        each of its bad cells, and left out)."""
        done = columns.convert_chunk(self.plan.columns, self.memos, [c for _, c in chunk])
        for pos, col, text, problem in done.problems:
            line, cells = chunk[pos]
            row = Row(line, cells, self.cell_of)
            if isinstance(problem, columns.Required):
                self.error(row, col.header, text, problem.problem.text(), problem.problem)
            else:
                self.error(row, col.header, text, problem.message, coded(problem))
        cell_of = self.cell_of
        return [
            Row(line, cells, cell_of, values)
            for (line, cells), values in zip(chunk, done.values, strict=True)
            if values is not None
        ]

    # links ---------------------------------------------------------------------------------
    def _resolve_links(self, rows: list[Row]) -> list[Row]:
        for col in self.plan.columns:
            if col.link_key is not None and col.target is not None:
                rows = self._resolve_link_column(col, rows)
        return rows

    def _key_value(self, col: Column, text: str) -> Any:
        key = col.link_key
        assert key is not None
        memo = self.key_memo.setdefault(col.index, {})
        value = memo.get(text, _MISSING)
        if value is _MISSING:
            try:
                value = key.ftype.to_db(key.ftype.from_text(text, key, self.actor), key, self.actor)
            except FieldValueError as exc:
                value = exc
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[text] = value
        if isinstance(value, FieldValueError):
            raise value
        return value

    def _resolve_link_column(self, col: Column, rows: list[Row]) -> list[Row]:
        """Each row's key texts to the linked ids; each distinct list of texts of the
        chunk (a client's INN repeats on its deals) is resolved once."""
        key, target, f = col.link_key, col.target, col.field
        assert key is not None and target is not None
        fid = f.id
        texts_of = [tuple(row.values.get(fid) or ()) for row in rows]
        wanted: dict[tuple[str, ...], list[tuple[str, Any]] | FieldValueError] = {}
        for texts in dict.fromkeys(texts_of):
            try:
                wanted[texts] = [(t, self._key_value(col, t)) for t in texts]
            except FieldValueError as exc:
                wanted[texts] = exc
        values = {v for pairs in wanted.values() if isinstance(pairs, list)
                  for _, v in pairs if v is not None}  # fmt: skip
        found = self._lookup(target, [key], [(v,) for v in values])
        if f.api_name in self.opts.create_missing:
            found.update(self._create_missing(col, values - {k[0] for k in found}))
        linked = {
            texts: self._linked(col, pairs, found) if isinstance(pairs, list) else pairs
            for texts, pairs in wanted.items()
        }
        out = []
        for row, texts in zip(rows, texts_of, strict=True):
            value = linked[texts]
            if isinstance(value, str | FieldValueError):
                message = value if isinstance(value, str) else value.message
                problem = None if isinstance(value, str) else coded(value)
                self.error(row, col.header, row.text(f.api_name), message, problem)
                continue
            row.values[fid] = list(value) if isinstance(value, list) else value
            out.append(row)
        return out

    def _linked(
        self, col: Column, pairs: list[tuple[str, Any]], found: dict[tuple[Any, ...], list[int]]
    ) -> Any:
        """The stored link value of these key texts, or the problem (a message, or the
        link type's error)."""
        key, target, f = col.link_key, col.target, col.field
        assert key is not None and target is not None
        ids = []
        for text, value in pairs:
            matches = found.get((value,), [])
            if len(matches) != 1:
                return match_problem(target, key.api_name, text, len(matches))
            ids.append(matches[0])
        try:
            return f.ftype.to_db(ids, f, self.actor)
        except FieldValueError as exc:
            return exc

    def _create_missing(self, col: Column, values: set[Any]) -> dict[tuple[Any, ...], list[int]]:
        return create_missing(self.actor, col, values)

    def _lookup(
        self, catalog: Catalog, key: list[Field], wanted: list[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], list[int]]:
        """Ids of visible records of `catalog` by the tuple of their key column values."""
        with read_connection(self.actor.workspace.engine) as conn:
            return access_keys.match_visible(conn, self.actor, catalog, key, wanted)

    # keys ----------------------------------------------------------------------------------
    def _match_keys(self, rows: list[Row]) -> list[Row]:
        keyed: list[tuple[Row, tuple[Any, ...]]] = []
        for row in rows:
            key = self._row_key(row)
            if key is not None:
                keyed.append((row, key))
        if self.batch_upsert:
            return [row for row, _ in keyed]
        found = self._lookup(self.catalog, self.plan.key, [k for _, k in keyed])
        out = []
        for row, key in keyed:
            matches = found.get(key, [])
            if len(matches) > 1 or (not matches and self.opts.mode == "update"):
                names = "+".join(f.api_name for f in self.plan.key)
                text = " / ".join((row.text(f.api_name) or "") for f in self.plan.key)
                problem = match_problem(self.catalog, names, text, len(matches))
                self.error(row, self._key_header(), text, problem)
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
            value = row.values.get(f.id)
            if f.ftype.is_empty(value):
                col = self.plan.column_of(f.api_name)
                header = col.header if col else f.api_name
                self.error(row, header, row.text(f.api_name), "the key needs a value")
                return None
            parts.append(value)
        key = tuple(parts)
        seen = parts[0] if len(parts) == 1 else key
        if type(seen) is str:
            seen = seen.encode("utf-8", "surrogatepass")
        if seen in self.seen_keys:
            text = " / ".join(str(p) for p in parts)
            where = f"the same key is on line {self.seen_keys[seen]}"
            self.error(row, self._key_header(), text, where)
            return None
        self.seen_keys[seen] = row.line
        return key

    def _validate(self, rows: list[Row]) -> list[Row]:
        """Rights, defaults and required fields of every row up front (values are converted).

        When every mapped field may be written and no unmapped field is required or has a
        default, `_convert` has already checked all there is (required cells per cell), and
        the rows are taken as they are; otherwise each goes through `prepare_stored`."""
        out = []
        for row in rows:
            creating = self.opts.mode == "create" or (
                self.opts.mode == "upsert" and not self.batch_upsert and not row.record_id
            )
            if self.clean and not (creating and self.unmapped_special):
                out.append(row)
                continue
            try:
                row.prepared = write.prepare_stored(
                    self.catalog,
                    row.values,
                    creating=creating,
                    rules=self.rules,
                    actor=self.actor,
                    verdicts=self.verdicts,
                )
            except RecordInvalid as exc:
                self.field_errors(row, exc)
                continue
            out.append(row)
        return out

    def _duplicates(self, rows: list[Row]) -> list[Row]:
        """Rows creating a duplicate are refused, skipped or turn into updates (`duplicates`)."""
        new = [r for r in rows if r.record_id is None and not self.batch_upsert]
        names = [f"line {r.line}" for r in new]
        how = self.opts.duplicates
        verdicts = duplicates.sort_creates(
            self.actor, self.catalog, [r.values for r in new], how, names
        )
        dropped: set[int] = set()
        for index, verdict in verdicts.items():
            row = new[index]
            if verdict.action == "merge":
                row.record_id = verdict.record_id
                continue
            dropped.add(row.line)
            if verdict.action == "skip":
                self.result.unchanged += 1
            else:
                self.error(row, None, None, verdict.message, verdict.problem)
        return [r for r in rows if r.line not in dropped]

    # writing ------------------------------------------------------------------------------
    def _items(self, rows: list[Row]) -> tuple[dict[str, list[Prepared]], dict[str, list[Row]]]:
        """Fresh items for a batch by list (a retry must not see a failed try's changes)."""
        items: dict[str, list[Prepared]] = {"create": [], "update": [], "upsert": []}
        lists: dict[str, list[Row]] = {"create": [], "update": [], "upsert": []}
        split = Split(rows[0].values if rows else {}, self.link_fids, self.col_name)
        for row in rows:
            where = "upsert" if self.batch_upsert else ("update" if row.record_id else "create")
            p = row.prepared
            if p is None:  # checked by `_convert` (see `_validate`)
                columns, links = split(row.values)
                item = Prepared(where, len(items[where]), row.record_id, columns, links,
                                dict(row.values))  # fmt: skip
            else:
                item = Prepared(
                    where, len(items[where]), row.record_id, dict(p.columns), dict(p.links),
                    dict(p.given), p.version, p.upserted,
                )  # fmt: skip
            if self.plan.stamps:
                item.stamps = row.stamps
            items[where].append(item)
            lists[where].append(row)
        return items, lists

    def _write(self, actor: Actor, rows: list[Row]) -> None:
        """Write rows; a row the write path refuses is noted and the rest retried."""
        pending = list(rows)
        while pending:
            items, lists = self._items(pending)
            key = tuple(f.api_name for f in self.plan.key) if self.batch_upsert else None
            try:
                with skipping():  # judged by `_duplicates` as the import's option says
                    out = batches.run_prepared(
                        actor, self.catalog, items["create"], items["update"], None,
                        items["upsert"], key,
                    )  # fmt: skip
            except (ValidationFailed, NotFound, Rejected, Forbidden) as exc:
                culprit = culprit_of(exc, lists)
                if isinstance(exc, Forbidden) and culprit is None:
                    raise  # not about a row (no right to create here): the import fails
                if culprit is None and len(pending) > 1 and self.opts.on_error == "skip":
                    for row in pending:  # the error names no row: find it one by one
                        self._write(actor, [row])
                    return
                culprit = culprit or pending[0]
                self.field_errors(culprit, exc)
                pending.remove(culprit)
                continue
            self.result.created += len(out.created)
            self.result.updated += len(out.updated)
            self.result.unchanged += len(out.unchanged)
            return
