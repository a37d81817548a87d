"""The duplicate rules designer (catalog managers): a catalog's rules, one rule's fields.

A rule names up to `rules.MAX_FIELDS` fields, each compared after a normalisation (or
the field type's default, "Automatic"). The form is plain HTML: one row (field, how to
compare) per field of the rule plus an empty one, and a button that adds a row without
saving. Saving goes through `duplicates.rules`, as the API's does; its refusals
(`fields[i]`, `name`, `fields`) come back next to the row or input they name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.duplicates import rules
from kartoteka.errors import DomainError, NotFound
from kartoteka.fields import all_types

from .. import designer
from ..i18n import N_, _
from ..pages import Ctx, page, redirect, render
from .designer import designer_url, managed_catalog
from .designer_fields import type_label

#: How a rule compares a field's values, in words (keys of `rules.NORMALISERS`).
NORMALISE_NAMES = {
    "phone": N_("as a phone number, +7… in E.164"),
    "email": N_("as an e-mail, in lower case"),
    "name": N_("as a name, case and ё/е ignored"),
    "digits": N_("digits only"),
    "exact": N_("exactly as written"),
}


def _rule(ctx: Ctx, found: Catalog, rule: str) -> dict[str, Any]:
    """A rule of the catalog by the id in the URL (anything else: not found)."""
    if not rule.isdecimal() or len(rule) > 12:
        raise NotFound.of("duplicate_rule_not_found", "rule", id=rule)
    return rules.get_rule(ctx.user, found.id, int(rule))


def usable_fields(catalog: Catalog) -> list[Field]:
    """The fields a rule may name: single stored values of the types rules compare."""
    return [f for f in catalog.fields if f.type in rules.FIELD_TYPES and f.column]


def _usable(catalog: Catalog, api_name: str | None) -> bool:
    return any(f.api_name == api_name for f in usable_fields(catalog))


def _names() -> dict[str, str]:
    return {k: _(NORMALISE_NAMES.get(k, k)) for k in rules.NORMALISERS}


@page
def rules_page(ctx: Ctx, catalog: str) -> Response:
    """A catalog's duplicate rules, each with its fields and how they are compared."""
    found = managed_catalog(ctx, catalog)
    params = ctx.request.query_params
    notice = _("Saved.") if params.get("saved") else ""
    if params.get("deleted"):
        notice = _("Rule “%(name)s” deleted.", name=params["deleted"])
    listed = []
    for rule in rules.list_rules(ctx.user, found.id):
        parts = []
        for spec in rule["fields"]:
            field = found.field(spec["field"]) if spec["field"] else None
            parts.append(
                {
                    "name": field.name if field else _("a deleted field"),
                    "broken": not _usable(found, spec["field"]),
                    "normalise": spec["normalise"],
                }
            )
        listed.append(rule | {"parts": parts})
    return render(
        ctx,
        "designer/duplicates.html",
        catalog=found,
        tab="duplicates",
        rules=listed,
        normalise_names=_names(),
        notice=notice,
    )


def _form_page(
    ctx: Ctx,
    found: Catalog,
    rule: dict[str, Any],
    rows: list[dict[str, str]],
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        ctx,
        "designer/duplicate_rule.html",
        status=status,
        catalog=found,
        tab="duplicates",
        rule=rule,
        rows=rows,
        fields=usable_fields(found),
        normalisers=list(_names().items()),
        max_fields=rules.MAX_FIELDS,
        type_names=[type_label(all_types()[t], ctx.lang) for t in rules.FIELD_TYPES],
        errors=errors or {},
    )


