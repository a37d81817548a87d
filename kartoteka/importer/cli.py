"""`kartoteka import FILE --catalog NAME`: the same import as the API, with a progress bar.

The lead registers it in `kartoteka/cli.py`, e.g.::

    @app.command("import")
    def import_(ctx: typer.Context, file: ImportFile, catalog: ImportCatalog, key: ImportKey = None,
                mode: ImportMode = "create", dry_run: ImportDryRun = False,
                on_error: ImportOnError = "skip", workspace: WorkspaceOpt = None) -> None:
        with opened(ctx) as instance:
            import_command(instance, file, catalog, key, mode, dry_run, on_error,
                           _ws_name(ctx, workspace))
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kartoteka.context import Actor

from . import jobs
from .service import ImportResult, parse_options, plan_import, run_import

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
ImportMode = Annotated[str, typer.Option(help="create, upsert or update.")]
ImportDryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check everything, write nothing, report the counts.")
]
ImportOnError = Annotated[str, typer.Option("--on-error", help="skip (default) or stop.")]

console = Console(highlight=False)


def import_command(
    instance: Instance,
    file: Path,
    catalog: str,
    key: list[str] | None = None,
    mode: str = "create",
    dry_run: bool = False,
    on_error: str = "skip",
    workspace: str | None = None,
) -> dict[str, Any]:
    """Import FILE into a catalog as the system actor, showing progress; exit 1 if it failed."""
    ws = instance.workspace(workspace or instance.settings.default_workspace)
    actor = Actor.system(ws)
    options = parse_options(
        {"mode": mode, "key": key or [], "dry_run": dry_run, "on_error": on_error}
    )
    plan = plan_import(actor, catalog, file, options)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"Importing {file.name}", total=None)

        def progress(result: ImportResult) -> None:
            bar.update(task, total=result.total, completed=result.processed)

        result = run_import(actor, plan, progress)
    _report(result, dry_run)
    if result.status == "failed":
        raise typer.Exit(1)
    return result.to_json()


def _report(result: ImportResult, dry_run: bool) -> None:
    title = "Dry run (nothing written)" if dry_run else "Import"
    console.print(
        f"{title}: {result.status}; {result.processed} rows read, {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged, {result.errors} errors.",
        markup=False,
    )
    if result.message:
        console.print(result.message, markup=False)
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
