"""A catalog's duplicate groups and merging records (the pages under /c/{catalog}/duplicates).

The groups page is the API's scan (`duplicates.scan`) a page at a time, under one of the
catalog's rules, with each group's records as the reader sees them: tick the ones that
really are the same and open the merge page. The merge page shows, field by field, the
values that differ between the records, one of them chosen (the first filled one, or
"all of them" for multiple links and files); the record that stays is one more choice.
It posts to `duplicates.merge`, the API's merge, and lands on the kept record's card.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.service import get_catalog
from kartoteka.duplicates import merge as merging
from kartoteka.duplicates import scan as scanning
from kartoteka.duplicates.rules import Rule, readable_rules
from kartoteka.errors import DomainError, Forbidden, NotFound
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields

from .. import forms
from ..i18n import _
from ..pages import Ctx, catalog_url, page, record_id, redirect, render

#: Groups per page of the groups page.
GROUPS_PAGE = 20
#: Columns of a group's records: the title, the rule's fields and the next ones.
COLUMNS = 5
#: Value shown for a multiple link or file field that keeps every record's items.
COMBINE = "all"


def _rule(ctx: Ctx, catalog: Catalog, rules: list[Rule]) -> Rule:
    """The rule of `?rule=<id>`, else the catalog's first."""
    wanted = ctx.request.query_params.get("rule", "")
    for rule in rules:
        if str(rule.id) == wanted:
            return rule
    return rules[0]


def _can_design(ctx: Ctx, catalog: Catalog) -> bool:
    return catalog.system is None and access.can_manage(ctx.user, catalog)


@page
def groups_page(ctx: Ctx, catalog: str) -> Response:
    """Groups of records sharing a rule's key, `GROUPS_PAGE` at a time (`?cursor=`)."""
    found = get_catalog(ctx.user, catalog)
    rules = readable_rules(ctx.user, found)
    data: dict[str, Any] = {
        "catalog": found,
        "rules": rules,
        "rule": None,
        "groups": [],
        "next_url": None,
        "first_url": None,
        "can_design": _can_design(ctx, found),
    }
    if not rules:
        return render(ctx, "duplicates/groups.html", **data)
    rule = _rule(ctx, found, rules)
    cursor = ctx.request.query_params.get("cursor") or None
    page_of = scanning.scan(
        ctx.user, found.id, {"rule": rule.id, "limit": GROUPS_PAGE, "cursor": cursor}
    )
    ids = [r["id"] for g in page_of["items"] for r in g["records"]]
    shown = records.get_records(ctx.user, found.id, ids)
    columns = _columns(ctx, found, rule)
    here = catalog_url(ctx, found.api_name) + "/duplicates"
    data.update(
        rule=rule,
        columns=columns,
        groups=[_group(g, shown, columns, rule) for g in page_of["items"]],
        merge_url=here + "/merge",
        limit=merging.MAX_MERGE + 1,
    )
    if page_of["next_cursor"]:
        data["next_url"] = (
            here + "?" + urlencode({"rule": rule.id, "cursor": page_of["next_cursor"]})
        )
    if cursor:
        data["first_url"] = here + "?" + urlencode({"rule": rule.id})
    return render(ctx, "duplicates/groups.html", **data)


def _columns(ctx: Ctx, catalog: Catalog, rule: Rule) -> list[Field]:
    """The title field, the rule's fields, then the catalog's next fields up to `COLUMNS`
    (what tells two records apart), as far as the reader sees them."""
    visible = visible_fields(ctx.user, catalog, None)
    shown = [f for f in visible if f is catalog.title_field]
    shown += [p.field for p in rule.parts if p.field in visible and p.field not in shown]
    for f in visible:
        if len(shown) >= COLUMNS:
            break
        if f not in shown and f.ftype.on_cards:  # (not long texts and files)
            shown.append(f)
    return shown


def _group(
    group: dict[str, Any], shown: dict[int, Any], columns: list[Field], rule: Rule
) -> dict[str, Any]:
    """A scan group with each record's cells as text (records gone meanwhile are left
    out), headed by what its first record shows in the rule's fields (the key itself is
    normalised: `+79120000001`, `ооо ромашка`)."""
    rows = []
    for member in group["records"]:
        record = shown.get(member["id"])
        if record is None:
            continue
        values = record["values"]
        cells = [forms.value_text(f, values.get(f.api_name)) for f in columns]
        rows.append({"id": record["id"], "title": member["title"], "cells": cells})
    at = [columns.index(p.field) for p in rule.parts if p.field in columns]
    shown_key = " · ".join(rows[0]["cells"][i] for i in at if rows[0]["cells"][i]) if rows else ""
    return {"key": shown_key or group["key"], "count": group["count"], "records": rows}


# ----- merging -------------------------------------------------------------------------------
def _ids(values: list[str]) -> list[int]:
    """Record ids from the query or the form, in order, each once (anything else: 404,
    as `record_id` answers a card's URL)."""
    parts = (part.strip() for text in values for part in text.split(","))
    return list(dict.fromkeys(record_id(part[:40]) for part in parts if part))


