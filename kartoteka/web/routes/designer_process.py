"""The process designer (administrators): declare a catalog's single-choice select field
a stage-based process and edit it — the first stages, the allowed moves (from → to, and
who may make each: groups or the users in a user field of the record), the fields each
stage needs, and approvals (N users of a group in a user field).

The form is plain HTML (rows of selects, a few blank rows to add moves); saving goes
through `scenarios.processes.set_process`, the API's `PUT /processes/{catalog}/{field}`,
and its refusals come back on the page.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.errors import DomainError, NotFound, ValidationFailed
from kartoteka.scenarios import processes
from kartoteka.users import service as users

from ..pages import Ctx, page, redirect, render, require_admin
from .designer import designer_url

BLANK_ROWS = 3
MAX_ROWS = 200


def _catalog(ctx: Ctx, ref: str) -> Catalog:
    require_admin(ctx)
    return catalogs.get_catalog(ctx.user, ref)


def stage_fields(catalog: Catalog) -> list[Field]:
    """The fields that may be a process: single-choice selects."""
    return [f for f in catalog.fields if f.ftype.has_choices and not f.options.get("multiple")]


def _field(catalog: Catalog, name: str) -> Field:
    found = next((f for f in stage_fields(catalog) if f.api_name == name), None)
    if found is None:
        raise NotFound.of("field_not_found", None, ref=name, catalog=catalog.api_name)
    return found


def _stages(field: Field) -> list[str]:
    return [c["label"] for c in field.options.get("choices") or []]


def _user_fields(catalog: Catalog) -> list[Field]:
    return [f for f in catalog.fields if f.ftype.references == "users" and not f.ftype.read_only]


def _rows(process: dict[str, Any]) -> list[dict[str, Any]]:
    """The moves as form rows (a move from several stages becomes one row per stage)."""
    rows = []
    for t in process.get("transitions", []):
        sources = t["from"] if isinstance(t["from"], list) else [t["from"]]
        for source in sources:
            rows.append(
                {
                    "from": source,
                    "to": t["to"],
                    "groups": [str(g) for g in t.get("groups") or []],
                    "user_field": t.get("user_field") or "",
                }
            )
    return rows


@page
def processes_page(ctx: Ctx, catalog: str) -> Response:
    """The catalog's select fields, each marked when it is a process."""
    found = _catalog(ctx, catalog)
    declared = processes.processes_of(ctx.ws, found)
    return render(
        ctx,
        "designer/processes.html",
        catalog=found,
        tab="processes",
        fields=stage_fields(found),
        declared=declared,
    )


