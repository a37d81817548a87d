"""A record: its card (editors, comments, history, related records), new records, comments.

The card is a full page at `/c/{catalog}/r/{id}` and, with `?panel=1`, the fragment the
side panel shows. Saving posts the form to `.../edit` (or `/c/{catalog}/new`); scripts ask
for JSON (`Accept: application/json`) and get the per-field messages to show in place,
a plain form post gets the page again. Either way the records service does the work.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response
from starlette.routing import Route

from kartoteka.access import service as access
from kartoteka.catalogs import common_options
from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import get_catalog
from kartoteka.comments import service as comments
from kartoteka.duplicates import scan
from kartoteka.duplicates.check import skipping
from kartoteka.edge import status_and_code
from kartoteka.errors import (
    DomainError,
    Duplicate,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields
from kartoteka.scenarios import manual
from kartoteka.users import service as users

from .. import forms, history, process_board
from ..i18n import _
from ..pages import Ctx, catalog_url, error_page, page, record_id, redirect, render


def _history(ctx: Ctx, catalog: Catalog, rid: int) -> list[dict[str, Any]]:
    # The card already proved the record visible; a record written without history (an
    # older bulk path) shows an empty history rather than a "not found" page.
    try:
        return records.record_history(ctx.user, catalog.id, rid)
    except NotFound:
        return []


def _editor_data(ctx: Ctx, catalog: Catalog, editable: list[Any]) -> dict[str, Any]:
    """What the editors need besides the values: users, link targets."""
    meta = ctx.user.workspace.meta()
    needs_users = any(f.ftype.references == "users" for f in editable)
    targets = {
        f.api_name: meta.catalog(f.options.get("catalog") or 0)
        for f in editable
        if f.ftype.storage == "links"
    }
    return {
        "users": users.list_users(ctx.user) if needs_users else [],
        "link_targets": {
            name: t
            for name, t in targets.items()
            if t is not None and t.system is None and access.can_create(ctx.user, t)
        },
    }


def _card_data(ctx: Ctx, catalog: Catalog, record: dict[str, Any] | None) -> dict[str, Any]:
    tz = ctx.user.timezone
    rid = record["id"] if record else None
    may_edit = (
        records.may_edit(ctx.user, catalog, rid)
        if rid is not None
        else catalog.system is None and access.can_create(ctx.user, catalog)
    )
    editable = forms.editable_fields(ctx.user, catalog) if may_edit else []
    rules = access.field_rules(ctx.user, catalog)
    fields = visible_fields(ctx.user, catalog, None)
    values = record["values"] if record else {}
    data: dict[str, Any] = {
        "catalog": catalog,
        "record": record,
        "fields": fields,
        "editable": {f.api_name for f in editable},
        "inputs": {
            f.api_name: forms.form_value(f, values.get(f.api_name), tz, lang=ctx.lang)
            for f in editable
        },
        "errors": {},
        "general_error": None,
        "revealable": {
            f.api_name
            for f in fields
            if rules.get(f.api_name) == "masked" and access.may_reveal(ctx.user, catalog, f)
        },
        "saved": ctx.request.query_params.get("saved") == "1",
        "merged": _count(ctx.request.query_params.get("merged", "")),
        # Other records sharing a duplicate rule's key with this one (each rule's group).
        "duplicates": scan.of_record(ctx.user, catalog, rid) if rid is not None else [],
        "comment_error": None,
        "comment_text": "",
        "needed": set(),
        "stage_choices": (
            process_board.card_stage_choices(
                ctx.user, catalog, record["values"] if record else None
            )
            if editable
            else {}
        ),
        **_editor_data(ctx, catalog, editable),
    }
    if rid is not None:
        entries = _history(ctx, catalog, rid)
        data.update(
            history=entries,
            history_text=history.describer(ctx.user, catalog, entries),
            comments=comments.list_comments(ctx.user, catalog.id, rid),
            related=records.related_records(ctx.user, catalog.id, rid, limit=20),
            run_buttons=manual.runnable_on(ctx.user, catalog, rid),
            pending_approvals=process_board.card_pending(ctx.user, catalog, record or {}),
        )
    return data


def _card(ctx: Ctx, data: dict[str, Any], status: int = 200) -> Response:
    panel = ctx.request.query_params.get("panel") == "1"
    return render(ctx, "card/_card.html" if panel else "card/record.html", status=status, **data)


@page
def record_page(ctx: Ctx, catalog: str, record: str) -> Response:
    """A record card: editors (or values), related records, comments and history."""
    found = get_catalog(ctx.user, catalog)
    current = records.get_record(ctx.user, found.id, record_id(record))
    data = _card_data(ctx, found, current)
    _prefill(ctx, data)
    # `?need=a,b` (a kanban move to a stage that needs them): those fields are marked.
    need = ctx.request.query_params.get("need", "").split(",")
    data["needed"] = {name for name in need if name in data["editable"]}
    return _card(ctx, data)


def _prefill(ctx: Ctx, data: dict[str, Any]) -> None:
    """`?f.<field>=value` puts a value in the field's editor (not saved until Save)."""
    for key, value in ctx.request.query_params.items():
        name = key.removeprefix("f.")
        if key.startswith("f.") and name in data["inputs"]:
            data["inputs"][name] = value


