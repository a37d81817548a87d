"""The `kartoteka` command: serve, worker, init, workspaces, users, tokens, migrate, backup.

Longer than our ~500-line mark on purpose: it is one flat list of ~30 Typer commands,
each a thin wrapper over one service call, and a reader looks a command up by name.
Split it by command group (`kartoteka/cli/<group>.py`) when a group grows logic.
"""

from __future__ import annotations

import importlib
import json
import os
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from kartoteka import __version__
from kartoteka.auth import service as auth
from kartoteka.auth import tokens
from kartoteka.catalogs.models import Catalog
from kartoteka.config import Settings
from kartoteka.context import Actor
from kartoteka.duplicates import cli as duplicates_cli
from kartoteka.errors import DomainError
from kartoteka.exporter import cli as export_cli
from kartoteka.files.service import delete_orphans
from kartoteka.importer.cli import (
    ImportCancel,
    ImportCatalog,
    ImportDryRun,
    ImportErrors,
    ImportFile,
    ImportJson,
    ImportKey,
    ImportMode,
    ImportOnError,
    ImportOptionsJson,
    ImportOutput,
    ImportResume,
    cancel_command,
    errors_command,
    import_command,
    resume_command,
)
from kartoteka.observability.asgi import start_worker_metrics
from kartoteka.scenarios import maintenance as scenario_upkeep
from kartoteka.scenarios import service as scenarios
from kartoteka.search import index as search_index
from kartoteka.users import service as users
from kartoteka.users.errors import UserNotFound
from kartoteka.webhooks import maintenance as upkeep
from kartoteka.workspaces import Instance
from kartoteka.workspaces.backup import backup_workspace, restore_workspace

