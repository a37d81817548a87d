"""Scenarios: definitions, versions, import/export, runs, manual and incoming starts."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query, Request, Response

from kartoteka.context import Actor
from kartoteka.scenarios import manual, processes, service
from kartoteka.scenarios.definition import TRIGGER_TYPES
from kartoteka.scenarios.steps import KINDS

from ..deps import actor, json_body, workspace
from ..errors import request_lang
from ..responses import JSONResponse, Router
from ..schemas import FILTER, Id, body_doc

router = Router(tags=["scenarios"])

STEP: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": sorted(KINDS)},
        "id": {"type": "string", "description": 'a name for `steps["id"]` in templates'},
        "retry": {
            "type": "object",
            "properties": {
                "attempts": {"type": "integer", "minimum": 1, "maximum": 10},
                "delay": {"type": "string", "description": "ISO 8601 duration, e.g. PT30S"},
                "factor": {"type": "number", "minimum": 1, "maximum": 10},
            },
        },
        "on_error": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
    "description": "See docs/scenarios.md for every step kind and its keys.",
}
SCENARIO_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "description": {"type": "string"},
        "active": {"type": "boolean"},
        "trigger": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": list(TRIGGER_TYPES)},
                "catalog": {"type": "string"},
                "fields": {"type": "array", "items": {"type": "string"}},
                "filter": FILTER,
                "when": {"type": "string", "enum": ["became", "matches"]},
                "cron": {"type": "string", "description": "5 fields, workspace time zone"},
                "field": {"type": "string", "description": "date trigger: a date field"},
                "offset": {"type": "string", "description": "ISO 8601, e.g. -P3D"},
                "at": {"type": "string", "description": "time of day, HH:MM"},
                "yearly": {"type": "boolean"},
            },
        },
        "steps": {"type": "array", "items": STEP},
        "options": {
            "type": "object",
            "properties": {
                "concurrency": {"type": "integer", "minimum": 1},
                "http_per_second": {"type": "number"},
                "max_depth": {"type": "integer", "minimum": 1},
                "retry": {"type": "object"},
            },
        },
    },
}
RUN_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "record_id": {"type": "integer"},
        "vars": {"type": "object"},
        "test": {"type": "boolean", "description": "run now; HTTP and e-mail are recorded"},
    },
}
SMTP_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["host", "from"],
    "properties": {
        "host": {"type": "string"},
        "port": {"type": "integer"},
        "username": {"type": "string"},
        "password": {"type": "string"},
        "from": {"type": "string"},
        "security": {"type": "string", "enum": ["none", "starttls", "ssl"]},
        "timeout": {"type": "number"},
    },
}


@router.get("/settings/smtp", summary="SMTP settings for e-mail steps")
def get_smtp(a: Actor = Depends(actor)) -> dict[str, Any]:
    """The SMTP server e-mail steps send through (the password is not shown)."""
    return service.get_smtp(a)


@router.put("/settings/smtp", summary="Set SMTP settings", openapi_extra=body_doc(SMTP_BODY))
def put_smtp(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Store the SMTP settings of the workspace."""
    return service.set_smtp(a, body)


