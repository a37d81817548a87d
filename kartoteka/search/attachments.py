"""The text of attached PDF, DOCX and XLSX files, extracted by the worker for the index.

A file attached to a record gets its text extracted after the write (never in the
request), by the worker's pass (`extract_pending`): pypdf for PDF, the document's XML
read from its zip for DOCX, openpyxl (read-only) for XLSX. The result (or why there is
none) is kept in `search_files`, one row per file, and the records holding the files
are queued for the index (`search_pending`), so a record's attachments are searchable
a moment after it was saved, with the rights of the file field.

Hostile files cost bounded work and never stop the worker: files over `MAX_BYTES` are
skipped; zips whose members inflate past `MAX_UNZIPPED` (zip bombs) are refused before
anything is inflated; at most `MAX_PAGES` pages are read and `MAX_CHARS` characters
kept; encrypted PDFs without an empty password are skipped; a file whose extraction
takes longer than `MAX_SECONDS` is given up (it runs in a child process, which is
stopped); anything a library raises marks the file "failed" with the reason, and the
pass goes on. The reasons stay English (english-ok): they are an operator's diagnostics,
kept in `search_files.reason` and the worker's log, and no page or API answer shows them.

The pass never scans every file: a write that attaches files queues them (a "queued"
row in `search_files`, in the writing transaction), and beyond the queue the pass looks
only at files above the highest id it has a row for (files attached before the table
existed, or by a path that bypasses the write hook).
"""

from __future__ import annotations

import html
import io
import logging
import multiprocessing
import re
import time
import warnings
import zipfile
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.files.storage import store_for
from kartoteka.storage import fulltext, schema

log = logging.getLogger("kartoteka.search.attachments")

#: Files larger than this are not read (bytes).
MAX_BYTES = 20 * 1024 * 1024
#: At most this much text is kept per file (characters).
MAX_CHARS = 200_000
#: A zip (DOCX, XLSX) whose members would inflate past this is refused (bytes).
MAX_UNZIPPED = 100 * 1024 * 1024
#: Pages of a PDF read at most.
MAX_PAGES = 300
#: Files extracted per transaction of the worker's pass.
BATCH = 20
#: A file whose text takes longer than this to extract is given up (seconds, wall).
MAX_SECONDS = 30.0
#: The state of a file attached by a write and not looked at yet.
QUEUED = "queued"

_metadata = sa.MetaData()
#: One row per attached file looked at: its text, or why it has none.
texts = sa.Table(
    "search_files",
    _metadata,
    sa.Column("file_id", sa.Integer, primary_key=True),
    # done | skipped (not a kind we read, too large, encrypted) | failed (broken file,
    # too slow) | queued (attached by a write, not looked at yet)
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("reason", sa.String(200)),
    sa.Column("text", sa.Text),
)
_queued_index = sa.Index("ix_search_files_state", texts.c.state)

