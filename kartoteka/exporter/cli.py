"""`kartoteka export CATALOG -o FILE`: the same export as the API, with a progress bar."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from kartoteka.auth import service as auth
from kartoteka.context import Actor
from kartoteka.filters.compiler import parse_filter_param
from kartoteka.users import service as users
from kartoteka.users.errors import UserNotFound

from .service import export_records

if TYPE_CHECKING:
    from kartoteka.workspaces import Instance

ExportCatalog = Annotated[str, typer.Argument(help="Catalog api_name or id.")]
ExportOutput = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="File to write (default: <catalog>.<format> here).", dir_okay=False
    ),
]
ExportFormat = Annotated[str, typer.Option("--format", "-f", help="csv, xlsx, jsonl or parquet.")]
ExportEncoding = Annotated[
    str | None, typer.Option(help="CSV only: utf-8 (default, with a BOM) or windows-1251.")
]
ExportDelimiter = Annotated[str | None, typer.Option(help="CSV only: ',' (default), ';' or 'tab'.")]
ExportFilter = Annotated[str | None, typer.Option("--filter", help="Filter JSON (docs/api.md).")]
ExportView = Annotated[str | None, typer.Option(help="Saved view id: its filter, sort, fields.")]
ExportFields = Annotated[str | None, typer.Option(help="Comma-separated api_names, in order.")]
ExportSort = Annotated[str | None, typer.Option(help="Comma-separated api_names, '-' descending.")]
ExportAs = Annotated[
    str | None,
    typer.Option("--as", help="Export with this user's rights (e-mail); default: everything."),
]

console = Console(highlight=False, stderr=True)


def export_command(
    instance: Instance,
    catalog: str,
    output: Path | None = None,
    format: str = "csv",
    *,
    workspace: str | None = None,
    as_user: str | None = None,
    **query: Any,
) -> Path:
    """Write the export to a file (a partial file is removed on failure); returns its path.

    `query` holds `filter` (JSON text), `view`, `fields`, `sort`, `encoding`, `delimiter`.
    """
    ws = instance.workspace(workspace or instance.settings.default_workspace)
    actor = Actor.system(ws)
    if as_user:
        user_id = users.find_user_id(ws, as_user)
        if user_id is None:
            raise UserNotFound.of("export_user_unknown", None, user=as_user)
        actor = auth.actor_for_user(ws, user_id, via="cli")
    query["filter"] = parse_filter_param(query.get("filter"))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("Exporting", total=None)
        export = export_records(
            actor, catalog, format, progress=lambda n: bar.update(task, completed=n), **query
        )
        bar.update(task, total=export.source.count())
        target = output or Path(export.filename.replace("/", "_"))
        bar.update(task, description=f"Exporting to {target}")
        try:
            with target.open("wb") as out:
                for block in export.body:
                    out.write(block)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    console.print(f"Exported to {target} ({os.path.getsize(target):,} bytes).", markup=False)
    return target