def _choices(
    ctx: Ctx, catalog: Catalog, order: list[int], shown: dict[int, Any], into: int
) -> tuple[list[dict[str, Any]], list[Field]]:
    """(the fields whose values differ, each with its options and the one chosen: the
    record that stays's value if it has one, else the first filled; the fields the
    records agree on). Only fields the merge decides (`merge.mergeable`)."""
    differ, same = [], []
    for f in merging.mergeable(ctx.user, catalog):
        raw = [shown[rid]["values"].get(f.api_name) for rid in order]
        if all(value == raw[0] for value in raw):
            if not _empty(raw[0]):
                same.append(f)
            continue
        texts = [forms.value_text(f, value) for value in raw]
        combine = merging.unites(f)
        options = [
            {"value": str(rid), "record": rid, "text": t, "empty": _empty(value)}
            for rid, t, value in zip(order, texts, raw, strict=True)
        ]
        filled = [str(rid) for rid, value in zip(order, raw, strict=True) if not _empty(value)]
        if str(into) in filled:
            filled.insert(0, str(into))
        chosen = COMBINE if combine else (filled or [str(order[0])])[0]
        picked = ctx.field(f"v.{f.api_name}")
        if picked and (picked == COMBINE and combine or picked in {o["value"] for o in options}):
            chosen = picked
        differ.append({"field": f, "options": options, "combine": combine, "chosen": chosen})
    return differ, same


def _empty(value: Any) -> bool:
    """An API value with nothing in it (no text, no links, no files)."""
    return value is None or value == "" or value == []


def _merge_data(ctx: Ctx, catalog: Catalog, ids: list[int]) -> dict[str, Any]:
    """What the merge page shows for these records (those the reader sees, in id order)."""
    most = merging.MAX_MERGE + 1
    # More than one merge takes are refused before anything is read (a crafted URL may
    # name thousands).
    shown = records.get_records(ctx.user, catalog.id, ids) if len(ids) <= most else {}
    order = sorted(shown)
    data: dict[str, Any] = {
        "catalog": catalog,
        "records": [shown[rid] for rid in order],
        "ids": order,
        "error": None,
        "limit": merging.MAX_MERGE + 1,
        "back": catalog_url(ctx, catalog.api_name) + "/duplicates",
    }
    if len(ids) > most or len(order) < 2:
        data["error"] = (
            _("At most %(num)d records can be merged at once.", num=most)
            if len(ids) > most
            else _("Choose at least two records you can see to merge them.")
        )
        data.update(differ=[], same=[], into=order[0] if order else None)
        return data
    wanted = ctx.field("into") or ctx.request.query_params.get("into", "")
    chosen = int(wanted) if wanted.isdigit() and len(wanted) <= 18 else None
    data["into"] = chosen if chosen in shown else order[0]
    data["differ"], data["same"] = _choices(ctx, catalog, order, shown, data["into"])
    return data


@page
def merge_page(ctx: Ctx, catalog: str) -> Response:
    """The merge form for `?ids=` (repeated or comma-separated)."""
    found = get_catalog(ctx.user, catalog)
    ids = _ids(ctx.request.query_params.getlist("ids"))
    data = _merge_data(ctx, found, ids)
    return render(ctx, "duplicates/merge.html", status=422 if data["error"] else 200, **data)


@page
def merge_submit(ctx: Ctx, catalog: str) -> Response:
    """Merge the posted records into the chosen one; its card tells how many went in."""
    found = get_catalog(ctx.user, catalog)
    assert ctx.form is not None
    ids = _ids([str(v) for v in ctx.form.getlist("ids")])
    data = _merge_data(ctx, found, ids)
    if data["error"]:
        return render(ctx, "duplicates/merge.html", status=422, **data)
    into = data["into"]
    others = [rid for rid in data["ids"] if rid != into]
    values = {
        item["field"].api_name: int(item["chosen"])
        for item in data["differ"]
        if item["chosen"] != COMBINE
    }
    try:
        merging.merge(ctx.user, found.id, {"into": into, "records": others, "values": values})
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            data["error"] = _(
                "You may not merge these records: it takes the right to edit the record "
                "that stays and to delete the others."
            )
        else:
            data["error"] = exc.text(ctx.lang)
        status = 403 if isinstance(exc, Forbidden) else 404 if isinstance(exc, NotFound) else 422
        return render(ctx, "duplicates/merge.html", status=status, **data)
    return redirect(f"{catalog_url(ctx, found.api_name)}/r/{into}?merged={len(others)}")


routes = [
    Route("/c/{catalog}/duplicates", groups_page, methods=["GET"]),
    Route("/c/{catalog}/duplicates/merge", merge_page, methods=["GET"]),
    Route("/c/{catalog}/duplicates/merge", merge_submit, methods=["POST"]),
]