def _form_page(
    ctx: Ctx,
    catalog: Catalog,
    field: Field,
    process: dict[str, Any] | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    shown = process or {"transitions": []}
    rows = _rows(shown)
    rows += [{"from": "", "to": "", "groups": [], "user_field": ""}] * BLANK_ROWS
    return render(
        ctx,
        "designer/process.html",
        status=status,
        catalog=catalog,
        tab="processes",
        field=field,
        declared=process is not None,
        process=shown,
        stages=_stages(field),
        rows=rows,
        groups=users.list_groups(ctx.user),
        user_fields=_user_fields(catalog),
        other_fields=[f for f in catalog.fields if f.api_name != field.api_name],
        errors=errors or {},
        row_errors=_row_errors(errors or {}),
        saved=ctx.request.query_params.get("saved") == "1",
    )


def _row_errors(errors: dict[str, str]) -> dict[int, list[str]]:
    """The reasons about move rows (`t2`, `t2.to`), by row."""
    out: dict[int, list[str]] = {}
    for key, text in errors.items():
        head = key.split(".", 1)[0]
        if head.startswith("t") and head[1:].isdigit():
            out.setdefault(int(head[1:]), []).append(text)
    return out


@page
def process_page(ctx: Ctx, catalog: str, field: str) -> Response:
    """One select field's process (an empty form when it is not one yet)."""
    found = _catalog(ctx, catalog)
    f = _field(found, field)
    return _form_page(ctx, found, f, processes.processes_of(ctx.ws, found).get(f.api_name))


def _list(ctx: Ctx, name: str) -> list[str]:
    assert ctx.form is not None
    return [v for v in ctx.form.getlist(name) if isinstance(v, str) and v]


def _count(text: str) -> int | str:
    return int(text) if text.strip().isdigit() and len(text.strip()) < 6 else text


def parse_process(ctx: Ctx, stages: list[str]) -> dict[str, Any]:
    """The posted form as the service's process body (rows without both stages skipped)."""
    transitions = []
    for i in range(min(_number(ctx.field("rows")), MAX_ROWS)):
        source, target = ctx.field(f"t{i}_from"), ctx.field(f"t{i}_to")
        if not source or not target:
            continue
        move: dict[str, Any] = {"from": source, "to": target}
        groups = [int(g) for g in _list(ctx, f"t{i}_groups") if g.isdigit() and len(g) < 10]
        if groups:
            move["groups"] = groups
        if ctx.field(f"t{i}_user_field"):
            move["user_field"] = ctx.field(f"t{i}_user_field")
        transitions.append(move)
    body: dict[str, Any] = {"transitions": transitions}
    initial = [s for s in _list(ctx, "initial") if s in stages]
    if initial:
        body["initial"] = initial
    required, approvals = {}, {}
    for n, stage in enumerate(stages):
        needs = _list(ctx, f"req{n}")
        if needs:
            required[stage] = needs
        approver_field = ctx.field(f"ap{n}_field")
        if approver_field:
            rule: dict[str, Any] = {
                "field": approver_field,
                "count": _count(ctx.field(f"ap{n}_count") or "1"),
            }
            group = ctx.field(f"ap{n}_group")
            if group.isdigit() and len(group) < 10:
                rule["group"] = int(group)
            approvals[stage] = rule
    if required:
        body["required"] = required
    if approvals:
        body["approvals"] = approvals
    return body


def _number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 6 else 0


def _errors(exc: DomainError, stages: list[str], lang: str) -> dict[str, str]:
    """The service's reasons keyed by the form's inputs: `transitions[2].to` -> `t2.to`
    (the page is shown again from the posted body, so move i is row i)."""
    fields = exc.fields_in(lang) if isinstance(exc, ValidationFailed) else {}
    out: dict[str, str] = {}
    for key, reason in fields.items():
        where = key
        if key.startswith("transitions[") and "]" in key:
            where = "t" + key[len("transitions[") :].replace("]", "", 1)
        for n, stage in enumerate(stages):
            for prefix, name in (("required.", "req"), ("approvals.", "ap")):
                if key == prefix + stage or key.startswith(f"{prefix}{stage}."):
                    where = f"{name}{n}" + key[len(prefix + stage) :]
        out[where] = reason
    if not out:
        out[""] = exc.text(lang)
    return out


@page
def process_submit(ctx: Ctx, catalog: str, field: str) -> Response:
    """Save the process, or remove it (button `remove`)."""
    found = _catalog(ctx, catalog)
    f = _field(found, field)
    url = designer_url(ctx, found, f"/processes/{f.api_name}")
    if ctx.field("remove"):
        processes.delete_process(ctx.user, found.api_name, f.api_name)
        return redirect(designer_url(ctx, found, "/processes"))
    stages = _stages(f)
    body = parse_process(ctx, stages)
    try:
        processes.set_process(ctx.user, found.api_name, f.api_name, body)
    except DomainError as exc:
        errors = _errors(exc, stages, ctx.lang)
        return _form_page(ctx, found, f, body, errors, status=422)
    return redirect(f"{url}?saved=1")


routes = [
    Route("/admin/catalogs/{catalog}/processes", processes_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/processes/{field}", process_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/processes/{field}", process_submit, methods=["POST"]),
]
