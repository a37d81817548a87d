"""Workspaces of this server for its hosting administrators: list, create, back up, restore.

The operator decides what the web interface may do (`KARTOTEKA_WORKSPACES_UI`: `off`,
`manage`, `backup`); only administrators of the default workspace get the page. Creating
a workspace also creates its first administrator and shows their invitation link.
Backups and restores are the CLI's own functions (`workspaces.backup`).
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.routing import Route

from kartoteka import edge
from kartoteka.context import Actor
from kartoteka.errors import DomainError, Forbidden, ItemError, NotFound, ValidationFailed
from kartoteka.messages import message as message_of
from kartoteka.security.log import log_event
from kartoteka.storage.engine import utcnow
from kartoteka.users import invitations
from kartoteka.users import service as users
from kartoteka.workspaces.backup import backup_workspace, restore_workspace
from kartoteka.workspaces.service import Instance, check_name

from ..feedback import form_errors
from ..pages import Ctx, page, redirect, render, require_admin, upload_page


def _instance(ctx: Ctx, need: str = "manage") -> Instance:
    """The server, for an administrator of the default workspace, if the operator allows."""
    require_admin(ctx)
    instance: Instance = edge.instance(ctx.request)
    if ctx.ws.name != instance.settings.default_workspace:
        raise Forbidden.of("workspaces_home_only")
    allowed = instance.settings.workspaces_ui
    if allowed == "off" or (need == "backup" and allowed != "backup"):
        raise ValidationFailed(errors=[ItemError(None, None, None, "workspaces_not_allowed", {})])
    return instance


def _page(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    require_admin(ctx)
    instance: Instance = edge.instance(ctx.request)
    mode = instance.settings.workspaces_ui
    home = ctx.ws.name == instance.settings.default_workspace
    data: dict[str, Any] = {
        "mode": mode if home else "off",
        "home": home,
        "items": instance.list_workspaces() if home and mode != "off" else [],
        "default_name": instance.settings.default_workspace,
        "errors": {},
        "general_error": None,
        "values": {},
        "created": None,
        "saved": ctx.request.query_params.get("saved") or "",
    }
    data.update(extra)
    return render(ctx, "settings/workspaces.html", status=status, **data)


@page
def workspaces_page(ctx: Ctx) -> Response:
    """This server's workspaces (or why the page offers nothing here)."""
    return _page(ctx)


@page
def create_submit(ctx: Ctx) -> Response:
    """Create a workspace with its first administrator, invited by a one-time link."""
    name, email = ctx.field("name").strip(), ctx.field("email").strip()
    values = {"name": name, "email": email}
    try:
        instance = _instance(ctx)
        check_name(name)
        if not users.EMAIL_RE.match(email):
            raise ValidationFailed(errors=[ItemError(None, None, "email", "email", {})])
        ws = instance.create_workspace(name)
        system = Actor.system(ws)
        admin = users.create_user(
            system, {"email": email, "name": email.split("@")[0], "is_admin": True}
        )
        link = invitations.issue_link(system, admin["id"], "invite")
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _page(ctx, 422, errors=errors, general_error=general, values=values)
    root = str(ctx.request.base_url).rstrip("/")
    created = {"name": name, "email": email, "url": f"{root}/w/{name}/link/{link['token']}"}
    return _page(ctx, 201, created=created)


@page
def backup_submit(ctx: Ctx, name: str) -> Response:
    """Download a consistent backup of one workspace (.tar.gz)."""
    instance = _instance(ctx, "backup")
    if instance.location(name) is None:
        raise NotFound.of("workspace_not_found", None, name=name)
    folder = Path(tempfile.mkdtemp(prefix="kt-backup-"))
    stamp = utcnow().strftime("%Y-%m-%d-%H%M")
    out = folder / f"{name}-{stamp}.tar.gz"
    try:
        backup_workspace(instance, name, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    log_event(ctx.ws, "workspace_backup", actor=ctx.user, action="backup", workspace=name)
    return FileResponse(
        out,
        media_type="application/gzip",
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@upload_page
def restore_submit(ctx: Ctx) -> Response:
    """Restore an uploaded backup as a workspace (replacing one only when confirmed)."""
    name = ctx.field("name").strip()
    replace = ctx.field("replace") == "1"
    values = {"restore_name": name}
    upload = ctx.form.get("archive") if ctx.form is not None else None
    try:
        instance = _instance(ctx, "backup")
        check_name(name)
        if name == ctx.ws.name:
            raise ValidationFailed(errors=[ItemError(None, None, "name", "restore_self", {})])
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed(errors=[ItemError(None, None, "archive", "required", {})])
        with tempfile.TemporaryDirectory(prefix="kt-restore-") as folder:
            archive = Path(folder) / "backup.tar.gz"
            with archive.open("wb") as fh:
                shutil.copyfileobj(upload.file, fh)
            restore_workspace(instance, name, archive, force=replace)
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        errors = {("restore_" + k): v for k, v in errors.items()}
        return _page(ctx, 422, errors=errors, general_error=general, values=values)
    except (OSError, EOFError, tarfile.TarError):  # not a gzip tar at all
        message = {"restore_archive": message_of("backup_unreadable", {}, ctx.lang)}
        return _page(ctx, 422, errors=message, values=values)
    log_event(ctx.ws, "workspace_backup", actor=ctx.user, action="restore", workspace=name)
    return redirect(f"{ctx.base}/admin/workspaces?saved=restored")


routes = [
    Route("/admin/workspaces", workspaces_page, methods=["GET"]),
    Route("/admin/workspaces", create_submit, methods=["POST"]),
    Route("/admin/workspaces/restore", restore_submit, methods=["POST"]),
    Route("/admin/workspaces/{name}/backup", backup_submit, methods=["POST"]),
]
