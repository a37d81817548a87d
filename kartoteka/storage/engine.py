"""Engines: the control database and one database per workspace (SQLite file or PG schema)."""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.util.concurrency import in_greenlet

from . import fresh
from .fulltext import register_sqlite_functions
from .loopconn import LoopConnection
from .loopreads import (
    keep_loop_engine,
    kept_loop_connection,
    loop_connection,
    loop_held_connection,
    loop_reads,
)
from .pgcursor import DescribedOnceCursor

WORKSPACE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_MIGRATIONS = Path(__file__).parent / "migrations"

control_metadata = sa.MetaData()
workspaces_table = sa.Table(
    "workspaces",
    control_metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("location", sa.String(500), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
#: Which workspaces each e-mail has an active account in (the workspace switcher), so
#: the question never opens every workspace. Kept by `storage/directory.py`.
accounts_table = sa.Table(
    "accounts",
    control_metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("workspace", sa.String(63), primary_key=True),
)
#: The workspaces whose accounts are in `accounts` (one written before it existed is not).
accounts_synced_table = sa.Table(
    "accounts_synced",
    control_metadata,
    sa.Column("workspace", sa.String(63), primary_key=True),
    sa.Column("synced_at", sa.DateTime, nullable=False),
)
#: One row per worker process, refreshed while its delivery loop runs (`/readyz`).
worker_heartbeats = sa.Table(
    "worker_heartbeats",
    control_metadata,
    sa.Column("worker", sa.String(200), primary_key=True),
    sa.Column("beat_at", sa.DateTime, nullable=False),
)


class _Held(threading.local):
    """The connections of one engine that the current thread has opened (and may hold)."""

    def __init__(self) -> None:
        self.conns: list[Connection] = []


#: Per engine: which connections each thread has open (`held_connection`).
_held: weakref.WeakKeyDictionary[Engine, _Held] = weakref.WeakKeyDictionary()


def track_connections(engine: Engine) -> None:
    """Remember, per thread, the connections opened on `engine` (`held_connection`).

    A thread that holds a pooled connection and asks the pool for a second one can starve
    the pool: fifteen writers each holding one and waiting for another wait for each
    other until the pool times out. Code that needs a quick read while its caller may hold
    a connection (the metadata version check) uses the held one instead.
    """
    held = _Held()
    _held[engine] = held

    @event.listens_for(engine, "engine_connect")
    def on_connect(conn: Connection) -> None:
        held.conns = [c for c in held.conns if not c.closed]
        held.conns.append(conn)


def held_connection(engine: Engine) -> Connection | None:
    """The most recent still-open connection this thread opened on `engine`, if any (in
    a PostgreSQL read on the event loop: the one that read holds, `storage.loopreads`)."""
    if in_greenlet() and loop_reads(engine) is not None:
        return loop_held_connection(engine)
    held = _held.get(engine)
    if held is None:
        return None
    while held.conns:
        conn = held.conns[-1]
        if not conn.closed and not conn.invalidated:
            return conn
        held.conns.pop()
    return None


def read_connection(engine: Engine) -> Connection:
    """A connection for reads.

    SQLite: a deferred transaction (one snapshot for the whole read). PostgreSQL:
    autocommit, so a read costs its SELECTs and no BEGIN/ROLLBACK round trips; each
    statement sees committed data exactly as under READ COMMITTED; in a read on the event
    loop (`storage.loopreads`), a connection of the loop's engine, which waits on the loop.
    """
    on_loop = loop_connection(engine)
    if on_loop is not None:
        return on_loop
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        return conn.execution_options(kt_read=True, isolation_level="AUTOCOMMIT")
    return conn.execution_options(kt_read=True)


#: True while a bounded read runs on the event loop between two awaits (`api.direct`): its
#: `reading` uses the engine's `LoopConnection` instead of a pool checkout.
ON_THE_LOOP: ContextVar[bool] = ContextVar("kartoteka_on_the_loop", default=False)


#: Per SQLite engine: its connection for the event loop's reads.
_loop_connections: weakref.WeakKeyDictionary[Engine, LoopConnection] = weakref.WeakKeyDictionary()


def keep_loop_connection(engine: Engine) -> None:
    """Give `engine` a `LoopConnection`, closed when the engine is disposed."""
    kept = _loop_connections[engine] = LoopConnection(engine, _held[engine])
    event.listen(engine, "engine_disposed", lambda _engine: kept.close())


def reading(engine: Engine) -> AbstractContextManager[Connection]:
    """`read_connection(engine)` for a with-block; on the event loop (`ON_THE_LOOP`), the
    engine's kept `LoopConnection` when it has one free; in a PostgreSQL read on the loop,
    a connection the loop's engine keeps (`storage.loopreads`)."""
    on_loop = kept_loop_connection(engine)
    if on_loop is not None:
        return on_loop
    if ON_THE_LOOP.get():
        kept = _loop_connections.get(engine)
        lent = kept.lend() if kept is not None else None
        if lent is not None:
            return lent
    return read_connection(engine)


def stream_rows(engine: Engine, statement: Any, size: int) -> Iterator[list[Any]]:
    """The rows of one SELECT in lists of `size`, from one snapshot, never all in memory.

    PostgreSQL: a server-side cursor in a REPEATABLE READ, READ ONLY transaction (named
    cursors need a transaction; the snapshot keeps a long export consistent). SQLite:
    the deferred read transaction of `read_connection` and `fetchmany`.
    """
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        options: dict[str, Any] = {"stream_results": True, "max_row_buffer": size}
    else:
        conn = read_connection(engine)
        options = {}
    with conn, conn.begin():
        result = conn.execution_options(**options).execute(statement)
        yield from (list(part) for part in result.partitions(size))


def utcnow() -> datetime:
    """Naive UTC now: every stored timestamp is naive UTC on both dialects."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    """A stored naive-UTC timestamp as ISO 8601 with offset."""
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the plain `postgresql://` form."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, a busy timeout and explicit transactions so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-32000")
        cur.close()
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, readers a deferred transaction (on the
        # driver: SQLAlchemy's execute path made it a seventh of a GET, issue 16).
        read = conn.get_execution_options().get("kt_read")
        driver = conn.connection.driver_connection
        if read and driver.in_transaction:  # type: ignore[union-attr]
            return  # a read's transaction begun on the driver (`storage.kept`): adopted
        begin = "BEGIN" if read else "BEGIN IMMEDIATE"
        try:
            driver.execute(begin)  # type: ignore[union-attr]
        except sqlite3.Error as exc:  # raised as SQLAlchemy raises it (a busy timeout, say)
            raise sa.exc.DBAPIError.instance(begin, (), exc, sqlite3.Error) from exc


#: Connections a workspace's pool keeps open (both dialects). The server runs at most this
#: many requests in threads at once (`kartoteka.server`), so a request never opens a
#: connection that the pool then closes on return: with 40 request threads over a pool of
#: 5 (PostgreSQL) one GET in ten connected anew under 32 concurrent clients (issue 16).
POOL_SIZE = 15
#: Beyond POOL_SIZE, for the threads that are not requests (outbox worker, scenarios).
POOL_OVERFLOW = 9


def make_sqlite_engine(path: Path, **pool: Any) -> Engine:
    """An engine for one SQLite file with our pragmas (`pool`: QueuePool settings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # One more than the request threads: the event loop keeps one for its reads.
    options = {"pool_size": POOL_SIZE + 1, "max_overflow": POOL_OVERFLOW, **pool}
    engine = sa.create_engine(f"sqlite:///{path}", **options)
    _sqlite_pragmas(engine)
    track_connections(engine)
    keep_loop_connection(engine)
    return engine


def make_pg_engine(url: str, schema: str | None, **pool: Any) -> Engine:
    """An engine whose connections see `schema` first on the search path."""
    connect_args: dict[str, Any] = {"cursor_factory": DescribedOnceCursor}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    options = {
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_OVERFLOW,
        "pool_pre_ping": False,
        **pool,
    }
    engine = sa.create_engine(sqlalchemy_url(url), connect_args=connect_args, **options)
    track_connections(engine)
    keep_loop_engine(engine, sqlalchemy_url(url), connect_args)
    return engine


def schema_name(workspace: str) -> str:
    """PostgreSQL schema holding a workspace."""
    return "ws_" + workspace.replace("-", "_")


def alembic_config(connection: Connection) -> Config:
    """An Alembic config bound to one workspace connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest platform schema revision shipped with this code (read once: loading
    the revision scripts is ~40 ms)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The platform schema revision a workspace database is at (None: empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_workspace(engine: Engine, revision: str = "head") -> None:
    """Bring a workspace database to `revision` (creates the tables on an empty one).

    Processes starting together (a deploy, several workers) may each find a workspace
    behind. They migrate it one at a time: SQLite's `BEGIN IMMEDIATE` takes the write lock
    before Alembic reads the version; on PostgreSQL a transaction-scoped advisory lock on
    the workspace's schema does, so the second process finds the work done instead of
    running the same DDL again and failing.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:space, hashtext(current_schema()))"),
                {"space": MIGRATION_LOCK_SPACE},
            )
        head = head_revision()
        if (
            revision in ("head", head)
            and MigrationContext.configure(conn).get_current_revision() is None
        ):
            # An empty workspace: replayed as the process's first one was migrated.
            if fresh.replay(conn, head):
                return
            schema = None
            if conn.dialect.name == "postgresql":
                schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            with fresh.recording(conn, head, schema):
                command.upgrade(alembic_config(conn), revision)
            return
        command.upgrade(alembic_config(conn), revision)


#: The first key of the advisory locks taken while migrating a workspace (the second is
#: the hash of its schema's name).
MIGRATION_LOCK_SPACE = 0x4B54  # "KT"


def _run_admin_sql(url: str, statement: str) -> None:
    """Run one statement on a short-lived engine (schema creation and removal)."""
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


class Databases:
    """Owns the control engine and caches one engine per workspace."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._migrated: set[str] = set()
        if database_url:
            self.control = make_pg_engine(database_url, "kartoteka_control")
            _run_admin_sql(database_url, "CREATE SCHEMA IF NOT EXISTS kartoteka_control")
        else:
            self.control = make_sqlite_engine(data_dir / "control.db")
        control_metadata.create_all(self.control)

    @property
    def is_postgres(self) -> bool:
        """True when workspaces are PostgreSQL schemas."""
        return self.database_url is not None

    def location_for(self, name: str) -> str:
        """Where a new workspace's data goes."""
        if self.database_url:
            return "schema:" + schema_name(name)
        return "sqlite:" + str(Path("workspaces") / f"{name}.db")

    def engine_for_location(self, name: str, location: str) -> Engine:
        """The cached engine of a workspace at `location`."""
        with self._lock:
            engine = self._engines.get(name)
            if engine is None:
                engine = self._open(location)
                self._engines[name] = engine
            return engine

    def _open(self, location: str) -> Engine:
        kind, _, rest = location.partition(":")
        if kind == "sqlite":
            path = Path(rest)
            return make_sqlite_engine(path if path.is_absolute() else self.data_dir / path)
        if kind == "schema":
            assert self.database_url
            return make_pg_engine(self.database_url, rest)
        if kind == "url":
            return make_pg_engine(rest, None)
        # english-ok: the control database holds only locations this code wrote.
        raise ValueError(f"unknown workspace location {location!r}")

    def open_engines(self) -> dict[str, Engine]:
        """The workspace engines this process has opened, by workspace name (a snapshot)."""
        with self._lock:
            return dict(self._engines)

    def create_storage(self, location: str) -> None:
        """Create the empty schema of a new PostgreSQL workspace (SQLite files appear on open)."""
        kind, _, rest = location.partition(":")
        if kind == "schema":
            assert self.database_url
            _run_admin_sql(self.database_url, f'CREATE SCHEMA IF NOT EXISTS "{rest}"')

    def drop_storage(self, name: str, location: str) -> None:
        """Remove a workspace's data for good."""
        engine = self._engines.pop(name, None)
        self._migrated.discard(name)
        if engine is not None:
            engine.dispose()
        kind, _, rest = location.partition(":")
        if kind == "schema":
            assert self.database_url
            _run_admin_sql(self.database_url, f'DROP SCHEMA IF EXISTS "{rest}" CASCADE')
        elif kind == "sqlite":
            path = Path(rest)
            path = path if path.is_absolute() else self.data_dir / path
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)

    def ensure_migrated(self, name: str, engine: Engine) -> None:
        """Upgrade a workspace to head once per process (cheap after the first call)."""
        if name in self._migrated:
            return
        if current_revision(engine) != head_revision():
            upgrade_workspace(engine)
        self._migrated.add(name)

    def dispose(self) -> None:
        """Close every pool (tests, shutdown)."""
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        self.control.dispose()