def _with_blank(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows and one empty row to add a field (at most `MAX_FIELDS` rows)."""
    return (rows + [{"field": "", "normalise": ""}])[: max(rules.MAX_FIELDS, len(rows))]


def _trimmed(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows without the empty ones at the end (a refusal shows one empty row again)."""
    while rows and not rows[-1]["field"]:
        rows = rows[:-1]
    return rows


def _stored_rows(
    found: Catalog, rule: dict[str, Any]
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """A saved rule as form rows, and a note on each row whose field may no longer be used."""
    rows: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    for i, spec in enumerate(rule["fields"]):
        if _usable(found, spec["field"]):
            rows.append({"field": spec["field"], "normalise": spec["normalise"]})
        else:
            rows.append({"field": "", "normalise": ""})
            errors[f"field-{i}"] = _(
                "Its field was deleted or can no longer be used: choose another or leave "
                "the row empty."
            )
    if errors:  # the banner says why, above the rows
        errors[designer.FORM] = _(
            "A field of this rule was deleted or changed type: the rule checks nothing until "
            "you edit it."
        )
    return rows, errors


def _posted_rows(ctx: Ctx) -> list[dict[str, str]]:
    """The rows as posted (field and how to compare, in order)."""
    assert ctx.form is not None
    picked = [v if isinstance(v, str) else "" for v in ctx.form.getlist("field")]
    how = [v if isinstance(v, str) else "" for v in ctx.form.getlist("normalise")]
    how = (how + [""] * len(picked))[: len(picked)]
    return [{"field": f.strip(), "normalise": n.strip()} for f, n in zip(picked, how, strict=True)]


def _save(ctx: Ctx, found: Catalog, current: dict[str, Any] | None) -> Response:
    rule = {"id": current["id"] if current else None, "name": ctx.field("name")}
    rule["stored_name"] = current["name"] if current else ""
    rows = _posted_rows(ctx)
    if ctx.field("more"):  # "Add a field": the same form with one more row, nothing saved
        return _form_page(ctx, found, rule, _with_blank(rows))
    # Empty rows are left out; `where` maps the service's `fields[i]` back to the form's row.
    where = [i for i, row in enumerate(rows) if row["field"]]
    if not where:
        errors = {"fields": _("Choose at least one field.")}
        return _form_page(ctx, found, rule, _with_blank([]), 422, errors)
    specs: list[dict[str, str]] = []
    for i in where:
        spec = {"field": rows[i]["field"]}
        if rows[i]["normalise"]:  # "Automatic" sends none: the field type's default applies
            spec["normalise"] = rows[i]["normalise"]
        specs.append(spec)
    body: dict[str, Any] = {"fields": specs}
    name = ctx.field("name").strip()
    if name:
        body["name"] = name
    elif current is not None:  # a cleared name: named after its fields again, as a new one
        named = [found.field(s["field"]) for s in specs]
        body["name"] = " + ".join(f.name for f in named if f is not None) or None
    try:
        if current is None:
            rules.create_rule(ctx.user, found.id, body)
        else:
            rules.update_rule(ctx.user, found.id, current["id"], body)
    except DomainError as exc:
        inputs = ("name", "fields", *(f"field-{i}" for i in range(len(rows))))
        rename = {f"fields[{k}]": f"field-{i}" for k, i in enumerate(where)}
        errors = designer.explain(exc, ctx.lang, inputs, rename)
        return _form_page(ctx, found, rule, _with_blank(_trimmed(rows)), 422, errors)
    return redirect(designer_url(ctx, found, "/duplicates?saved=1"))


@page
def rule_new(ctx: Ctx, catalog: str) -> Response:
    """The form for a new rule."""
    found = managed_catalog(ctx, catalog)
    blank = {"id": None, "name": "", "stored_name": ""}
    return _form_page(ctx, found, blank, _with_blank([]))


@page
def rule_create(ctx: Ctx, catalog: str) -> Response:
    """Save a new rule."""
    return _save(ctx, managed_catalog(ctx, catalog), None)


@page
def rule_edit(ctx: Ctx, catalog: str, rule: str) -> Response:
    """The form of a saved rule."""
    found = managed_catalog(ctx, catalog)
    current = _rule(ctx, found, rule)
    rows, errors = _stored_rows(found, current)
    shown = {"id": current["id"], "name": current["name"], "stored_name": current["name"]}
    return _form_page(ctx, found, shown, _with_blank(rows), errors=errors)


@page
def rule_update(ctx: Ctx, catalog: str, rule: str) -> Response:
    """Save a rule's form."""
    found = managed_catalog(ctx, catalog)
    return _save(ctx, found, _rule(ctx, found, rule))


@page
def rule_delete_page(ctx: Ctx, catalog: str, rule: str) -> Response:
    """What deleting a rule changes, and the button that does it."""
    found = managed_catalog(ctx, catalog)
    return render(
        ctx,
        "designer/duplicate_rule_delete.html",
        catalog=found,
        tab="duplicates",
        rule=_rule(ctx, found, rule),
    )


@page
def rule_delete(ctx: Ctx, catalog: str, rule: str) -> Response:
    """Delete a rule (records are no longer checked against it)."""
    found = managed_catalog(ctx, catalog)
    current = _rule(ctx, found, rule)
    rules.delete_rule(ctx.user, found.id, current["id"])
    tail = "/duplicates?deleted=" + quote(current["name"], safe="")
    return redirect(designer_url(ctx, found, tail))


routes = [
    Route("/admin/catalogs/{catalog}/duplicates", rules_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/duplicates/new", rule_new, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/duplicates/new", rule_create, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/duplicates/{rule}", rule_edit, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/duplicates/{rule}", rule_update, methods=["POST"]),
    Route("/admin/catalogs/{catalog}/duplicates/{rule}/delete", rule_delete_page, methods=["GET"]),
    Route("/admin/catalogs/{catalog}/duplicates/{rule}/delete", rule_delete, methods=["POST"]),
]
