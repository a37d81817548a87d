"""Import jobs: the upload is saved, an `imports` row tracks progress, a thread does the work."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor, Workspace
from kartoteka.errors import DomainError, NotFound, TooLarge
from kartoteka.fields.datetime import render_datetime
from kartoteka.observability import metrics
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow

from .service import ImportResult, Plan, parse_options, plan_import, run_import

log = logging.getLogger("kartoteka.importer")
COPY_BLOCK = 1024 * 1024
RESULT_COLUMNS = ("status", "processed", "total", "created", "updated", "unchanged", "errors")
ACTIVE = ("queued", "running")
#: A running job writes its heartbeat this often; one silent for STALE is taken as dead
#: when its process cannot be checked directly (another host).
HEARTBEAT_SECONDS = 15.0
STALE = timedelta(minutes=2)

#: Results of jobs running in this process, so progress shows even between row updates.
_live: dict[tuple[str, int], ImportResult] = {}
_threads: dict[tuple[str, int], threading.Thread] = {}


class ImportNotFound(NotFound):
    """No such import job (or it is not the actor's)."""


def _process_start(pid: int) -> str:
    """When a process started (clock ticks since boot, Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner() -> str:
    """This process as `host:pid:start` (computed per call: servers fork workers)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def _owner_alive(value: str | None) -> bool | None:
    """Whether the owning process still runs; None when it is on another host."""
    host, _, rest = (value or "").partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start or _process_start(pid) == start


def _is_interrupted(ws: Workspace, row: Any, now: datetime) -> bool:
    """A queued/running job no process is working on any more (killed server, crash)."""
    if row.status not in ACTIVE or (ws.name, row.id) in _threads:
        return False
    alive = _owner_alive(row.owner)
    if alive is not None:
        return not alive
    last = row.heartbeat_at or row.created_at
    return last is not None and now - last > STALE


def _mark_interrupted(ws: Workspace, row: Any, now: datetime) -> None:
    table = schema.imports
    written = (row.created or 0) + (row.updated or 0)
    message = (
        f"the import was cut off (the server stopped) after {row.processed or 0} rows; "
        f"at least {written} records written before that are kept — run the import again "
        "with mode upsert and a key to finish it without duplicates"
    )
    sample = list(row.error_sample or [])
    sample.append({"line": None, "column": None, "value": None, "message": message})
    with ws.engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.id == row.id, table.c.status.in_(ACTIVE))
            .values(status="interrupted", finished_at=now, error_sample=sample)
        )
    log.warning("import %s in workspace %s was interrupted", row.id, ws.name)


def sweep_interrupted(ws: Workspace) -> int:
    """Mark every interrupted job of the workspace (the worker runs this periodically)."""
    table = schema.imports
    now = utcnow()
    with read_connection(ws.engine) as conn:
        rows = conn.execute(sa.select(table).where(table.c.status.in_(ACTIVE))).all()
    dead = [r for r in rows if _is_interrupted(ws, r, now)]
    for row in dead:
        _mark_interrupted(ws, row, now)
    return len(dead)


def save_upload(ws: Workspace, stream: BinaryIO, filename: str) -> Path:
    """Copy an upload into the workspace's files directory, refusing files over the limit."""
    limit = ws.settings.max_upload_bytes
    folder = ws.files_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename or "").suffix.lower()[:10]
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with path.open("wb") as out:
        while block := stream.read(COPY_BLOCK):
            size += len(block)
            if size > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise TooLarge(f"the file exceeds {limit} bytes")
            out.write(block)
    return path


def start_import(
    actor: Actor, catalog_ref: str | int, stream: BinaryIO, filename: str, options: Any
) -> int:
    """Check the upload and options now (422 on problems), then import in the background."""
    opts = parse_options(options)
    catalog = get_catalog(actor, catalog_ref)
    path = save_upload(actor.workspace, stream, filename)
    try:
        plan = plan_import(actor, catalog.id, path, opts)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    with actor.workspace.engine.begin() as conn:
        job_id = conn.execute(  # type: ignore[index]
            sa.insert(schema.imports).values(
                catalog_id=catalog.id,
                status="queued",
                options=opts.to_json(),
                processed=0,
                created=0,
                updated=0,
                unchanged=0,
                errors=0,
                error_sample=[],
                created_by=actor.user_id,
                created_at=utcnow(),
                owner=owner(),
                heartbeat_at=utcnow(),
            )  # fmt: skip
        ).inserted_primary_key[0]
    key = (actor.workspace.name, int(job_id))
    thread = threading.Thread(
        target=_run_job, args=(actor, plan, int(job_id), path), name=f"import-{job_id}", daemon=True
    )
    _threads[key] = thread
    thread.start()
    return int(job_id)


