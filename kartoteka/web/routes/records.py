"""A record: its card (values, comments, history), the edit form, adding a comment."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import get_catalog
from kartoteka.comments import service as comments
from kartoteka.context import Actor
from kartoteka.edge import status_and_code
from kartoteka.errors import DomainError, NotFound, ValidationFailed
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields

from .. import forms, i18n
from ..i18n import _
from ..pages import Ctx, catalog_url, error_page, page, record_id, redirect, render


def _history(actor: Actor, catalog: Catalog, rid: int) -> list[dict[str, Any]]:
    # The card already proved the record visible; a record written without history (an
    # older bulk path) shows an empty history rather than a "not found" page.
    try:
        return records.record_history(actor, catalog.id, rid)
    except NotFound:
        return []


def _card_data(ctx: Ctx, catalog_ref: str, rid: int) -> dict[str, Any]:
    catalog = get_catalog(ctx.user, catalog_ref)
    record = records.get_record(ctx.user, catalog.id, rid)
    return {
        "catalog": catalog,
        "record": record,
        "fields": visible_fields(ctx.user, catalog, None),
        "history": _history(ctx.user, catalog, rid),
        "comments": comments.list_comments(ctx.user, catalog.id, rid),
        "comment_error": None,
        "comment_text": "",
        "saved": ctx.request.query_params.get("saved") == "1",
        "can_edit": records.may_edit(ctx.user, catalog, rid),
    }


@page
def record_page(ctx: Ctx, catalog: str, record: str) -> Response:
    """A record card: values, comments and history."""
    return render(ctx, "card/record.html", **_card_data(ctx, catalog, record_id(record)))


@page
def comment_submit(ctx: Ctx, catalog: str, record: str) -> Response:
    """Add a comment, then show the card again."""
    rid = record_id(record)
    text = ctx.field("text")
    try:
        comments.add_comment(ctx.user, catalog, rid, {"text": text})
    except ValidationFailed as exc:
        data = _card_data(ctx, catalog, rid)
        message = i18n.field_message(exc.fields.get("text", exc.message), ctx.lang)
        data.update(comment_error=message, comment_text=text)
        return render(ctx, "card/record.html", status=422, **data)
    return redirect(f"{catalog_url(ctx, catalog)}/r/{rid}#comments")


def _edit_view(
    ctx: Ctx,
    catalog: Catalog,
    record: dict[str, Any],
    inputs: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 200,
    general: str | None = None,
) -> Response:
    return render(
        ctx,
        "card/edit.html",
        status=status,
        catalog=catalog,
        record=record,
        fields=forms.editable_fields(ctx.user, catalog),
        inputs=inputs,
        errors=errors,
        general_error=general,
    )


@page
def edit_page(ctx: Ctx, catalog: str, record: str) -> Response:
    """The edit form filled with the record's current values."""
    found = get_catalog(ctx.user, catalog)
    current = records.get_record(ctx.user, found.id, record_id(record))
    if not records.may_edit(ctx.user, found, current["id"]):
        return error_page(ctx, 403, _("You are not allowed to do this."))
    inputs = {
        f.api_name: forms.form_value(f, current["values"].get(f.api_name))
        for f in forms.editable_fields(ctx.user, found)
    }
    return _edit_view(ctx, found, current, inputs, {})


@page
def edit_submit(ctx: Ctx, catalog: str, record: str) -> Response:
    """Save the form through the records service; show per-field errors when invalid."""
    found = get_catalog(ctx.user, catalog)
    rid = record_id(record)
    current = records.get_record(ctx.user, found.id, rid)
    assert ctx.form is not None
    values = forms.submitted_values(forms.editable_fields(ctx.user, found), ctx.form)
    try:
        records.update_record(ctx.user, found.id, rid, values)
    except ValidationFailed as exc:
        errors = {k: i18n.field_message(v, ctx.lang) for k, v in exc.fields.items()}
        known = {f.api_name for f in found.fields}
        general = None if set(errors) <= known else i18n.field_message(exc.message, ctx.lang)
        return _edit_view(ctx, found, current, values, errors, status=422, general=general)
    except DomainError as exc:
        # A request webhook's veto or a field rule: the form stays, with the reason.
        status, _code = status_and_code(exc)
        return _edit_view(ctx, found, current, values, {}, status=status, general=exc.message)
    return redirect(f"{catalog_url(ctx, catalog)}/r/{rid}?saved=1")


routes = [
    Route("/c/{catalog}/r/{record}", record_page, methods=["GET"]),
    Route("/c/{catalog}/r/{record}/comments", comment_submit, methods=["POST"]),
    Route("/c/{catalog}/r/{record}/edit", edit_page, methods=["GET"]),
    Route("/c/{catalog}/r/{record}/edit", edit_submit, methods=["POST"]),
]