_WORD_RUN = re.compile(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>|</w:p>|<w:tab/>|<w:br/>")


class Unreadable(Exception):
    """A file we do not or cannot read; the message says why (kept as the reason)."""

    def __init__(self, reason: str, state: str = "skipped") -> None:
        super().__init__(reason)
        self.state = state


def kind_of(data: bytes, name: str) -> str | None:
    """ "pdf", "docx", "xlsx" or None, from the content (the name only breaks a zip's tie)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def _cap(parts: list[str]) -> str:
    text = "\n".join(p for p in parts if p)
    return text[:MAX_CHARS]


def _check_zip(zf: zipfile.ZipFile) -> None:
    total = sum(info.file_size for info in zf.infolist())
    if total > MAX_UNZIPPED:
        raise Unreadable(f"the archive would inflate to {total} bytes", "failed")


def _pdf(data: bytes) -> str:
    # pypdf is imported only when a PDF is read (the worker, not every process start).
    from pypdf import PdfReader  # lazy: a heavy library used by the worker alone

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:  # an unsupported algorithm is a skip, not a failure
                opened = False
            if not opened:
                raise Unreadable("the PDF is encrypted")
        parts: list[str] = []
        size = 0
        for number, page in enumerate(reader.pages):
            if number >= MAX_PAGES or size >= MAX_CHARS:
                break
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
    return _cap(parts)


def _docx(data: bytes) -> str:
    # The document's XML is scanned for its text runs, never parsed with entities: an
    # entity bomb has nothing to expand.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        _check_zip(zf)
        wanted = [
            n
            for n in zf.namelist()
            if n == "word/document.xml" or re.fullmatch(r"word/(header|footer)\d*\.xml", n)
        ]
        parts: list[str] = []
        size = 0
        for name in wanted:
            with zf.open(name) as member:
                xml = member.read(MAX_UNZIPPED + 1).decode("utf-8", "replace")
            pieces: list[str] = []
            for m in _WORD_RUN.finditer(xml):
                pieces.append(html.unescape(m.group(1)) if m.group(1) is not None else "\n")
            text = "".join(pieces)
            parts.append(text)
            size += len(text)
            if size >= MAX_CHARS:
                break
    return _cap(parts)


def _xlsx(data: bytes) -> str:
    # openpyxl is imported only when a workbook is read.
    from openpyxl import load_workbook  # lazy: a heavy library used by the worker alone

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        _check_zip(zf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            parts: list[str] = []
            size = 0
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    cells = [str(v) for v in row if v is not None and str(v).strip()]
                    if cells:
                        line = " ".join(cells)
                        parts.append(line)
                        size += len(line)
                    if size >= MAX_CHARS:
                        return _cap(parts)
            return _cap(parts)
        finally:
            book.close()


READERS = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx}


def extract(data: bytes, name: str = "") -> str:
    """The text of a PDF, DOCX or XLSX file (Unreadable says why there is none)."""
    if len(data) > MAX_BYTES:
        raise Unreadable(f"larger than {MAX_BYTES} bytes")
    kind = kind_of(data, name)
    if kind is None:
        raise Unreadable("not a PDF, DOCX or XLSX file")
    try:
        return READERS[kind](data)
    except Unreadable:
        raise
    except Exception as exc:  # a broken file: whatever the library raised, the pass goes on
        raise Unreadable(f"{kind}: {type(exc).__name__}: {exc}"[:200], "failed") from None


def ensure_table(conn: Connection) -> None:
    """Create `search_files` (and its index on the state) if this workspace has none yet."""
    texts.create(conn, checkfirst=True)
    _queued_index.create(conn, checkfirst=True)


def queue_attached(conn: Connection, catalog_id: int, record_ids: list[int]) -> None:
    """Queue the files these records hold that were never looked at (the write hook).

    Without `search_files` nothing is queued: the worker's first pass creates it and
    looks at every attached file.
    """
    if not record_ids or not sa.inspect(conn).has_table(texts.name):
        return
    f = schema.files
    for start in range(0, len(record_ids), 900):
        new = sa.select(f.c.id, sa.literal(QUEUED)).where(
            f.c.catalog_id == catalog_id,
            f.c.record_id.in_(record_ids[start : start + 900]),
            ~sa.exists().where(texts.c.file_id == f.c.id),
        )
        conn.execute(sa.insert(texts).from_select(["file_id", "state"], new))


def texts_of(conn: Connection, file_ids: list[int]) -> dict[int, str]:
    """file id -> its extracted text (files with none are left out)."""
    if not file_ids or not sa.inspect(conn).has_table("search_files"):
        return {}
    ordered = sorted(set(file_ids))
    out: dict[int, str] = {}
    for start in range(0, len(ordered), 900):
        q = sa.select(texts.c.file_id, texts.c.text).where(
            texts.c.file_id.in_(ordered[start : start + 900]), texts.c.state == "done"
        )
        out.update({int(r[0]): r[1] for r in conn.execute(q) if r[1]})
    return out


def _outcome(data: bytes, name: str) -> tuple[str, str | None, str | None]:
    """(state, reason, text) of one file's extraction (run in the child process)."""
    try:
        return "done", None, extract(data, name)
    except Unreadable as exc:
        return exc.state, str(exc), None


def _ready() -> bool:
    return True


class Extractor:
    """Extracts files in a child process, so a file that takes too long can be stopped.

    One child serves a whole pass; when a file overruns `MAX_SECONDS` the child is
    killed and the next file starts a new one. `forkserver` forks children from a clean
    server process, never from the worker's threads.
    """

    def __init__(self) -> None:
        self._pool: Any = None

    def _start(self) -> Any:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        pool = context.Pool(1)
        # The child imports this module before any file's clock starts.
        pool.apply(_ready)
        return pool

    def run(self, data: bytes, name: str, seconds: float) -> tuple[str, str | None, str | None]:
        """(state, reason, text) of a file, "failed" when it took longer than `seconds`."""
        if self._pool is None:
            self._pool = self._start()
        pending = self._pool.apply_async(_outcome, (data, name))
        try:
            result: tuple[str, str | None, str | None] = pending.get(seconds)
        except multiprocessing.TimeoutError:
            self.close()
            return "failed", f"extraction took longer than {seconds:g} s", None
        except Exception as exc:  # the child died (out of memory): the pass goes on
            self.close()
            return "failed", f"{type(exc).__name__}: {exc}"[:200], None
        return result

    def close(self) -> None:
        """Stop the child process (if any)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


_FILE_COLUMNS = ("id", "name", "size", "storage_key", "catalog_id", "record_id")


def _next_files(conn: Connection) -> list[Any]:
    """Up to BATCH files to look at: queued ones first, then files above the highest id
    looked at. Queued files since detached or deleted leave the queue (a later
    attachment queues them again)."""
    f = schema.files
    columns = [f.c[c] for c in _FILE_COLUMNS]
    queued = conn.execute(
        sa.select(texts.c.file_id, *columns)
        .select_from(texts.outerjoin(f, f.c.id == texts.c.file_id))
        .where(texts.c.state == QUEUED)
        .order_by(texts.c.file_id)
        .limit(BATCH)
    ).all()
    gone = [r.file_id for r in queued if r.record_id is None]
    if gone:
        conn.execute(sa.delete(texts).where(texts.c.file_id.in_(gone), texts.c.state == QUEUED))
    rows = [r for r in queued if r.record_id is not None]
    if len(rows) < BATCH:
        mark = conn.execute(sa.select(sa.func.max(texts.c.file_id))).scalar() or 0
        rows += conn.execute(
            sa.select(*columns)
            .where(
                f.c.id > mark,
                f.c.record_id.is_not(None),
                ~sa.exists().where(texts.c.file_id == f.c.id),
            )
            .order_by(f.c.id)
            .limit(BATCH - len(rows))
        ).all()
    return rows


def _look_at(store: Any, extractor: Extractor, row: Any) -> dict[str, Any]:
    """The `search_files` row of one file: its text, or why it has none."""
    state, reason, text = "done", None, None
    try:
        if row.size > MAX_BYTES:
            raise Unreadable(f"larger than {MAX_BYTES} bytes")
        with store.open(row.storage_key) as handle:
            data = handle.read(MAX_BYTES + 1)
        state, reason, text = extractor.run(data, row.name, MAX_SECONDS)
    except Unreadable as exc:
        state, reason = exc.state, str(exc)
    except OSError as exc:  # the bytes are gone (restored database, lost disk)
        state, reason = "failed", f"cannot read the file: {exc}"[:200]
    if state == "failed":
        log.info("no text from file %s (%s): %s", row.id, row.name, reason)
    return {"file_id": row.id, "state": state, "reason": reason, "text": text}


def _save(conn: Connection, rows: list[Any], results: list[dict[str, Any]]) -> None:
    """Store what the pass found and queue the records holding text for the index."""
    ids = [r["file_id"] for r in results]
    # A queued row (or one a concurrent write queued meanwhile) is replaced.
    conn.execute(sa.delete(texts).where(texts.c.file_id.in_(ids)))
    conn.execute(sa.insert(texts), results)
    waiting: dict[int, list[int]] = {}
    for row, result in zip(rows, results, strict=False):
        if result["state"] == "done" and result["text"]:
            waiting.setdefault(row.catalog_id, []).append(row.record_id)
    for catalog_id, record_ids in waiting.items():
        if fulltext.read_signature(conn, catalog_id) is not None:
            fulltext.queue_pending(conn, catalog_id, sorted(set(record_ids)))


def extract_pending(workspace: Workspace, budget_seconds: float | None = None) -> int:
    """Extract the text of attached files not looked at yet; returns how many were.

    The bytes are read and parsed outside any transaction (in a child process, stopped
    after `MAX_SECONDS` per file); each batch's results and the queueing of their
    records for the index are one transaction.
    """
    started = time.monotonic()
    store = store_for(workspace.files_dir)
    done = 0
    with workspace.engine.begin() as conn:
        ensure_table(conn)
    extractor = Extractor()

    def spent() -> bool:
        return budget_seconds is not None and time.monotonic() - started >= budget_seconds

    try:
        while not spent():
            with workspace.engine.begin() as conn:
                rows = _next_files(conn)
            if not rows:
                break
            results = []
            for row in rows:
                results.append(_look_at(store, extractor, row))
                if spent():
                    break
            with workspace.engine.begin() as conn:
                _save(conn, rows[: len(results)], results)
            done += len(results)
    finally:
        extractor.close()
    return done
