"""Scenarios in the browser: the list, the step editor, runs with their viewer, test mode.

Every button is a form POST to a page here, which calls the scenarios service the REST
API calls (same rights: administrators). The editor posts the whole definition as JSON
(`definition`): the script (`frontend/scenarios.js`) draws the trigger and the step
tree from it and writes every change back, and without the script the JSON is edited as
text. The service's reasons come back by place (`steps[2].url`) in the page's language.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.routing import Route

from kartoteka.errors import DomainError, NotFound
from kartoteka.scenarios import service, summary
from kartoteka.scenarios.errors import ScenarioInvalid

from .. import scenario_forms as forms
from .. import widgets
from ..i18n import _
from ..pages import Ctx, page, redirect, render, upload_page

MAX_FILE = 1_000_000
NEW_SCENARIO: dict[str, Any] = {
    "id": None,
    "version": None,
    "name": "",
    "description": "",
    "active": False,
    "trigger": {"type": "manual"},
    "steps": [],
    "options": {},
}
EDITABLE = ("name", "description", "active", "trigger", "steps", "options")


def _id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound.of("scenario_not_found", None, id=text)
    return int(text)


def _url(ctx: Ctx, scenario_id: int | None = None, tail: str = "", **query: Any) -> str:
    url = f"{ctx.base}/admin/scenarios" + (f"/{scenario_id}" if scenario_id else "") + tail
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return url + ("?" + urlencode(query) if query else "")


def _catalog_names(ctx: Ctx) -> dict[str, str]:
    return {c.api_name: c.name for c in ctx.ws.meta().catalogs}


# ----- the list ------------------------------------------------------------------------------
@page
def scenarios_page(ctx: Ctx) -> Response:
    """Every scenario: trigger, on/off, last run, runs and failures."""
    return _list(ctx)


def _list(ctx: Ctx, status: int = 200, import_error: str = "") -> Response:
    items = service.list_scenarios(ctx.user)
    runs = summary.run_summaries(ctx.user)
    names = _catalog_names(ctx)
    rows = [
        {**s, "trigger_text": forms.trigger_summary(s["trigger"], names), "runs": runs.get(s["id"])}
        for s in items
    ]
    return render(
        ctx,
        "scenarios/list.html",
        status=status,
        items=rows,
        done=ctx.request.query_params.get("done") or "",
        import_error=import_error,
        statuses=forms.STATUSES,
    )


@page
def active_submit(ctx: Ctx, scenario_id: str) -> Response:
    """Switch a scenario on or off (its version stays)."""
    on = ctx.field("active") == "1"
    service.update_scenario(ctx.user, _id(scenario_id), {"active": on})
    return redirect(_url(ctx, done="on" if on else "off"))


@page
def duplicate_submit(ctx: Ctx, scenario_id: str) -> Response:
    """A copy of the scenario, switched off, named "… (copy)"; opens its editor."""
    found = service.get_scenario(ctx.user, _id(scenario_id))
    body = {k: found[k] for k in EDITABLE if found.get(k) is not None}
    body["name"] = _("%(name)s (copy)", name=found["name"])[:200]
    body["active"] = False
    created = service.create_scenario(ctx.user, body)
    return redirect(_url(ctx, created["id"], done="duplicated"))


@page
def delete_submit(ctx: Ctx, scenario_id: str) -> Response:
    """Delete the scenario with its versions and runs."""
    service.delete_scenario(ctx.user, _id(scenario_id))
    return redirect(_url(ctx, done="deleted"))


@page
def export_page(ctx: Ctx, scenario_id: str) -> Response:
    """The scenario as a file (the API's export format)."""
    found = service.export_scenario(ctx.user, _id(scenario_id))
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", str(found.get("name") or "scenario")).strip("-")
    name = f"{slug or 'scenario'}.json"
    return Response(
        orjson.dumps(found, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@upload_page
def import_submit(ctx: Ctx) -> Response:
    """Create a scenario from an uploaded file (made by export, or examples/scenarios/)."""
    upload = ctx.form.get("file") if ctx.form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _list(ctx, 422, _("Choose a scenario file (.json)."))
    data = upload.file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        return _list(ctx, 422, _("The file is too large for a scenario."))
    body, errors = forms.definition_from_text(data.decode("utf-8", "replace"))
    if errors:
        return _list(ctx, 422, errors["definition"])
    try:
        created = service.import_scenario(ctx.user, body)
    except DomainError as exc:
        found = forms.errors_of(exc)
        return _list(ctx, 422, "; ".join(f"{k}: {v}" for k, v in found.items()))
    return _created(ctx, created)


def _created(ctx: Ctx, created: dict[str, Any]) -> Response:
    if created.get("token"):
        return _token_page(ctx, created)
    return redirect(_url(ctx, created["id"], done="created"))


def _token_page(ctx: Ctx, scenario: dict[str, Any]) -> Response:
    trigger_url = str(ctx.request.base_url).rstrip("/") + (
        f"{ctx.base}/api/v1/scenarios/{scenario['id']}/trigger"
    )
    return render(ctx, "scenarios/token.html", scenario=scenario, trigger_url=trigger_url)


# ----- the editor ----------------------------------------------------------------------------
def _editor(
    ctx: Ctx,
    scenario: dict[str, Any],
    text: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    definition = {k: scenario.get(k) for k in EDITABLE}
    if not definition.get("description"):
        definition.pop("description")
    others = [s for s in service.list_scenarios(ctx.user) if s["id"] != scenario.get("id")]
    config = forms.editor_config(ctx.user, others, errors or {})
    trigger_url = ""
    if scenario.get("id"):
        trigger_url = str(ctx.request.base_url).rstrip("/") + (
            f"{ctx.base}/api/v1/scenarios/{scenario['id']}/trigger"
        )
    return render(
        ctx,
        "scenarios/editor.html",
        status=status,
        scenario=scenario,
        text=text if text is not None else forms.pretty(definition),
        errors=errors or {},
        config=widgets.data_block(config),
        trigger_url=trigger_url,
        timezone=ctx.ws.meta().timezone,
        done=ctx.request.query_params.get("done") or "",
    )


@page
def new_page(ctx: Ctx) -> Response:
    """The editor for a new scenario."""
    service.require_admin(ctx.user)
    return _editor(ctx, dict(NEW_SCENARIO))


@page
def new_submit(ctx: Ctx) -> Response:
    """Create the scenario from the posted definition."""
    service.require_admin(ctx.user)
    text = ctx.field("definition")
    body, errors = forms.definition_from_text(text)
    if not errors:
        try:
            return _created(ctx, service.create_scenario(ctx.user, body))
        except ScenarioInvalid as exc:
            errors = forms.errors_of(exc)
    return _editor(ctx, dict(NEW_SCENARIO), text, errors, 422)


@page
def editor_page(ctx: Ctx, scenario_id: str) -> Response:
    """The editor of a scenario (its current version)."""
    return _editor(ctx, service.get_scenario(ctx.user, _id(scenario_id)))


@page
def editor_submit(ctx: Ctx, scenario_id: str) -> Response:
    """Save the posted definition (a new version when trigger, steps or options change)."""
    found = service.get_scenario(ctx.user, _id(scenario_id))
    text = ctx.field("definition")
    body, errors = forms.definition_from_text(text)
    if not errors and not isinstance(body, dict):
        errors = {"definition": _("The definition must be a JSON object.")}
    if not errors:
        # The page edits the whole definition: a key left out of the JSON is not kept
        # from the stored version (a missing name, trigger or steps is refused).
        full = {**dict.fromkeys(("name", "trigger", "steps", "description")), "options": {}, **body}
        try:
            saved = service.update_scenario(ctx.user, found["id"], full)
        except ScenarioInvalid as exc:
            errors = forms.errors_of(exc)
        else:
            if saved.get("token"):
                return _token_page(ctx, saved)
            return redirect(_url(ctx, found["id"], done="saved"))
    return _editor(ctx, found, text, errors, 422)


@page
def token_submit(ctx: Ctx, scenario_id: str) -> Response:
    """A new incoming-call token, shown once (the old one stops working)."""
    target = _id(scenario_id)
    rotated = service.rotate_token(ctx.user, target)
    found = service.get_scenario(ctx.user, target)
    return _token_page(ctx, {**found, "token": rotated["token"]})


routes = [
    Route("/admin/scenarios", scenarios_page, methods=["GET"]),
    Route("/admin/scenarios/new", new_page, methods=["GET"]),
    Route("/admin/scenarios/new", new_submit, methods=["POST"]),
    Route("/admin/scenarios/import", import_submit, methods=["POST"]),
    Route("/admin/scenarios/{scenario_id}", editor_page, methods=["GET"]),
    Route("/admin/scenarios/{scenario_id}", editor_submit, methods=["POST"]),
    Route("/admin/scenarios/{scenario_id}/active", active_submit, methods=["POST"]),
    Route("/admin/scenarios/{scenario_id}/duplicate", duplicate_submit, methods=["POST"]),
    Route("/admin/scenarios/{scenario_id}/delete", delete_submit, methods=["POST"]),
    Route("/admin/scenarios/{scenario_id}/export", export_page, methods=["GET"]),
    Route("/admin/scenarios/{scenario_id}/token", token_submit, methods=["POST"]),
]
