"""Carrying on stopped imports (after kill -9, a restart or a cancel) and their error file.

A job commits each chunk with its checkpoint (`journal.py`), so resuming reads the file
again, skips every line up to `resume_line` and goes on; the counts start from the
job's. A server or worker resumes the interrupted jobs whose upload it keeps by itself
(`sweep_and_resume`); an import of the CLI (the user's own file) waits for
`kartoteka import --resume ID`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kartoteka.auth.service import actor_for_user
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Conflict, DomainError
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow

from .jobs import (
    RESUMABLE,
    _check_concurrency,
    _is_interrupted,
    _job_row,
    _mark_interrupted,
    _require_import_rights,
    _start_thread,
    get_import,
    log,
    owner,
    run_job,
    sweep_interrupted,
)
from .journal import error_csv
from .plan import Plan, plan_import
from .runner import ImportResult


def sweep_and_resume(ws: Workspace) -> dict[str, int]:
    """The worker's pass: mark dead jobs interrupted, then resume those it can."""
    return {"imports_interrupted": sweep_interrupted(ws), "imports_resumed": resume_interrupted(ws)}


# ----- resuming ----------------------------------------------------------------------------
def _resume_plan(actor: Actor, row: Any) -> Plan:
    """The plan of a stopped job, from its stored options and file (422 if it is gone)."""
    if row.status not in RESUMABLE:
        raise Conflict.of("import_not_resumable", id=row.id, status=row.status)
    options = dict(row.options or {})
    if options.get("dry_run"):
        raise Conflict.of("import_dry_run_resume", id=row.id)
    path = Path(row.source_path or "")
    if not row.source_path or not path.is_file():
        raise Conflict.of("import_file_gone", id=row.id)
    plan = plan_import(actor, row.catalog_id, path, options)
    if plan.source.headers != list(row.headers or plan.source.headers):
        raise Conflict.of("import_file_changed", id=row.id)
    return plan


def _claim(ws: Workspace, row: Any) -> bool:
    """Take a stopped job for this process (two resumers: one wins)."""
    table = schema.imports
    with ws.engine.begin() as conn:
        done = conn.execute(
            sa.update(table)
            .where(table.c.id == row.id, table.c.status == row.status)
            .values(status="running", owner=owner(), heartbeat_at=utcnow(), finished_at=None)
        )
    return done.rowcount == 1


def _start_of(row: Any) -> ImportResult:
    """The counts a resumed job starts from: those of its last committed chunk."""
    result = ImportResult(status="running", total=row.total)
    for name in ("processed", "created", "updated", "unchanged", "errors"):
        setattr(result, name, int(getattr(row, name) or 0))
    result.error_sample = [e for e in (row.error_sample or []) if e.get("line") is not None]
    return result


def resume_import(actor: Actor, job_id: int) -> dict[str, Any]:
    """Carry on a stopped import in the background, after its last committed chunk."""
    row = _stopped_row(actor, job_id)
    plan = _resume_plan(actor, row)
    _require_import_rights(actor, plan.catalog, plan.options.mode)
    _check_concurrency(actor)
    if not _claim(actor.workspace, row):
        raise Conflict.of("import_resuming", id=job_id)
    _start_thread(actor, plan, job_id, _start_of(row), int(row.resume_line or 0))
    return get_import(actor, job_id)


def resume_here(actor: Actor, job_id: int, progress: Any = None) -> tuple[Plan, ImportResult]:
    """Carry on a stopped import in this thread (the CLI's `--resume`)."""
    row = _stopped_row(actor, job_id)
    plan = _resume_plan(actor, row)
    if not _claim(actor.workspace, row):
        raise Conflict.of("import_resuming", id=job_id)
    return plan, run_job(
        actor, plan, job_id, _start_of(row), int(row.resume_line or 0), progress=progress
    )


def _stopped_row(actor: Actor, job_id: int) -> Any:
    """The job's row, marked interrupted first if its process is gone."""
    row = _job_row(actor, job_id)
    if _is_interrupted(actor.workspace, row, utcnow()):
        _mark_interrupted(actor.workspace, row, utcnow())
        row = _job_row(actor, job_id)
    return row


def _job_actor(ws: Workspace, row: Any) -> Actor | None:
    """Who a job writes as when it resumes by itself (None: its user is gone)."""
    if row.created_by is None:
        return Actor.system(ws)
    try:
        return actor_for_user(ws, int(row.created_by), via="import")
    except DomainError:
        return None


def resume_interrupted(ws: Workspace) -> int:
    """Resume, in this process, the stopped jobs whose upload is kept (a server restart
    carries on its imports); a CLI import (the user's own file) waits for `--resume`."""
    table = schema.imports
    folder = (ws.files_dir / "imports").resolve()
    with read_connection(ws.engine) as conn:
        rows = conn.execute(
            sa.select(table).where(table.c.status == "interrupted", table.c.resume_line.isnot(None))
        ).all()
    started = 0
    for row in rows:
        path = Path(row.source_path or "")
        if not row.source_path or path.resolve().parent != folder or not path.is_file():
            continue
        actor = _job_actor(ws, row)
        if actor is None or (row.options or {}).get("dry_run"):
            continue
        try:
            plan = _resume_plan(actor, row)
        except DomainError as exc:
            log.warning("import %s cannot resume by itself: %s", row.id, exc.message)
            continue
        if _claim(ws, row):
            _start_thread(actor, plan, row.id, _start_of(row), int(row.resume_line or 0))
            started += 1
            log.info("import %s in workspace %s resumed after line %s", row.id, ws.name,
                     row.resume_line)  # fmt: skip
    return started


# ----- the error file ----------------------------------------------------------------------
def error_file(actor: Actor, job_id: int) -> tuple[str, Any]:
    """(file name, streamed CSV body) of a job's refused rows: the file's own columns,
    then the line, the column and the reason."""
    row = _job_row(actor, job_id)
    options = row.options or {}
    delimiter = options.get("delimiter") or ","
    if delimiter not in (",", ";", "\t", "|"):
        delimiter = ","
    stem = Path(row.filename or f"import-{job_id}").stem or f"import-{job_id}"
    name = f"{stem}-errors-{job_id}.csv"
    return name, error_csv(actor.workspace, job_id, list(row.headers or []), delimiter)
