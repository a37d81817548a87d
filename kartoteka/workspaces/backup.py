"""Consistent backups of one workspace into a .tar.gz, and restoring them.

SQLite workspaces are copied with the online backup API, so a backup taken while
the server writes is still a consistent snapshot. PostgreSQL workspaces are
exported logically inside one REPEATABLE READ transaction: the DDL of every table
(from SQLAlchemy reflection) goes into the manifest and the rows into JSON lines.
Both kinds carry the workspace's files directory.
"""

from __future__ import annotations

import base64
import io
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, CreateTable

from kartoteka.storage.engine import (
    current_revision,
    head_revision,
    upgrade_workspace,
    utcnow,
)

from .errors import BadBackup, WorkspaceExists, WorkspaceNotFound
from .service import Instance, check_name

FORMAT = "kartoteka-backup"
VERSION = 1
BATCH = 1000


# ----- shared -------------------------------------------------------------------------
def _sqlite_path(instance: Instance, location: str) -> Path:
    path = Path(location.partition(":")[2])
    return path if path.is_absolute() else instance.settings.data_dir / path


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    tar.addfile(info, io.BytesIO(data))


def _add_files(tar: tarfile.TarFile, files_dir: Path) -> None:
    if files_dir.is_dir():
        tar.add(files_dir, "files")


def _manifest(name: str, dialect: str, revision: str | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "workspace": name,
        "dialect": dialect,
        "revision": revision,
        "created_at": utcnow().isoformat() + "+00:00",
    }