app = typer.Typer(
    help="Kartoteka: a self-hosted low-code business platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
workspace_app = typer.Typer(help="Create, list and delete workspaces.", no_args_is_help=True)
user_app = typer.Typer(help="Manage the users of a workspace.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
files_app = typer.Typer(help="Maintain uploaded files.", no_args_is_help=True)
app.add_typer(files_app, name="files")
search_app = typer.Typer(help="Maintain the full-text search indexes.", no_args_is_help=True)
scenarios_app = typer.Typer(help="Install and list scenarios.", no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")
app.add_typer(search_app, name="search")
duplicates_app = typer.Typer(help="Duplicate rules, scan and merge.", no_args_is_help=True)
app.add_typer(duplicates_app, name="duplicates")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace name (default: the default one).")
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error and exit non-zero."""
    err_console.print(f"Error: {message}", markup=False)
    raise typer.Exit(code)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"kartoteka {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def configure(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (overrides KARTOTEKA_DATA_DIR).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL URL (overrides KARTOTEKA_DATABASE_URL)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
) -> None:
    """Read settings from the environment and let the global options override them."""
    settings = Settings.from_env()
    if data_dir is not None:
        settings = replace(settings, data_dir=data_dir)
    if database_url is not None:
        settings = replace(settings, database_url=database_url or None)
    ctx.obj = settings


@contextmanager
def opened(ctx: typer.Context) -> Iterator[Instance]:
    """An Instance for one command; domain errors become one-line messages."""
    try:
        instance = Instance(ctx.obj)
    except (SQLAlchemyError, OSError) as exc:  # an unreachable database: no traceback
        fail("cannot open the database: " + str(exc).strip().splitlines()[0])
    try:
        yield instance
    except DomainError as exc:
        fail(_describe(exc))
    except (OSError, tarfile.TarError) as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail("database error: " + _first_line(exc))
    finally:
        instance.close()


def _first_line(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _describe(exc: DomainError) -> str:
    fields = getattr(exc, "fields", None) or {}
    details = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return f"{exc.message} ({details})" if details else exc.message


def _ws_name(ctx: typer.Context, workspace: str | None) -> str:
    return workspace or ctx.obj.default_workspace


def _print_login(created: dict | None) -> None:
    if created and created.get("generated"):
        console.print(f"Login: {created['email']}", markup=False)
        console.print(f"Password: {created['password']}", markup=False)


# ----- running ------------------------------------------------------------------------
@app.command()
def init(ctx: typer.Context) -> None:
    """Create the default workspace and its first administrator if missing."""
    with opened(ctx) as instance:
        created = instance.init()
    if created is None:
        console.print("Already initialised.")
    elif created["generated"]:
        _print_login(created)
    else:
        console.print(f"Administrator created: {created['email']}", markup=False)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web worker processes.")] = 1,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run background jobs in-process.")
    ] = False,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Serve the UI and the API (initialises and migrates the data on first start)."""
    import uvicorn  # lazy: only `serve` needs the server

    with opened(ctx) as instance:
        created = instance.init()
        instance.migrate_all()
    _export_settings(ctx.obj, no_worker)
    console.print(f"Kartoteka is running at http://{host}:{port}", markup=False)
    _print_login(created)
    uvicorn.run(
        "kartoteka.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
    )


def _export_settings(settings: Settings, no_worker: bool) -> None:
    """Pass CLI overrides to the app through the environment so worker processes see them."""
    os.environ["KARTOTEKA_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    if settings.database_url:
        os.environ["KARTOTEKA_DATABASE_URL"] = settings.database_url
    else:
        os.environ.pop("KARTOTEKA_DATABASE_URL", None)
    if no_worker:
        os.environ["KARTOTEKA_NO_WORKER"] = "1"
    os.environ["KARTOTEKA_LOG_FORMAT"] = _with_log_format(settings).log_format


def _with_log_format(settings: Settings) -> Settings:
    """The commands that run a server log as `auto` unless KARTOTEKA_LOG_FORMAT says otherwise."""
    settings.log_format = settings.log_format or "auto"
    return settings


@app.command()
def worker(
    ctx: typer.Context,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Serve only this workspace (repeatable; default: every workspace).",
        ),
    ] = None,
) -> None:
    """Run background jobs (webhooks, maintenance) without serving HTTP."""
    try:
        workers = importlib.import_module("kartoteka.workers")
    except ModuleNotFoundError as exc:
        if exc.name not in {"kartoteka.workers", "kartoteka"}:
            raise
        fail("background workers are not available in this build (kartoteka.workers)", 2)
    run_forever = getattr(workers, "run_forever", None)
    if run_forever is None:
        fail("kartoteka.workers has no run_forever()", 2)
    with opened(ctx) as instance:
        unknown = [n for n in only or [] if instance.cached_workspace(n) is None and
                   n not in {w["name"] for w in instance.list_workspaces()}]  # fmt: skip
        if unknown:
            fail(f"no workspace called {unknown[0]!r}", 1)
        start_worker_metrics(instance, _with_log_format(instance.settings))
        try:
            run_forever(instance, only=only or None)
        except KeyboardInterrupt:
            pass


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Upgrade every workspace to the current schema."""
    with opened(ctx) as instance, Progress(console=console, transient=True) as progress:
        total = len(instance.list_workspaces())
        task = progress.add_task("Migrating", total=total)
        done = instance.migrate_all(lambda _name: progress.advance(task))
    for name, before, after in done:
        state = "up to date" if before == after else f"{before or 'empty'} -> {after}"
        console.print(f"{name}: {state}", markup=False)


# ----- workspaces ---------------------------------------------------------------------
@workspace_app.command("create")
def workspace_create(ctx: typer.Context, name: str) -> None:
    """Create an empty workspace."""
    with opened(ctx) as instance:
        instance.create_workspace(name)
    console.print(f"Workspace {name} created.", markup=False)


@workspace_app.command("list")
def workspace_list(ctx: typer.Context) -> None:
    """List workspaces and where they live."""
    with opened(ctx) as instance:
        rows = instance.list_workspaces()
    table = Table("name", "location", "created")
    for row in rows:
        table.add_row(row["name"], row["location"], f"{row['created_at']:%Y-%m-%d %H:%M}")
    console.print(table)


@workspace_app.command("delete")
def workspace_delete(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a workspace with all its data and files."""
    if not yes and not typer.confirm(f"Delete workspace {name} and all its data?"):
        fail("aborted")
    with opened(ctx) as instance:
        instance.delete_workspace(name)
    console.print(f"Workspace {name} deleted.", markup=False)


# ----- users and tokens ---------------------------------------------------------------
@user_app.command("create")
def user_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="At least 8 characters.")
    ],
    admin: Annotated[bool, typer.Option("--admin", help="Make an administrator.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a user."""
    with opened(ctx) as instance:
        ws = instance.workspace(_ws_name(ctx, workspace))
        spec = {"email": email, "name": name, "password": password, "is_admin": admin}
        user = users.create_user(Actor.system(ws), spec)
    console.print(f"User {user['email']} created (id {user['id']}).", markup=False)


@user_app.command("list")
def user_list(ctx: typer.Context, workspace: WorkspaceOpt = None) -> None:
    """List users."""
    with opened(ctx) as instance:
        ws = instance.workspace(_ws_name(ctx, workspace))
        rows = users.list_users(Actor.system(ws))
    table = Table("id", "email", "name", "admin", "active")
    for u in rows:
        table.add_row(str(u["id"]), u["email"], u["name"], _yes(u["is_admin"]), _yes(u["active"]))
    console.print(table)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="At least 8 characters.")
    ],
    workspace: WorkspaceOpt = None,
) -> None:
    """Set a user's password (ends their sessions)."""
    with opened(ctx) as instance:
        ws = instance.workspace(_ws_name(ctx, workspace))
        users.set_password(ws, email, password)
    console.print(f"Password of {email} changed.", markup=False)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The user who owns the token.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    read_only: Annotated[bool, typer.Option("--read-only", help="Only read access.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API token and print it (it is shown only once)."""
    with opened(ctx) as instance:
        ws = instance.workspace(_ws_name(ctx, workspace))
        user_id = users.find_user_id(ws, email)
        if user_id is None:
            raise UserNotFound(f"no user with email {email}")  # english-ok: the operator's CLI
        actor = auth.actor_for_user(ws, user_id)
        created = tokens.create_api_token(actor, name, {"read_only": True} if read_only else None)
    console.print(created["token"], markup=False)


# ----- backup and restore -------------------------------------------------------------
@app.command()
def backup(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="The .tar.gz file to write.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Write a consistent backup of a workspace (safe while serving)."""
    name = _ws_name(ctx, workspace)
    with opened(ctx) as instance:
        backup_workspace(instance, name, out)
    console.print(f"Workspace {name} backed up to {out}.", markup=False)


@app.command()
def restore(
    ctx: typer.Context,
    archive: Annotated[Path, typer.Argument(help="A .tar.gz written by `kartoteka backup`.")],
    workspace: WorkspaceOpt = None,
    force: Annotated[bool, typer.Option(help="Replace an existing workspace.")] = False,
) -> None:
    """Restore a workspace from a backup."""
    if not archive.is_file():
        fail(f"no such file: {archive}")
    name = _ws_name(ctx, workspace)
    with opened(ctx) as instance:
        restore_workspace(instance, name, archive, force=force)
    console.print(f"Workspace {name} restored from {archive}.", markup=False)


# ----- files -----------------------------------------------------------------------------
@files_app.command("gc")
def files_gc(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    days: Annotated[float, typer.Option(help="Only files unattached for this long.")] = 1.0,
) -> None:
    """Delete uploaded files that no record holds (after `days`)."""
    name = _ws_name(ctx, workspace)
    with opened(ctx) as instance:
        removed = delete_orphans(instance.workspace(name), timedelta(days=days))
    console.print(f"Removed {removed} unattached file(s) from workspace {name}.", markup=False)


# ----- scenarios ------------------------------------------------------------------------
def _scenario_file(path: Path) -> Any:
    """A scenario file's JSON; a clear error with the line when it is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        fail(f"{path}: line {exc.lineno}: {exc.msg}")
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")


@scenarios_app.command("install")
def scenarios_install(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="Scenario files (JSON), e.g. examples/scenarios/*.json.")
    ],
    workspace: WorkspaceOpt = None,
    inactive: Annotated[bool, typer.Option(help="Install switched off.")] = False,
) -> None:
    """Install scenario files (exported ones, or the examples) into a workspace."""
    name = _ws_name(ctx, workspace)
    bodies = [(path, _scenario_file(path)) for path in files]
    with opened(ctx) as instance:
        actor = Actor.system(instance.workspace(name))
        for path, body in bodies:
            if inactive and isinstance(body, dict):
                body["active"] = False
            try:
                created = scenarios.import_scenario(actor, body)
            except DomainError as exc:
                fail(f"{path}: {_describe(exc)}")
            line = f"Installed scenario {created['id']} {created['name']!r} from {path}"
            if created.get("token"):
                line += f"; incoming-call token (shown once): {created['token']}"
            console.print(line, markup=False)


@scenarios_app.command("list")
def scenarios_list(ctx: typer.Context, workspace: WorkspaceOpt = None) -> None:
    """List the scenarios of a workspace."""
    name = _ws_name(ctx, workspace)
    with opened(ctx) as instance:
        items = scenarios.list_scenarios(Actor.system(instance.workspace(name)))
    table = Table("id", "name", "trigger", "version", "active")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["name"],
            item["trigger"]["type"],
            str(item["version"]),
            _yes(item["active"]),
        )
    console.print(table)


# ----- search ---------------------------------------------------------------------------
@search_app.command("rebuild")
def search_rebuild(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    catalog: Annotated[str | None, typer.Option(help="Only this catalog (api_name or id).")] = None,
) -> None:
    """Rebuild the full-text indexes from the records (after an upgrade or a restore)."""
    name = _ws_name(ctx, workspace)
    started_at = time.monotonic()
    with opened(ctx) as instance, Progress(console=console) as progress:
        task = None

        def started(found: Catalog, total: int) -> None:
            nonlocal task
            task = progress.add_task(f"Indexing {found.api_name}", total=total)

        def advanced(count: int) -> None:
            if task is not None:
                progress.advance(task, count)

        try:
            done = search_index.rebuild(instance.workspace(name), catalog, started, advanced)
        except DomainError as exc:
            fail(_describe(exc))
    total = sum(done.values())
    seconds = max(time.monotonic() - started_at, 1e-6)
    console.print(
        f"Indexed {total} record(s) in {len(done)} catalog(s) in {seconds:.1f} s "
        f"({total / seconds:.0f} records/s).",
        markup=False,
    )


# ----- maintenance -----------------------------------------------------------------------
MAINTENANCE_STEPS = {
    "disabled": "checking failing webhooks",
    "deliveries_done_pruned": "pruning delivered deliveries",
    "deliveries_failed_pruned": "pruning failed deliveries",
    "attempt_bodies_emptied": "sharing attempt request bodies",
    "events_pruned": "pruning outbox events",
    "notices_pruned": "pruning read notices",
}


@app.command()
def maintenance(ctx: typer.Context, workspace: WorkspaceOpt = None) -> None:
    """Disable failing webhooks; prune old deliveries, events and notices (all workspaces)."""
    with opened(ctx) as instance, Progress(console=console, transient=True) as progress:
        names = [workspace] if workspace else [row["name"] for row in instance.list_workspaces()]
        for name in names:
            task = progress.add_task(f"{name}: starting", total=None)

            def show(step: str, count: int, name: str = name, task: Any = task) -> None:
                label = MAINTENANCE_STEPS.get(step, step)
                progress.update(task, description=f"{name}: {label} ({count:,})")

            counts = upkeep.run(instance.workspace(name), progress=show)
            counts.update(scenario_upkeep.prune(instance.workspace(name)))
            progress.remove_task(task)
            done = ", ".join(
                f"{key.replace('_', ' ')} {counts[key]:,}"
                for key in (*MAINTENANCE_STEPS, "scenario_runs_pruned")
            )
            console.print(f"{name}: {done}", markup=False)


# ----- import ----------------------------------------------------------------------------
@app.command("import")
def import_(
    ctx: typer.Context,
    file: ImportFile = None,
    catalog: ImportCatalog = None,
    key: ImportKey = None,
    mode: ImportMode = None,
    dry_run: ImportDryRun = False,
    on_error: ImportOnError = None,
    options: ImportOptionsJson = None,
    workspace: WorkspaceOpt = None,
    cancel: ImportCancel = None,
    resume: ImportResume = None,
    errors: ImportErrors = None,
    output: ImportOutput = None,
    as_json: ImportJson = False,
) -> None:
    """Import a CSV, TSV or XLSX file into a catalog, with a progress bar (same rules and
    options as the API; Ctrl-C stops after the current chunk). `--resume ID` carries on a
    stopped import, `--cancel ID` stops a running one, `--errors ID` writes its error file."""
    acting = [x for x in (cancel, resume, errors) if x is not None]
    if len(acting) > 1 or (not acting and (file is None or catalog is None)):
        fail("give a FILE and --catalog, or one of --resume ID, --cancel ID, --errors ID")
    with opened(ctx) as instance:
        name = _ws_name(ctx, workspace)
        if cancel is not None:
            cancel_command(instance, cancel, name)
        elif resume is not None:
            resume_command(instance, resume, name, as_json)
        elif errors is not None:
            errors_command(instance, errors, output, name)
        else:
            assert file is not None and catalog is not None
            import_command(
                instance, file, catalog, key, mode, dry_run, on_error, name, options, as_json
            )


# ----- export ----------------------------------------------------------------------------
@app.command("export")
def export(
    ctx: typer.Context,
    catalog: export_cli.ExportCatalog,
    output: export_cli.ExportOutput = None,
    format: export_cli.ExportFormat = "csv",
    encoding: export_cli.ExportEncoding = None,
    delimiter: export_cli.ExportDelimiter = None,
    filter: export_cli.ExportFilter = None,
    view: export_cli.ExportView = None,
    fields: export_cli.ExportFields = None,
    sort: export_cli.ExportSort = None,
    as_user: export_cli.ExportAs = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Export a catalog (or a view, filter, sort, fields) to CSV, XLSX, JSON Lines or Parquet,
    with a progress bar (same rules as the API)."""
    with opened(ctx) as instance:
        export_cli.export_command(
            instance, catalog, output, format, workspace=_ws_name(ctx, workspace),
            as_user=as_user, filter=filter, view=view, fields=fields, sort=sort,
            encoding=encoding, delimiter=delimiter,
        )  # fmt: skip


def main() -> None:
    """Entry point of the `kartoteka` command."""
    app(prog_name="kartoteka")


if __name__ == "__main__":
    main()


# ----- duplicates --------------------------------------------------------------------------
@duplicates_app.command("rules")
def duplicates_rules(
    ctx: typer.Context, catalog: duplicates_cli.Catalog, workspace: WorkspaceOpt = None
) -> None:
    """List a catalog's duplicate rules."""
    with opened(ctx) as instance:
        duplicates_cli.list_rules(instance, _ws_name(ctx, workspace), catalog)


@duplicates_app.command("add-rule")
def duplicates_add_rule(
    ctx: typer.Context,
    catalog: duplicates_cli.Catalog,
    fields: duplicates_cli.Fields,
    name: Annotated[str | None, typer.Option(help="The rule's name.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a duplicate rule, e.g. `add-rule clients phone` or `clients name inn:digits`."""
    with opened(ctx) as instance:
        duplicates_cli.add_rule(instance, _ws_name(ctx, workspace), catalog, fields, name)


@duplicates_app.command("scan")
def duplicates_scan(
    ctx: typer.Context,
    catalog: duplicates_cli.Catalog,
    rule: duplicates_cli.RuleOpt = None,
    as_json: duplicates_cli.AsJson = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print the groups of records sharing a rule's key."""
    with opened(ctx) as instance:
        duplicates_cli.scan_command(instance, _ws_name(ctx, workspace), catalog, rule, as_json)


@duplicates_app.command("merge")
def duplicates_merge(
    ctx: typer.Context,
    catalog: duplicates_cli.Catalog,
    into: Annotated[int, typer.Argument(help="The record that stays.")],
    others: Annotated[list[int], typer.Argument(help="The records merged into it.")],
    take: duplicates_cli.Take = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Merge records into one (links, comments, files and shares move to it)."""
    with opened(ctx) as instance:
        duplicates_cli.merge_command(
            instance, _ws_name(ctx, workspace), catalog, into, others, take or []
        )
