"""Reading ahead: a second process reads the file and converts its cells while this one writes.

A quarter to a third of a big import's CPU time goes to work that needs neither the
database nor the records written so far: parsing the CSV or XLSX rows, counting them
first, and converting each cell's text (dates, amounts, phones, choices). Python runs
one thread at a time, so on one process that work and the writing take turns. On a
machine with a second core, a child process does it for the next chunk while the
importing process validates and writes the current one:

- the child counts the rows (the job's total), then sends each chunk as its lines, its
  cells and its converted columns (`columns.convert_columns`), one chunk ahead: the pipe
  blocks the child until the importer takes the chunk, so memory stays one chunk ahead;
- the importer takes the chunks in order and goes on exactly as with its own reading
  (`Runner`): links, keys, rights, duplicates and the one write path stay here, so
  the result, the errors (line and column) and the error file are the same;
- the child is a fresh interpreter (`python -m kartoteka.importer.ahead`: a server process
  has threads, and a forked copy could inherit a lock another thread held); it ignores
  Ctrl-C (the importer stops cleanly after its chunk and ends the child), and ends by
  itself when the importer dies (kill -9): its next send finds the pipe closed;
- when the child stops early — a file problem, a crash, killed — the importer reads the
  rest itself from the line after the last chunk it has: a file problem is then raised
  here with its usual message, and nothing is read twice or skipped.

Only imports worth a process start (~0.4 s) read ahead: a file of at least
`FROM_BYTES` (CSV; `FROM_XLSX_BYTES` for XLSX, whose rows cost more to read) on a
machine with a core to spare (nearly a whole core idle over a tenth of a second: on a
busy machine the two processes would only take turns), whose columns all
convert from the text alone
(`FieldType.converts_text_alone`: not user or file fields, which look up the workspace).
`KARTOTEKA_IMPORT_READ_AHEAD=0` turns it off.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kartoteka.errors import DomainError

from . import columns, readers
from .convert import compile_column
from .mapped import Column
from .options import ImportOptions
from .readers import chunks

if TYPE_CHECKING:
    from kartoteka.context import Actor

    from .plan import Plan

log = logging.getLogger(__name__)

#: CSV files smaller than this are read by the importing process itself (~20,000 rows of
#: a 12-column 1C export: below that the process start costs about what it saves).
FROM_BYTES = 4 * 1024 * 1024
#: The same for XLSX files (compressed; a row costs several times a CSV row to read).
FROM_XLSX_BYTES = 512 * 1024
#: Seconds the importer waits for the child to end after closing the pipe.
JOIN_SECONDS = 5.0

Chunk = list[tuple[int, list[str]]]
#: A chunk as the importer's own reading gives it: (line, cells) rows and their values.
Converted = tuple[Chunk, columns.ChunkColumns]


@dataclass(frozen=True)
class CellReader:
    """What converting a cell may ask of the actor (`converts_text_alone` types): the
    workspace's timezone and today's date in it. Picklable, unlike an Actor."""

    timezone: ZoneInfo
    fold_yo: bool = True

    def today(self) -> date:
        return datetime.now(self.timezone).date()


@dataclass
class Task:
    """What the child needs: the file, the columns (fields without their catalogs), the
    options, the reader and where to start."""

    source: readers.Source
    columns: list[Column]
    options: ImportOptions
    reader: CellReader
    after_line: int
    chunk_rows: int
    count_limit: int


def wanted(actor: Actor, plan: Plan) -> bool:
    """Is this import worth reading ahead in a second process (see the module's doc)?"""
    if not actor.workspace.settings.import_read_ahead or (os.cpu_count() or 1) < 2:
        return False
    fields = [c.field for c in plan.columns] + [c.link_key for c in plan.columns if c.link_key]
    if not all(f.ftype.converts_text_alone for f in fields):
        return False
    try:
        size = plan.source.path.stat().st_size
    except OSError:
        return False
    if size < (FROM_XLSX_BYTES if plan.source.kind == "xlsx" else FROM_BYTES):
        return False
    # Without a core to spare the two processes would only take turns.
    return _spare_cores() >= SPARE_CORES


#: Idle cores needed to read ahead (nearly one whole core).
SPARE_CORES = 0.8
#: How long the machine's idle time is sampled before deciding.
SAMPLE_SECONDS = 0.1


def _spare_cores() -> float:
    """Cores idle now: the idle share of `/proc/stat` over `SAMPLE_SECONDS`; where there
    is no such file, the cores the one-minute load average leaves."""
    cores = os.cpu_count() or 1
    try:
        before = _cpu_times()
        time.sleep(SAMPLE_SECONDS)
        after = _cpu_times()
    except (OSError, ValueError, IndexError):
        try:
            return max(0.0, cores - os.getloadavg()[0])
        except (AttributeError, OSError):
            return float(cores)
    total = sum(after) - sum(before)
    idle = (after[3] + after[4]) - (before[3] + before[4])  # idle and iowait
    return cores * idle / total if total > 0 else float(cores)


def _cpu_times() -> list[int]:
    """The machine's CPU time so far by state (user, nice, system, idle, iowait, irq,
    softirq, steal), from the first line of `/proc/stat`."""
    with open("/proc/stat", encoding="ascii") as fh:
        return [int(x) for x in fh.readline().split()[1:9]]


def start(
    actor: Actor, plan: Plan, after_line: int, chunk_rows: int, count_limit: int
) -> ReadAhead | None:
    """A child reading `plan`'s file from `after_line`, or None when not worth it or
    the process cannot start (the importer then reads the file itself)."""
    if not wanted(actor, plan):
        return None
    task = Task(
        plan.source,
        [_portable(c) for c in plan.columns],
        plan.options,
        CellReader(actor.timezone, actor.fold_yo),
        after_line,
        chunk_rows,
        count_limit,
    )
    try:
        return ReadAhead(task, plan.columns)
    except OSError as exc:  # no process to be had: read here
        log.warning("import read-ahead not started: %s", exc)
        return None


def _portable(col: Column) -> Column:
    """The column with copies of its fields that pickle small (no memo, no catalog), each
    carrying its type (the child has no plugins installed, so no registry to look in)."""

    def plain(f: Any) -> Any:
        return None if f is None else dataclasses.replace(f, memo={}, type_impl=f.ftype)

    return Column(col.index, col.header, plain(col.field), plain(col.link_key), None)


class ReadAhead:
    """The importer's end of a reading child."""

    def __init__(self, task: Task, plan_columns: list[Column]) -> None:
        self.columns = plan_columns  # the importer's own (problems name them)
        self.last_line = task.after_line
        task_in, task_out = os.pipe()  # the task, to the child
        data_in, data_out = os.pipe()  # the chunks, from the child
        try:
            # A fresh interpreter running this module, not multiprocessing's `spawn`: that
            # imports the parent's `__main__` again in the child, and a script importing
            # without a main guard would start its whole self over.
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(task_in), str(data_out)],
                pass_fds=(task_in, data_out),
                stdin=subprocess.DEVNULL,
                env=_child_env(),
            )
        except OSError:
            for fd in (task_in, task_out, data_in, data_out):
                os.close(fd)
            raise
        os.close(task_in)
        os.close(data_out)  # the child's end: when it exits, `recv` here sees the end
        with Connection(task_out, readable=False) as to_child:
            to_child.send(task)
        self.conn: Connection | None = Connection(data_in, writable=False)
        self.finished = False  # the child sent its last chunk (and is ending by itself)

    def count(self, local: Callable[[], int]) -> int:
        """The file's rows as the child counted them (`local()` if it stopped first)."""
        message = self._receive()
        if message is None or message[0] != "count":
            return local()
        return int(message[1])

    def chunks(self, local: Callable[[int], Iterator[Converted]]) -> Iterator[Converted]:
        """Each chunk in the file's order, converted; from the child while it runs, then
        from `local(after_line)` if it stopped before the end."""
        while True:
            message = self._receive()
            if message is None:
                yield from local(self.last_line)
                return
            if message[0] == "end":
                self.finished = True
                return
            _, rows, packed, problems = message
            chunk = _unpack_rows(rows)
            self.last_line = chunk[-1][0]
            converted = [_unpack(column) for column in packed]
            yield chunk, columns.chunk_rows(self.columns, converted, problems, len(chunk))

    def _receive(self) -> tuple[Any, ...] | None:
        """The child's next message, or None when it has stopped (and is then closed)."""
        if self.conn is None:
            return None
        try:
            message: tuple[Any, ...] = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            message = ("gone",)
        if message[0] in ("end", "count", "chunk"):
            return message
        self.close()
        if message[0] == "gone":
            log.warning(
                "the import's reading process stopped (exit code %s); reading on here from line %s",
                self.process.poll(),
                self.last_line + 1,
            )
        return None

    def close(self) -> None:
        """End the child (at once: it holds nothing but the file open for reading)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.finished:  # let it end by itself (its exit code then says it went well)
            try:
                self.process.wait(JOIN_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(JOIN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ----- the child ------------------------------------------------------------------------------
def _read(task: Task, conn: Connection) -> None:
    """Count the file's rows, then send each chunk converted; on a file problem say
    "stop" (the importer reads on and raises it with its usual message)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importer's to handle
    try:
        total = task.source.count_rows(task.count_limit)
        _send(conn, ("count", total))
        if total > task.count_limit:
            return
        opts = task.options
        date_format = readers.pattern_format(opts.date_format) if opts.date_format else None
        converters = {
            c.index: compile_column(c, opts, task.reader, date_format)  # type: ignore[arg-type]
            for c in task.columns
        }
        memos = columns.memos(task.columns, converters)
        for chunk in chunks(task.source.rows(), task.chunk_rows, task.after_line):
            converted, problems = columns.convert_columns(
                task.columns, memos, [cells for _, cells in chunk], own_lists=False
            )
            packed = [_pack(column) for column in converted]
            _send(conn, ("chunk", _pack_rows(chunk), packed, problems))
        _send(conn, ("end",))
    except (BrokenPipeError, ConnectionResetError, EOFError):
        return  # the importer is gone (or has stopped reading): nothing to do
    except DomainError:
        _say(conn, ("stop",))
    finally:
        conn.close()