@page
def new_page(ctx: Ctx, catalog: str) -> Response:
    """The form for a new record (`?f.<field>=value` fills it, e.g. a kanban column)."""
    found = get_catalog(ctx.user, catalog)
    if found.system is not None or not access.can_create(ctx.user, found):
        return error_page(ctx, 403, _("You are not allowed to do this."))
    data = _card_data(ctx, found, None)
    for f in found.fields:  # defaults, as the new record would get them
        if f.api_name in data["inputs"] and "default" in f.options:
            shown = common_options.rendered_default(f, ctx.user)
            data["inputs"][f.api_name] = forms.form_value(
                f, shown, ctx.user.timezone, lang=ctx.lang
            )
    _prefill(ctx, data)
    return _card(ctx, data)


def _count(text: str) -> int:
    """A small count from the query (`?merged=2`); anything else is 0."""
    return int(text) if text.isdigit() and len(text) < 4 else 0


def _wants_json(ctx: Ctx) -> bool:
    return "application/json" in ctx.request.headers.get("accept", "")


def _refused(
    ctx: Ctx,
    catalog: Catalog,
    record: dict[str, Any] | None,
    values: dict[str, Any],
    exc: Exception,
) -> Response:
    """The form again with the reasons (per field when the service named fields)."""
    duplicate = isinstance(exc, Duplicate)
    general: str | None
    matches: list[dict[str, Any]] = []
    if duplicate:
        assert isinstance(exc, Duplicate)
        status = 409
        matches = _matches(ctx, catalog, record, exc)
        errors = {}
        texts = "; ".join(e.text(ctx.lang) for e in exc.errors)
        anyway = _("Save again to keep it anyway.")
        general = f"{texts}. {anyway}"
    elif isinstance(exc, ValidationFailed):
        status = 422
        errors = exc.fields_in(ctx.lang)
        known = {f.api_name for f in catalog.fields}
        general = None if set(errors) <= known else exc.text(ctx.lang)
    else:
        assert isinstance(exc, DomainError)
        status, _code = status_and_code(exc)
        errors = {}
        general = (
            exc.text(ctx.lang)
            if not isinstance(exc, Forbidden)
            else _("You are not allowed to do this.")
        )
    if _wants_json(ctx):
        answer: dict[str, Any] = {"errors": errors, "message": general, "duplicate": duplicate}
        if matches:
            answer["matches"] = matches
        return JSONResponse(answer, status_code=status)
    data = _card_data(ctx, catalog, record)
    data["skip_duplicates"] = duplicate  # the next save writes it anyway
    data["duplicate_matches"] = [m for m in matches if "id" in m]
    data["duplicate_merge"] = next((m["merge"] for m in matches if "merge" in m), None)
    kept = _listed_fields(catalog)
    data["inputs"].update({k: v for k, v in values.items() if k not in kept})
    # Numbers come back as the user typed them, not as the plain text the service read.
    assert ctx.form is not None
    data["inputs"].update(forms.typed_amounts(catalog.fields, ctx.form))
    data.update(errors=errors, general_error=general)
    return render(ctx, "card/record.html", status=status, **data)


def _matches(
    ctx: Ctx, catalog: Catalog, record: dict[str, Any] | None, exc: Duplicate
) -> list[dict[str, Any]]:
    """The records a refused save duplicates (those the user sees), each with its card's
    address; for a saved record also the merge form of it and them (`merge`)."""
    base = catalog_url(ctx, catalog.api_name)
    found: dict[int, str] = {}
    for item in exc.extra.get("duplicates") or []:
        for match in item.get("matches") or []:
            found.setdefault(int(match["id"]), str(match["title"]))
    out: list[dict[str, Any]] = [
        {"id": rid, "title": title, "url": f"{base}/r/{rid}"} for rid, title in found.items()
    ]
    if out and record is not None:
        ids = ",".join(str(i) for i in [record["id"], *found])
        out.append({"merge": f"{base}/duplicates/merge?ids={ids}"})
    return out


def _changed_meanwhile(
    ctx: Ctx, catalog: Catalog, exc: PreconditionFailed, values: dict[str, Any]
) -> Response:
    """Someone saved the record after this form was opened: nothing is overwritten."""
    who = (exc.current.get("updated_by") or {}).get("name") or _("someone")
    message = _(
        "%(name)s changed this record while you were editing it; nothing was saved. "
        "Reload the card to see their changes (copy your input first).",
        name=who,
    )
    if _wants_json(ctx):
        return JSONResponse({"errors": {}, "message": message, "conflict": True}, status_code=412)
    data = _card_data(ctx, catalog, exc.current)
    kept = _listed_fields(catalog)
    data["inputs"].update({k: v for k, v in values.items() if k not in kept})
    data.update(general_error=message)
    return render(ctx, "card/record.html", status=412, **data)