def _run_job(actor: Actor, plan: Plan, job_id: int, path: Path) -> None:
    """Thread body: run the import, keep the row current, never let an error escape."""
    ws = actor.workspace
    key = (ws.name, job_id)
    latest = ImportResult(status="running")
    _live[key] = latest
    # A SQLite dry run holds the write lock until it rolls back; row updates wait for the end.
    write_progress = not (plan.options.dry_run and ws.dialect == "sqlite")

    def progress(result: ImportResult) -> None:
        nonlocal latest
        latest = _live[key] = result
        if write_progress:
            _store(ws, job_id, result)

    beating = threading.Event()
    if write_progress:
        threading.Thread(
            target=_heartbeat, args=(ws, job_id, beating), name=f"import-{job_id}-beat", daemon=True
        ).start()
    try:
        _store(ws, job_id, latest)
        latest = run_import(actor, plan, progress)
        if latest.status == "failed" and latest.message:
            _fail(latest, latest.message)
    except DomainError as exc:
        _fail(latest, exc.message)
    except Exception:  # a bug: the job fails visibly instead of hanging in "running"
        log.exception("import %s failed", job_id)
        _fail(latest, "internal error")
    finally:
        beating.set()
        metrics.import_finished(latest.status, _row_counts(latest))
        try:
            _store(ws, job_id, latest, finished=True)
        finally:
            _live.pop(key, None)
            _threads.pop(key, None)
            path.unlink(missing_ok=True)


def _row_counts(result: ImportResult) -> dict[str, int]:
    """A finished job's rows by result, for the import metrics."""
    return {k: getattr(result, k) for k in ("created", "updated", "unchanged", "errors")}


def _heartbeat(ws: Workspace, job_id: int, done: threading.Event) -> None:
    """Say every HEARTBEAT_SECONDS that this process still works on the job."""
    table = schema.imports
    while not done.wait(HEARTBEAT_SECONDS):
        try:
            with ws.engine.begin() as conn:
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == job_id, table.c.status.in_(ACTIVE))
                    .values(heartbeat_at=utcnow())
                )
        except Exception:  # a missed beat is harmless; the next one may pass
            log.warning("import %s: heartbeat not written", job_id, exc_info=True)


def _store(ws: Workspace, job_id: int, result: ImportResult, finished: bool = False) -> None:
    values: dict[str, Any] = {c: getattr(result, c) for c in RESULT_COLUMNS}
    values["error_sample"] = result.error_sample
    values["heartbeat_at"] = utcnow()
    if finished:
        values["finished_at"] = utcnow()
    with ws.engine.begin() as conn:
        conn.execute(sa.update(schema.imports).where(schema.imports.c.id == job_id).values(values))


def _fail(result: ImportResult, message: str) -> None:
    """Mark a job failed; a failure not caused by a row is kept as a line-less error."""
    result.status, result.message = "failed", message
    if not any(e["message"] in message for e in result.error_sample):
        result.error_sample.append(
            {"line": None, "column": None, "value": None, "message": message}
        )


def _job_row(actor: Actor, job_id: int) -> Any:
    """The job's row if the actor may see it: its creator or an administrator, and only
    within a catalog-scoped token's catalogs."""
    table = schema.imports
    with read_connection(actor.workspace.engine) as conn:
        row = conn.execute(sa.select(table).where(table.c.id == job_id)).first()
    if row is None or not (actor.is_admin or row.created_by == actor.user_id):
        raise ImportNotFound(f"import {job_id} not found")
    scoped = (actor.token_scopes or {}).get("catalogs")
    if scoped is not None and row.catalog_id not in scoped:
        raise ImportNotFound(f"import {job_id} not found")
    return row


def get_import(actor: Actor, job_id: int) -> dict[str, Any]:
    """An import job's status and counts (its creator and administrators may see it)."""
    table = schema.imports
    row = _job_row(actor, job_id)
    if _is_interrupted(actor.workspace, row, utcnow()):
        _mark_interrupted(actor.workspace, row, utcnow())
        with read_connection(actor.workspace.engine) as conn:
            row = conn.execute(sa.select(table).where(table.c.id == job_id)).one()
    out: dict[str, Any] = {"id": row.id, "catalog_id": row.catalog_id}
    out.update({c: getattr(row, c) for c in RESULT_COLUMNS})
    out["error_sample"] = row.error_sample or []
    live = _live.get((actor.workspace.name, job_id))
    if live is not None and row.finished_at is None:
        out.update({c: getattr(live, c) for c in RESULT_COLUMNS if c != "status"})
        out["error_sample"] = list(live.error_sample)
    out["dry_run"] = bool((row.options or {}).get("dry_run"))
    out["created_at"] = render_datetime(row.created_at)
    out["finished_at"] = render_datetime(row.finished_at) if row.finished_at else None
    return out


def wait_for_jobs(timeout: float | None = None) -> None:
    """Join the import threads of this process (shutdown, tests)."""
    for thread in list(_threads.values()):
        thread.join(timeout)