def _send(conn: Connection, message: tuple[Any, ...]) -> None:
    """Plain `pickle` (multiprocessing's own pickler looks up its reducers per object)."""
    conn.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))


#: How a column of dates or moments travels: ISO text. Pickle rebuilds each `date` and
#: `datetime` through its class (~0.7 us a value each way); a string is copied.
_AS_TEXT: dict[type, Callable[[str], Any]] = {
    date: date.fromisoformat,
    datetime: datetime.fromisoformat,
}


def _pack(column: list[Any]) -> Any:
    """A converted column for the pipe: ("iso", type, texts) when every value (None
    aside) is a date, or every value a naive moment; else the list itself."""
    kinds = {type(v) for v in column if v is not None}
    if len(kinds) != 1:
        return column
    kind = kinds.pop()
    if kind not in _AS_TEXT:
        return column
    if kind is datetime and any(v is not None and v.tzinfo is not None for v in column):
        return column  # stored moments are naive UTC; an aware one keeps its tzinfo object
    return ("iso", kind, [None if v is None else v.isoformat() for v in column])


def _unpack(packed: Any) -> list[Any]:
    """A column as `_pack` sent it, its values equal to the converted ones (each list the
    row's own: the child sends a memo's list once for all the rows sharing it)."""
    if type(packed) is tuple:
        _, kind, texts = packed
        read = _AS_TEXT[kind]
        return [None if t is None else read(t) for t in texts]
    return columns.own(packed)