@router.get("/scenarios", summary="List scenarios")
def list_scenarios(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Every scenario (administrators)."""
    return {"items": service.list_scenarios(a)}


@router.post(
    "/scenarios",
    status_code=201,
    summary="Create a scenario",
    openapi_extra=body_doc(SCENARIO_BODY),
)
def create_scenario(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Create a scenario; a `webhook` trigger's `token` is in this answer only."""
    return service.create_scenario(a, body)


@router.post(
    "/scenarios/import",
    status_code=201,
    summary="Import a scenario file",
    openapi_extra=body_doc(SCENARIO_BODY),
)
def import_scenario(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Create a scenario from a file made by export (or from examples/scenarios/)."""
    return service.import_scenario(a, body)


@router.get("/scenarios/{scenario_id}", summary="Get a scenario")
def get_scenario(scenario_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """One scenario (its current version)."""
    return service.get_scenario(a, scenario_id)


@router.patch(
    "/scenarios/{scenario_id}",
    summary="Change a scenario",
    openapi_extra=body_doc(SCENARIO_BODY),
)
def update_scenario(
    scenario_id: Id, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Change keys; a new trigger, steps or options make a new version (runs keep theirs)."""
    return service.update_scenario(a, scenario_id, body)


@router.delete("/scenarios/{scenario_id}", status_code=204, summary="Delete a scenario")
def delete_scenario(scenario_id: Id, a: Actor = Depends(actor)) -> Response:
    """Delete a scenario with its versions and runs."""
    service.delete_scenario(a, scenario_id)
    return Response(status_code=204)


@router.get("/scenarios/{scenario_id}/versions", summary="Versions of a scenario")
def list_versions(scenario_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Every stored version, newest first."""
    return {"items": service.list_versions(a, scenario_id)}


@router.get("/scenarios/{scenario_id}/export", summary="Export a scenario as a file")
def export_scenario(scenario_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """The scenario as a JSON file for import elsewhere."""
    return service.export_scenario(a, scenario_id)


@router.post("/scenarios/{scenario_id}/token", summary="Make a new incoming-call token")
def rotate_token(scenario_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """A new token for `POST /scenarios/{id}/trigger`; the old one stops working."""
    return service.rotate_token(a, scenario_id)


@router.post(
    "/scenarios/{scenario_id}/run",
    status_code=202,
    summary="Run a scenario by hand",
    openapi_extra=body_doc(RUN_BODY, required=False),
)
def start_run(
    scenario_id: Id, request: Request, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any] | JSONResponse:
    """Queue a run (optionally on a record); `test: true` runs it now and answers 200."""
    run = service.start_run(a, scenario_id, body, lang=request_lang(request))
    return JSONResponse(run, status_code=200) if run["test"] else run


@router.post(
    "/scenarios/{scenario_id}/trigger",
    status_code=202,
    summary="Start a scenario from outside (its token, no user)",
    openapi_extra={**body_doc({"type": "object"}, required=False), "security": []},
)
def trigger(scenario_id: Id, request: Request, body: Any = Depends(json_body)) -> dict[str, Any]:
    """For payment and registration events: `X-Scenario-Token` (or `?token=`) authorises.

    An `Idempotency-Key` header makes a retried call start the run only once.
    """
    token = request.headers.get("x-scenario-token") or request.query_params.get("token")
    return service.trigger_incoming(
        workspace(request),
        scenario_id,
        token,
        body,
        request.headers.get("idempotency-key"),
    )


@router.get("/scenarios/{scenario_id}/runs", summary="Runs of a scenario")
def list_runs(
    scenario_id: Id,
    request: Request,
    a: Actor = Depends(actor),
    status: str | None = Query(None, description="queued, running, waiting, done, failed..."),
    limit: int = Query(service.DEFAULT_RUNS, ge=1, le=service.MAX_RUNS),
    before: int | None = Query(None, ge=1),
    steps: bool = Query(
        True, description="false: no `steps`, each run's `duration_ms` (its steps' sum) instead"
    ),
) -> dict[str, Any]:
    """Newest first, each with its steps' input, output and error (in Accept-Language)."""
    return service.list_runs(
        a, scenario_id, status, limit, before, lang=request_lang(request), with_steps=steps
    )


@router.get("/scenarios/{scenario_id}/runs/{run_id}", summary="One run with its steps")
def get_run(
    scenario_id: Id, run_id: Id, request: Request, a: Actor = Depends(actor)
) -> dict[str, Any]:
    """The run's state, variables and every step (step errors in Accept-Language)."""
    return service.get_run(a, run_id, scenario_id, lang=request_lang(request))


@router.get(
    "/scenarios/{scenario_id}/runs/{run_id}/status",
    summary="Where a run is (its starter may ask)",
)
def run_status(
    scenario_id: Id, run_id: Id, request: Request, a: Actor = Depends(actor)
) -> dict[str, Any]:
    """`status`, `error` (in Accept-Language), `finished_at` of a run: for the user who
    started it by hand (the record card's run buttons follow it) and for administrators."""
    return manual.run_status(a, scenario_id, run_id, request_lang(request))


@router.post("/scenarios/{scenario_id}/runs/{run_id}/retry", summary="Retry a failed run")
def retry_run(scenario_id: Id, run_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Continue a failed run from the step that failed."""
    return service.retry_run(a, scenario_id, run_id)


@router.post("/scenarios/{scenario_id}/runs/{run_id}/cancel", summary="Cancel a run")
def cancel_run(scenario_id: Id, run_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Stop a queued or waiting run."""
    return service.cancel_run(a, scenario_id, run_id)


PROCESS_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["transitions"],
    "properties": {
        "initial": {"type": "array", "items": {"type": "string"}},
        "transitions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "from": {"description": "a stage, a list of stages, or *"},
                    "to": {"type": "string"},
                    "groups": {"type": "array", "items": {"type": "integer"}},
                    "user_field": {"type": "string"},
                },
            },
        },
        "required": {"type": "object", "description": "stage -> field api_names"},
        "approvals": {"type": "object", "description": "stage -> {field, count, group}"},
    },
}


@router.get("/processes", summary="Stage-based processes")
def list_processes(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Every select field declared as a process, with its rules."""
    return {"items": processes.list_processes(a)}


@router.put(
    "/processes/{catalog}/{field}",
    summary="Declare a process on a select field",
    openapi_extra=body_doc(PROCESS_BODY),
)
def put_process(
    catalog: str, field: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Allowed moves, who may make them, required fields and approvals per stage."""
    return processes.set_process(a, catalog, field, body)


@router.delete("/processes/{catalog}/{field}", status_code=204, summary="Remove a process")
def delete_process(catalog: str, field: str, a: Actor = Depends(actor)) -> Response:
    """The field becomes a plain select again."""
    processes.delete_process(a, catalog, field)
    return Response(status_code=204)