# ----- backup -------------------------------------------------------------------------
def backup_workspace(instance: Instance, name: str, out: Path) -> dict[str, Any]:
    """Write a consistent backup of workspace `name` to `out` (.tar.gz); return its manifest."""
    ws = instance.workspace(name)
    location = instance.location(name) or ""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(out, "w:gz") as tar:
        manifest = _manifest(name, ws.dialect, current_revision(ws.engine))
        if ws.dialect == "sqlite":
            copy = Path(tmp) / "workspace.db"
            _sqlite_online_copy(_sqlite_path(instance, location), copy)
            tar.add(copy, "workspace.db")
        else:
            manifest["tables"] = _export_tables(ws.engine, tar, Path(tmp))
        _add_files(tar, ws.files_dir)
        _add_bytes(tar, "manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def _sqlite_online_copy(src_path: Path, dst_path: Path) -> None:
    src = sqlite3.connect(src_path)
    dst = sqlite3.connect(dst_path)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    # english-ok: a bug (a column type the backup does not know), never a user's input.
    raise TypeError(f"cannot export {type(value).__name__}")


def _export_tables(engine: sa.Engine, tar: tarfile.TarFile, tmp: Path) -> list[dict[str, Any]]:
    tables: list[dict[str, Any]] = []
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        meta = sa.MetaData()
        meta.reflect(conn)
        for table in meta.sorted_tables:
            tables.append(_table_ddl(table, conn))
            path = tmp / f"{table.name}.jsonl"
            _dump_rows(conn, table, path)
            tar.add(path, f"tables/{table.name}.jsonl")
    return tables


def _table_ddl(table: sa.Table, conn: Connection) -> dict[str, Any]:
    dialect = conn.dialect
    return {
        "name": table.name,
        "create": str(CreateTable(table).compile(dialect=dialect)).strip(),
        "indexes": [str(CreateIndex(ix).compile(dialect=dialect)).strip() for ix in table.indexes],
    }


def _dump_rows(conn: Connection, table: sa.Table, path: Path) -> None:
    columns = [c for c in table.columns if c.computed is None]
    result = conn.execution_options(yield_per=BATCH).execute(sa.select(*columns))
    with path.open("wb") as fh:
        for row in result:
            data = {str(k): v for k, v in row._mapping.items()}
            fh.write(orjson.dumps(data, default=_json_default) + b"\n")


# ----- restore ------------------------------------------------------------------------
def restore_workspace(
    instance: Instance, name: str, archive: Path, force: bool = False
) -> dict[str, Any]:
    """Restore a backup into workspace `name`; an existing one is replaced only with `force`."""
    check_name(name)
    with tarfile.open(archive, "r:gz") as tar:
        manifest = _read_manifest(tar)
        dialect = "postgresql" if instance.dbs.is_postgres else "sqlite"
        if manifest["dialect"] != dialect:
            raise BadBackup.of("backup_dialect", None, dialect=manifest["dialect"])
        _make_room(instance, name, force)
        location = instance.dbs.location_for(name)
        try:
            _restore_data(instance, name, location, tar, manifest)
            _restore_files(tar, instance.settings.data_dir / "files" / name)
            instance.register(name, location)
        except BaseException:
            instance.dbs.drop_storage(name, location)
            shutil.rmtree(instance.settings.data_dir / "files" / name, ignore_errors=True)
            raise
    engine = instance.dbs.engine_for_location(name, location)
    if current_revision(engine) != head_revision():
        upgrade_workspace(engine)
    return manifest


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
        manifest = orjson.loads(member.read()) if member else None
    except (KeyError, orjson.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadBackup.of("backup_not_ours")
    if manifest.get("version") != VERSION:
        raise BadBackup.of("backup_version", None, version=manifest.get("version"))
    return manifest


def _make_room(instance: Instance, name: str, force: bool) -> None:
    if instance.location(name) is None:
        return
    if not force:
        raise WorkspaceExists.of("workspace_exists_force", None, name=name)
    try:
        instance.delete_workspace(name)
    except WorkspaceNotFound:
        pass


def _restore_data(
    instance: Instance, name: str, location: str, tar: tarfile.TarFile, manifest: dict[str, Any]
) -> None:
    if manifest["dialect"] == "sqlite":
        path = _sqlite_path(instance, location)
        path.parent.mkdir(parents=True, exist_ok=True)
        instance.dbs.drop_storage(name, location)  # stale -wal/-shm files must not survive
        with path.open("wb") as fh:
            shutil.copyfileobj(_member(tar, "workspace.db"), fh)
        return
    instance.dbs.create_storage(location)
    engine = instance.dbs.engine_for_location(name, location)
    with engine.begin() as conn:
        _import_tables(conn, tar, manifest.get("tables") or [])


def _member(tar: tarfile.TarFile, name: str) -> io.BufferedReader:
    try:
        fh = tar.extractfile(name)
    except KeyError:
        fh = None
    if fh is None:
        raise BadBackup.of("backup_member", None, name=name)
    return fh  # type: ignore[return-value]


def _import_tables(conn: Connection, tar: tarfile.TarFile, tables: list[dict[str, Any]]) -> None:
    for spec in tables:
        conn.exec_driver_sql(spec["create"])
    meta = sa.MetaData()
    meta.reflect(conn)
    for spec in tables:
        table = meta.tables[spec["name"]]
        _load_rows(conn, table, _member(tar, f"tables/{spec['name']}.jsonl"))
        for ddl in spec["indexes"]:
            conn.exec_driver_sql(ddl)
        _reset_sequences(conn, table)


def _decoder(column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return datetime.fromisoformat
    if isinstance(kind, sa.Date):
        return date.fromisoformat
    if isinstance(kind, sa.Time):
        return time.fromisoformat
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return lambda v: Decimal(str(v))
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode
    return None


def _rows(fh: io.BufferedReader, decoders: dict[str, Callable[[Any], Any]]) -> Iterator[dict]:
    for line in fh:
        row = orjson.loads(line)
        for key, decode in decoders.items():
            if row.get(key) is not None:
                row[key] = decode(row[key])
        yield row


def _load_rows(conn: Connection, table: sa.Table, fh: io.BufferedReader) -> None:
    decoders = {c.name: d for c in table.columns if (d := _decoder(c)) is not None}
    batch: list[dict[str, Any]] = []
    for row in _rows(fh, decoders):
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _reset_sequences(conn: Connection, table: sa.Table) -> None:
    """Move each serial column's sequence past the restored ids."""
    for column in table.primary_key.columns:
        if not isinstance(column.type, sa.Integer):
            continue
        seq = conn.execute(
            sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))
        ).scalar()
        if seq:
            top = conn.execute(sa.select(sa.func.max(column))).scalar()
            conn.execute(sa.select(sa.func.setval(seq, top or 1, top is not None)))


def _restore_files(tar: tarfile.TarFile, files_dir: Path) -> None:
    members = [m for m in tar.getmembers() if m.name.startswith("files/") and m.isfile()]
    for member in members:
        target = (files_dir / member.name[len("files/") :]).resolve()
        # Never write outside the files directory, whatever the archive says.
        if not target.is_relative_to(files_dir.resolve()):
            raise BadBackup.of("backup_unsafe_path", None, name=member.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            shutil.copyfileobj(_member(tar, member.name), out)