#: Between a row's cells and between rows when a chunk travels as one text (`_pack_rows`).
_CELL, _ROW = "\x1f", "\x1e"


def _pack_rows(chunk: Chunk) -> tuple[list[int], str] | Chunk:
    """A chunk's lines and its cells as one text: one string to copy instead of a dozen to
    build per row (~1.7 us a row less for the importer). As it is when a cell holds one
    of the two separators."""
    text = _ROW.join(_CELL.join(cells) for _, cells in chunk)
    if text.count(_ROW) != len(chunk) - 1 or text.count(_CELL) != sum(
        len(cells) - 1 for _, cells in chunk
    ):
        return chunk
    return [line for line, _ in chunk], text


def _unpack_rows(packed: tuple[list[int], str] | Chunk) -> Chunk:
    if isinstance(packed, list):
        return packed
    lines, text = packed
    return list(zip(lines, [row.split(_CELL) for row in text.split(_ROW)], strict=True))


def _say(conn: Connection, message: tuple[Any, ...]) -> None:
    try:
        _send(conn, message)
    except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
        pass


def _child_env() -> dict[str, str]:
    """The child imports the same Kartoteka as this process, wherever it was found."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def main(argv: list[str]) -> None:
    """The child's entry: the task from the first descriptor, chunks to the second."""
    task_fd, data_fd = int(argv[0]), int(argv[1])
    with Connection(task_fd, writable=False) as from_parent:
        task = from_parent.recv()
    _read(task, Connection(data_fd, readable=False))


if __name__ == "__main__":
    main(sys.argv[1:])