def _as_typed(ctx: Ctx, editable: list[Any]) -> dict[str, Any]:
    """The form's values without reading numbers (one was unreadable), to show it again."""
    assert ctx.form is not None
    return forms.submitted_values(editable, ctx.form, ctx.user.timezone)


def _listed_fields(catalog: Catalog) -> set[str]:
    # Links and files come back as bare ids; the editor keeps showing the stored ones.
    return {f.api_name for f in catalog.fields if f.ftype.listed}


@page
def edit_page(ctx: Ctx, catalog: str, record: str) -> Response:
    """The record's form on its own page (what the card shows, without the extras)."""
    found = get_catalog(ctx.user, catalog)
    current = records.get_record(ctx.user, found.id, record_id(record))
    if not records.may_edit(ctx.user, found, current["id"]):
        return error_page(ctx, 403, _("You are not allowed to do this."))
    return render(ctx, "card/record.html", **_card_data(ctx, found, current))


@page
def edit_submit(ctx: Ctx, catalog: str, record: str) -> Response:
    """Save the form through the records service; per-field errors when invalid."""
    found = get_catalog(ctx.user, catalog)
    rid = record_id(record)
    current = records.get_record(ctx.user, found.id, rid)
    assert ctx.form is not None
    editable = forms.editable_fields(ctx.user, found)
    sent = ctx.field("_version")
    version = int(sent) if sent.isdigit() and len(sent) < 19 else None
    values: dict[str, Any] = {}
    try:
        values = forms.submitted_values(editable, ctx.form, ctx.user.timezone, lang=ctx.lang)
        with skipping(ctx.field("_skip_duplicates") == "1"):
            saved = records.update_record(ctx.user, found.id, rid, values, version=version)
    except PreconditionFailed as exc:
        return _changed_meanwhile(ctx, found, exc, values)
    except (ValidationFailed, DomainError) as exc:
        return _refused(ctx, found, current, values or _as_typed(ctx, editable), exc)
    if _wants_json(ctx):
        return JSONResponse({"record": saved})
    return redirect(f"{catalog_url(ctx, catalog)}/r/{rid}?saved=1")


@page
def new_submit(ctx: Ctx, catalog: str) -> Response:
    """Create the record through the records service."""
    found = get_catalog(ctx.user, catalog)
    assert ctx.form is not None
    editable = forms.editable_fields(ctx.user, found)
    values: dict[str, Any] = {}
    try:
        values = forms.submitted_values(editable, ctx.form, ctx.user.timezone, lang=ctx.lang)
        # An input left empty names no value; one whose default was cleared names "none".
        defaults = {f.api_name for f in editable if "default" in f.options}
        values = {k: v for k, v in values.items() if v not in (None, "", []) or k in defaults}
        with skipping(ctx.field("_skip_duplicates") == "1"):
            created = records.create_record(ctx.user, found.id, values)
    except (ValidationFailed, DomainError) as exc:
        return _refused(ctx, found, None, values or _as_typed(ctx, editable), exc)
    if _wants_json(ctx):
        return JSONResponse({"record": created}, status_code=201)
    return redirect(f"{catalog_url(ctx, catalog)}/r/{created['id']}?saved=1")


@page
def comment_submit(ctx: Ctx, catalog: str, record: str) -> Response:
    """Add a comment, then show the card again."""
    rid = record_id(record)
    text = ctx.field("text")
    try:
        comments.add_comment(ctx.user, catalog, rid, {"text": text})
    except ValidationFailed as exc:
        found = get_catalog(ctx.user, catalog)
        data = _card_data(ctx, found, records.get_record(ctx.user, found.id, rid))
        message = exc.fields_in(ctx.lang).get("text") or exc.text(ctx.lang)
        data.update(comment_error=message, comment_text=text)
        return render(ctx, "card/record.html", status=422, **data)
    return redirect(f"{catalog_url(ctx, catalog)}/r/{rid}#comments")


routes = [
    Route("/c/{catalog}/new", new_page, methods=["GET"]),
    Route("/c/{catalog}/new", new_submit, methods=["POST"]),
    Route("/c/{catalog}/r/{record}", record_page, methods=["GET"]),
    Route("/c/{catalog}/r/{record}/comments", comment_submit, methods=["POST"]),
    Route("/c/{catalog}/r/{record}/edit", edit_page, methods=["GET"]),
    Route("/c/{catalog}/r/{record}/edit", edit_submit, methods=["POST"]),
]
