"""`kartoteka import FILE --catalog NAME`: the same import job as the API's, with a progress bar.

Registered in `kartoteka/cli.py`; `--resume ID`, `--cancel ID` and `--errors ID` act on
jobs (of this CLI or of a server).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kartoteka.context import Actor
from kartoteka.search import index as search_index

from . import jobs, resume
from .service import ImportResult, parse_options, plan_import

if TYPE_CHECKING:
    from kartoteka.workspaces import Instance

ImportFile = Annotated[
    Path | None, typer.Argument(help="A CSV or XLSX file.", exists=True, dir_okay=False)
]
ImportCatalog = Annotated[
    str | None, typer.Option("--catalog", "-c", help="Catalog api_name or id.")
]
ImportCancel = Annotated[
    int | None,
    typer.Option(
        "--cancel", help="Cancel the import job with this id (it stops after its current chunk)."
    ),
]
ImportKey = Annotated[
    list[str] | None, typer.Option("--key", "-k", help="Field(s) to match records on (repeat).")
]
ImportMode = Annotated[str | None, typer.Option(help="create (default), upsert or update.")]
ImportDryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check everything, write nothing, report the counts.")
]
ImportOnError = Annotated[str | None, typer.Option("--on-error", help="skip (default) or stop.")]
ImportOptionsJson = Annotated[
    str | None,
    typer.Option(
        "--options",
        help='All import options as JSON, as the API takes them (e.g. \'{"link_keys": '
        '{"client": "inn"}, "date_format": "дд.мм.гггг"}\'); --mode/--key/... override them.',
    ),
]
ImportResume = Annotated[
    int | None,
    typer.Option(
        "--resume", help="Carry on the stopped import job with this id after its last chunk."
    ),
]
ImportErrors = Annotated[
    int | None,
    typer.Option(
        "--errors",
        help="Write the error file (CSV: refused rows and why) of this job to --output.",
    ),
]
ImportOutput = Annotated[
    Path | None, typer.Option("--output", "-o", help="Where --errors writes.", dir_okay=False)
]
ImportJson = Annotated[
    bool, typer.Option("--json", help="Print the finished job as one JSON line on stdout.")
]

console = Console(highlight=False)


def import_command(
    instance: Instance,
    file: Path,
    catalog: str,
    key: list[str] | None = None,
    mode: str | None = None,
    dry_run: bool = False,
    on_error: str | None = None,
    workspace: str | None = None,
    options: str | None = None,
    as_json: bool = False,
) -> dict[str, Any]:
    """Import FILE into a catalog as the system actor, showing progress; exit 1 if it failed.

    The import is a job like an upload's (its id is printed first): Ctrl-C stops it after
    the current chunk and `--resume ID` carries it on; `--errors ID` gives its error file."""
    ws = instance.workspace(workspace or instance.settings.default_workspace)
    actor = Actor.system(ws)
    raw = dict(parse_options(options).to_json()) if options else {}
    given = {"mode": mode, "key": key or None, "on_error": on_error}
    raw.update({k: v for k, v in given.items() if v is not None})
    if dry_run:
        raw["dry_run"] = True
    opts = parse_options(raw)
    plan = plan_import(actor, catalog, file.resolve(), opts)
    job_id = jobs.create_job(actor, plan, file.name)
    console.print(f"Import job {job_id}", markup=False)

    def run(progress: Any) -> ImportResult:
        return jobs.run_job(actor, plan, job_id, progress=progress)

    result = _foreground(ws, job_id, run)
    return _finish(actor, job_id, result, opts.dry_run, as_json)


def resume_command(
    instance: Instance, job_id: int, workspace: str | None = None, as_json: bool = False
) -> dict[str, Any]:
    """Carry on a stopped import job after its last committed chunk, with progress."""
    ws = instance.workspace(workspace or instance.settings.default_workspace)
    actor = Actor.system(ws)
    console.print(f"Resuming import job {job_id}", markup=False)

    def run(progress: Any) -> ImportResult:
        return resume.resume_here(actor, job_id, progress)[1]

    result = _foreground(ws, job_id, run)
    return _finish(actor, job_id, result, False, as_json)


def _foreground(ws: Any, job_id: int, run: Any) -> ImportResult:
    """Run a job here with a progress bar; the first Ctrl-C asks it to stop after the
    current chunk (a second one stops at once: that chunk rolls back whole)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    asked = {"stop": False}

    def on_interrupt(_signum: int, _frame: Any) -> None:
        if asked["stop"]:
            raise KeyboardInterrupt
        asked["stop"] = True
        console.print("Stopping after the current chunk (Ctrl-C again to stop now)…")
        jobs.request_cancel(ws, job_id)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(f"Import {job_id}", total=None)

            def progress(result: ImportResult) -> None:
                bar.update(task, total=result.total, completed=result.processed)

            return run(progress)  # type: ignore[no-any-return]
    finally:
        signal.signal(signal.SIGINT, previous)


def _finish(
    actor: Actor, job_id: int, result: ImportResult, dry_run: bool, as_json: bool
) -> dict[str, Any]:
    _report(job_id, result, dry_run)
    if not dry_run and search_index.has_pending(actor.workspace):
        # No worker may be running beside the CLI: index the imported records now.
        started = time.perf_counter()
        done = search_index.catch_up(actor.workspace)
        seconds = time.perf_counter() - started
        console.print(f"Search index: {done} records indexed in {seconds:.1f} s", markup=False)
    job = jobs.get_import(actor, job_id)
    if as_json:
        typer.echo(json.dumps(job, ensure_ascii=False, default=str))
    if result.status == "failed":
        raise typer.Exit(1)
    if result.status == "cancelled":
        raise typer.Exit(130)
    return job


def _report(job_id: int, result: ImportResult, dry_run: bool) -> None:
    title = "Dry run (nothing written)" if dry_run else "Import"
    console.print(
        f"{title} {job_id}: {result.status}; {result.processed} rows read, {result.created} "
        f"created, {result.updated} updated, {result.unchanged} unchanged, {result.errors} "
        "errors.",
        markup=False,
    )
    if result.message:
        console.print(result.message, markup=False)
    if result.status == "cancelled":
        console.print(f"Carry on with: kartoteka import --resume {job_id}", markup=False)
    if result.errors:
        console.print(f"Error file: kartoteka import --errors {job_id} -o errors.csv", markup=False)
    if result.error_sample:
        table = Table("line", "column", "value", "message")
        for e in result.error_sample[:20]:
            table.add_row(str(e["line"] or ""), e["column"] or "", str(e["value"] or ""),
                          e["message"])  # fmt: skip
        console.print(table)


def cancel_command(instance: Instance, job_id: int, workspace: str | None = None) -> dict[str, Any]:
    """Ask an import job (run by any server process) to stop after its current chunk."""
    ws = instance.workspace(workspace or instance.settings.default_workspace)
    job = jobs.cancel_import(Actor.system(ws), job_id)
    console.print(f"Import {job_id}: {job['status']}", markup=False)
    return job


def errors_command(
    instance: Instance, job_id: int, output: Path | None, workspace: str | None = None
) -> None:
    """Write a job's error file to `output` (or stdout)."""
    ws = instance.workspace(workspace or instance.settings.default_workspace)
    name, body = resume.error_file(Actor.system(ws), job_id)
    if output is None:
        out = sys.stdout.buffer
        for block in body:
            out.write(block)
        out.flush()
        return
    with output.open("wb") as fh:
        for block in body:
            fh.write(block)
    console.print(f"Wrote {output} ({name})", markup=False)
