"""Import jobs: the upload is saved, an `imports` row tracks progress, a thread does the work.

Each chunk commits together with the job's checkpoint (`resume_line`, the counts and the
chunk's refused rows in `import_errors`), so a job cut off at any moment resumes after
its last committed chunk with no row written twice or lost, even in mode `create`:
by itself when the server or worker that finds it dead can read its upload, or with
`POST /imports/{id}/resume` / `kartoteka import --resume ID`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from kartoteka.access import service as access
from kartoteka.catalogs.service import get_catalog
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Conflict, DomainError, Forbidden, NotFound, RateLimited, TooLarge
from kartoteka.fields.datetime import render_datetime
from kartoteka.observability import metrics
from kartoteka.records import hooks, summary
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow

from .journal import RESULT_COLUMNS, JobJournal, error_count
from .service import ImportResult, Plan, parse_options, plan_import, run_import

log = logging.getLogger("kartoteka.importer")
COPY_BLOCK = 1024 * 1024
ACTIVE = ("queued", "running")
#: A job that stopped before its end and may carry on from its checkpoint.
RESUMABLE = ("interrupted", "cancelled")

#: A cancel was asked for; the job stops after its current chunk and ends `cancelled`.
CANCELLING = "cancelling"
#: A job not finished yet: some process is (or should be) working on it.
UNFINISHED = (*ACTIVE, CANCELLING)
#: Imports one workspace may run at once (workspace setting `import_max_concurrent`).
MAX_CONCURRENT_SETTING = "import_max_concurrent"
DEFAULT_MAX_CONCURRENT = 2
#: A running job writes its heartbeat this often; one silent for STALE is taken as dead
#: when its process cannot be checked directly (another host).
HEARTBEAT_SECONDS = 15.0
STALE = timedelta(minutes=2)

#: Results of jobs running in this process, so progress shows even between row updates.
_live: dict[tuple[str, int], ImportResult] = {}
_threads: dict[tuple[str, int], threading.Thread] = {}
#: Cancel requests for jobs running in this process (others see the row's status).
_cancels: dict[tuple[str, int], threading.Event] = {}


class ImportCancelled(Exception):
    """Raised between chunks when the job was asked to stop."""


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
    if row.status not in UNFINISHED or (ws.name, row.id) in _threads:
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
        f"the {written} records written before that are kept — resume it "
        f"(POST /imports/{row.id}/resume or kartoteka import --resume {row.id}) to carry on "
        "after the last committed chunk"
    )
    sample = list(row.error_sample or [])
    sample.append({"line": None, "column": None, "value": None, "message": message})
    with ws.engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.id == row.id, table.c.status.in_(UNFINISHED))
            .values(status="interrupted", finished_at=now, error_sample=sample, message=message)
        )
    log.warning("import %s in workspace %s was interrupted", row.id, ws.name)


def _unfinished_rows(ws: Workspace) -> list[Any]:
    """Every import job of the workspace not finished yet."""
    table = schema.imports
    with read_connection(ws.engine) as conn:
        return list(conn.execute(sa.select(table).where(table.c.status.in_(UNFINISHED))).all())


def sweep_interrupted(ws: Workspace) -> int:
    """Mark every interrupted job of the workspace (the worker runs this periodically)."""
    now = utcnow()
    dead = [r for r in _unfinished_rows(ws) if _is_interrupted(ws, r, now)]
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
                raise TooLarge.of("import_file_too_large", limit=limit)
            out.write(block)
    return path


def start_import(
    actor: Actor, catalog_ref: str | int, stream: BinaryIO, filename: str, options: Any
) -> int:
    """Check the upload and options now (422 on problems), then import in the background."""
    opts = parse_options(options)
    catalog = get_catalog(actor, catalog_ref)
    # Refused before a byte is stored or parsed: the rights for what the mode may do, and
    # the workspace's share of import workers.
    _require_import_rights(actor, catalog, opts.mode)
    _check_concurrency(actor)
    path = save_upload(actor.workspace, stream, filename)
    try:
        plan = plan_import(actor, catalog.id, path, opts)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job_id = create_job(actor, plan, filename)
    _start_thread(actor, plan, job_id)
    return job_id


def create_job(actor: Actor, plan: Plan, filename: str) -> int:
    """The job row of a planned import (queued, owned by this process). The encoding and
    delimiter found in the file are kept with the options: a resume reads it the same way,
    and the error file uses the same delimiter."""
    options = plan.options.to_json()
    options["encoding"] = options.get("encoding") or plan.source.encoding
    options["delimiter"] = options.get("delimiter") or plan.source.delimiter
    with actor.workspace.engine.begin() as conn:
        job_id = conn.execute(  # type: ignore[index]
            sa.insert(schema.imports).values(
                catalog_id=plan.catalog.id,
                status="queued",
                options=options,
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
                source_path=str(plan.source.path),
                filename=(filename or plan.source.path.name)[:255],
                headers=plan.source.headers,
                resume_line=0,
            )  # fmt: skip
        ).inserted_primary_key[0]
    return int(job_id)


def _start_thread(
    actor: Actor, plan: Plan, job_id: int, start: ImportResult | None = None, after_line: int = 0
) -> None:
    key = (actor.workspace.name, job_id)
    _cancels[key] = threading.Event()
    thread = threading.Thread(
        target=run_job,
        args=(actor, plan, job_id, start, after_line),
        name=f"import-{job_id}",
        daemon=True,
    )
    _threads[key] = thread
    thread.start()


def _require_import_rights(actor: Actor, catalog: Any, mode: str) -> None:
    """Forbidden unless the actor may create (mode create), edit (update) or either
    (upsert) records of the catalog; the rows are checked again one by one."""
    access.require_catalog(actor, catalog)
    if actor.is_admin:
        return
    creates = access.can_create(actor, catalog)
    edits = any(g.get("edit") not in (None, False) for g in access.grants(actor, catalog))
    allowed = {"create": creates, "update": edits, "upsert": creates or edits}[mode]
    if not allowed:
        raise Forbidden.of("import_mode_forbidden", catalog=catalog.api_name, mode=mode)


def max_concurrent(ws: Workspace) -> int:
    """How many imports the workspace may run at once."""
    value = ws.meta().settings.get(MAX_CONCURRENT_SETTING)
    return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_CONCURRENT


def _check_concurrency(actor: Actor) -> None:
    """RateLimited when the workspace already runs its share of imports."""
    ws = actor.workspace
    now = utcnow()
    rows = _unfinished_rows(ws)
    running = [r for r in rows if r.status == CANCELLING or not _is_interrupted(ws, r, now)]
    limit = max_concurrent(ws)
    if len(running) >= limit:
        refused = RateLimited.of("import_concurrency", running=len(running), limit=limit)
        refused.retry_after = 30
        raise refused


def cancel_import(actor: Actor, job_id: int) -> dict[str, Any]:
    """Ask a queued or running import to stop after its current chunk (its creator and
    administrators); rows of finished chunks stay written, a dry run writes nothing."""
    row = _job_row(actor, job_id)
    if row.status not in UNFINISHED:
        raise Conflict.of("import_already", id=job_id, status=row.status)
    key = (actor.workspace.name, job_id)
    event = _cancels.get(key)
    if event is not None:
        event.set()
    else:
        # The job runs in another process (or the CLI asks): it reads its row between chunks.
        table = schema.imports
        with actor.workspace.engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.id == job_id, table.c.status.in_(ACTIVE))
                .values(status=CANCELLING)
            )
    return get_import(actor, job_id)


def request_cancel(ws: Workspace, job_id: int) -> None:
    """Ask a job running in this process to stop after its current chunk (Ctrl-C)."""
    _cancels.setdefault((ws.name, job_id), threading.Event()).set()


def _cancel_requested(ws: Workspace, job_id: int) -> bool:
    event = _cancels.get((ws.name, job_id))
    if event is not None and event.is_set():
        return True
    table = schema.imports
    with read_connection(ws.engine) as conn:
        status = conn.execute(sa.select(table.c.status).where(table.c.id == job_id)).scalar()
    return status == CANCELLING


def run_job(
    actor: Actor,
    plan: Plan,
    job_id: int,
    start: ImportResult | None = None,
    after_line: int = 0,
    progress: Any = None,
) -> ImportResult:
    """Run a job to its end in this thread (the background thread, or the CLI in the
    foreground); keeps the row current and never lets an error escape."""
    ws = actor.workspace
    key = (ws.name, job_id)
    latest = start or ImportResult(status="running")
    latest.status = "running"
    _live[key] = latest
    _cancels.setdefault(key, threading.Event())
    # A SQLite dry run holds the write lock until it rolls back; row updates wait for the end.
    dry = plan.options.dry_run
    write_progress = not (dry and ws.dialect == "sqlite")
    journal = JobJournal(ws, job_id)
    # Stored with every event of the job: notify webhooks and scenarios skip the rows an
    # import asked to keep quiet; the search hook leaves them for the worker to index.
    actor = dataclasses.replace(
        actor,
        importing={
            "job": job_id,
            "webhooks": not plan.options.skip_webhooks,
            "scenarios": not plan.options.skip_scenarios,
        },
    )

    def on_progress(result: ImportResult) -> None:
        nonlocal latest
        if progress is not None:
            progress(result)
        if _cancel_requested(ws, job_id):
            latest = _live[key] = result
            raise ImportCancelled
        if dry and write_progress:
            _store(ws, job_id, result)  # a real run's chunk stored its own counts
        # A copy: the runner counts a chunk's rows before its commit, and a status read
        # meanwhile must not report rows a rollback or a kill could still take back.
        latest = _live[key] = dataclasses.replace(result, error_sample=list(result.error_sample))

    beating = threading.Event()
    if write_progress:
        threading.Thread(
            target=_heartbeat, args=(ws, job_id, beating), name=f"import-{job_id}-beat", daemon=True
        ).start()
    try:
        _store(ws, job_id, latest)
        latest = run_import(
            actor, plan, on_progress, journal, latest, after_line,
            stop_requested=lambda: _cancel_requested(ws, job_id),
        )  # fmt: skip
        if latest.status == "failed" and latest.message:
            _fail(latest, latest.message)
    except ImportCancelled:
        latest.status, latest.message = "cancelled", "cancelled on request"
    except DomainError as exc:
        _fail(latest, exc.message)
    except Exception:  # a bug: the job fails visibly instead of hanging in "running"
        log.exception("import %s failed", job_id)
        _fail(latest, "internal error")
    except BaseException:  # stopped from outside (a second Ctrl-C): it may carry on later
        latest.status, latest.message = "interrupted", "stopped before its end"
        raise
    finally:
        beating.set()
        metrics.import_finished(latest.status, _row_counts(latest))
        try:
            journal.flush()
            if latest.status == "done" and not dry:
                _announce(actor, plan, job_id, latest)
            # Last: whoever polls the job sees it finished only once nothing else follows.
            _store(ws, job_id, latest, finished=True)
        finally:
            _live.pop(key, None)
            _threads.pop(key, None)
            _cancels.pop(key, None)
            if dry or latest.status not in RESUMABLE:
                _drop_upload(ws, plan.source.path)
    return latest


def _drop_upload(ws: Workspace, path: Path) -> None:
    """Delete the job's file if it is an upload (a CLI import reads the user's own file)."""
    folder = (ws.files_dir / "imports").resolve()
    if path.resolve().parent == folder:
        path.unlink(missing_ok=True)


def _announce(actor: Actor, plan: Plan, job_id: int, result: ImportResult) -> None:
    """The `import.completed` event of a finished import (notify webhooks may subscribe;
    an import with `skip_webhooks` sends this one instead of one per row)."""
    counts = _row_counts(result)
    catalog = plan.catalog
    payload = {
        "catalog": {"id": catalog.id, "api_name": catalog.api_name},
        "import": {"job": job_id, **counts, "processed": result.processed},
    }
    first = summary.record_summary(actor, catalog, "import.completed", payload)
    hooks.run_after_commit(actor, first, first)


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
    values["message"] = result.message
    values["heartbeat_at"] = utcnow()
    table = schema.imports
    query = sa.update(table).where(table.c.id == job_id)
    if finished:
        values["finished_at"] = utcnow()
    else:
        # Progress must not overwrite a cancel asked for by another process.
        query = query.where(table.c.status != CANCELLING)
    with ws.engine.begin() as conn:
        conn.execute(query.values(values))


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
        raise ImportNotFound.of("import_not_found", id=job_id)
    scoped = (actor.token_scopes or {}).get("catalogs")
    if scoped is not None and row.catalog_id not in scoped:
        raise ImportNotFound.of("import_not_found", id=job_id)
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
    out["message"] = row.message
    out["filename"] = row.filename
    out["resume_line"] = row.resume_line
    out["resumable"] = row.status in RESUMABLE and not out["dry_run"]
    out["error_rows"] = error_count(actor.workspace, job_id)
    out["created_at"] = render_datetime(row.created_at)
    out["finished_at"] = render_datetime(row.finished_at) if row.finished_at else None
    return out


def wait_for_jobs(timeout: float | None = None) -> None:
    """Join the import threads of this process (shutdown, tests)."""
    for thread in list(_threads.values()):
        thread.join(timeout)
