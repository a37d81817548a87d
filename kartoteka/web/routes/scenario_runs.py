"""A scenario's runs in the browser: the list by state, the run viewer (each step's input,
output and error), retry from the failed step, cancel a waiting run, and test mode (run
against a chosen record now, HTTP and e-mail recorded, not sent; the trace is shown)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.errors import DomainError, NotFound
from kartoteka.records import service as records
from kartoteka.scenarios import service

from .. import scenario_forms as forms
from ..pages import Ctx, page, redirect, render

RUNS_PAGE = 30


def _id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound.of("page_item_not_found", None, ref=text)
    return int(text)


def _runs_url(ctx: Ctx, scenario_id: int, run_id: int | None = None, **query: Any) -> str:
    url = f"{ctx.base}/admin/scenarios/{scenario_id}/runs" + (f"/{run_id}" if run_id else "")
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return url + ("?" + urlencode(query) if query else "")


def _record_titles(ctx: Ctx, runs: list[dict[str, Any]]) -> list[str]:
    """Each run's record as "Title (#id)" ("#id" when it is gone or untitled), reading
    the records of one catalog in one query."""
    wanted: dict[int, set[int]] = {}
    for run in runs:
        if run.get("record"):
            wanted.setdefault(run["record"]["catalog_id"], set()).add(run["record"]["id"])
    titles: dict[tuple[int, int], str] = {}
    meta = ctx.ws.meta()
    for catalog_id, ids in wanted.items():
        catalog = meta.catalog(catalog_id)
        if catalog is None or catalog.title_field is None:
            continue
        try:
            found = records.get_records(ctx.user, catalog.id, sorted(ids))
        except DomainError:
            continue
        key = catalog.title_field.api_name
        for rid, rec in found.items():
            titles[(catalog_id, rid)] = str((rec.get("values") or {}).get(key) or "")
    out = []
    for run in runs:
        rec = run.get("record")
        if not rec:
            out.append("")
            continue
        title = titles.get((rec["catalog_id"], rec["id"]), "")
        out.append(f"{title} (#{rec['id']})" if title else f"#{rec['id']}")
    return out


def _common(ctx: Ctx, scenario: dict[str, Any]) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "statuses": forms.STATUSES,
        "triggers": forms.TRIGGERS,
        "step_title": forms.step_title,
        "pretty": forms.pretty,
    }


@page
def runs_page(ctx: Ctx, scenario_id: str) -> Response:
    """Runs of a scenario, newest first (`?status=`, `?before=`)."""
    found = service.get_scenario(ctx.user, _id(scenario_id))
    params = ctx.request.query_params
    status = params.get("status") or None
    if status not in forms.STATUSES:
        status = None
    before_text = params.get("before") or ""
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    page_of = service.list_runs(
        ctx.user, found["id"], status, RUNS_PAGE, before, lang=ctx.lang, with_steps=False
    )
    titles = _record_titles(ctx, page_of["items"])
    items = [{**r, "record_title": t} for r, t in zip(page_of["items"], titles, strict=True)]
    return render(
        ctx,
        "scenarios/runs.html",
        runs=items,
        shown=status,
        older=page_of["next_before"],
        done=params.get("done") or "",
        **_common(ctx, found),
    )


def _viewer(ctx: Ctx, scenario: dict[str, Any], run: dict[str, Any], status: int = 200) -> Response:
    return render(
        ctx,
        "scenarios/run.html",
        status=status,
        run={**run, "record_title": _record_titles(ctx, [run])[0]},
        done=ctx.request.query_params.get("done") or "",
        **_common(ctx, scenario),
    )


@page
def run_page(ctx: Ctx, scenario_id: str, run_id: str) -> Response:
    """One run: its state, variables and every executed step."""
    found = service.get_scenario(ctx.user, _id(scenario_id))
    run = service.get_run(ctx.user, _id(run_id), found["id"], lang=ctx.lang)
    return _viewer(ctx, found, run)


@page
def retry_submit(ctx: Ctx, scenario_id: str, run_id: str) -> Response:
    """Continue a failed run from the step that failed."""
    service.retry_run(ctx.user, _id(scenario_id), _id(run_id))
    return redirect(_runs_url(ctx, _id(scenario_id), _id(run_id), done="retried"))


@page
def cancel_submit(ctx: Ctx, scenario_id: str, run_id: str) -> Response:
    """Stop a queued or waiting run."""
    service.cancel_run(ctx.user, _id(scenario_id), _id(run_id))
    return redirect(_runs_url(ctx, _id(scenario_id), _id(run_id), done="cancelled"))


# ----- test mode -----------------------------------------------------------------------------
def _test_page(
    ctx: Ctx,
    scenario: dict[str, Any],
    status: int = 200,
    error: str = "",
    record_id: str = "",
) -> Response:
    catalog_ref = (scenario.get("trigger") or {}).get("catalog")
    catalog = ctx.ws.meta().catalog(catalog_ref) if catalog_ref else None
    return render(
        ctx,
        "scenarios/test.html",
        status=status,
        catalog=catalog,
        error=error,
        record_id=record_id,
        **_common(ctx, scenario),
    )


@page
def test_page(ctx: Ctx, scenario_id: str) -> Response:
    """Test mode: choose a record to run the scenario against."""
    return _test_page(ctx, service.get_scenario(ctx.user, _id(scenario_id)))


@page
def test_submit(ctx: Ctx, scenario_id: str) -> Response:
    """Run the scenario now in test mode and show its trace."""
    found = service.get_scenario(ctx.user, _id(scenario_id))
    text = ctx.field("record_id").strip()
    body: dict[str, Any] = {"test": True}
    if text:
        if not text.isdigit() or len(text) > 18:
            return _test_page(ctx, found, 422, forms.record_id_error(), text)
        body["record_id"] = int(text)
    try:
        run = service.start_run(ctx.user, found["id"], body, lang=ctx.lang)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            return _test_page(ctx, found, 422, forms.record_missing_error(), text)
        return _test_page(ctx, found, 422, exc.text(ctx.lang), text)
    return _viewer(ctx, found, run)


routes = [
    Route("/admin/scenarios/{scenario_id}/runs", runs_page, methods=["GET"]),
    Route("/admin/scenarios/{scenario_id}/runs/{run_id}", run_page, methods=["GET"]),
    Route("/admin/scenarios/{scenario_id}/runs/{run_id}/retry", retry_submit, methods=["POST"]),
    Route("/admin/scenarios/{scenario_id}/runs/{run_id}/cancel", cancel_submit, methods=["POST"]),
    Route("/admin/scenarios/{scenario_id}/test", test_page, methods=["GET"]),
    Route("/admin/scenarios/{scenario_id}/test", test_submit, methods=["POST"]),
]
