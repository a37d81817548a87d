"""Data for the views that are not a table: kanban, gallery, calendar and Gantt.

Each builder reads records through the records service with the view (and the URL's
extra filter) applied, so rights, masks and hidden fields hold exactly as in the API.
"""

from __future__ import annotations

import calendar as cal
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date

from kartoteka.catalogs.models import Catalog, Field
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields
from kartoteka.users import service as users

from . import process_board
from .pages import Ctx

KINDS = frozenset({"kanban", "gallery", "calendar", "gantt"})
BOARD_LIMIT = 1000  # records a board shows at most (a larger board needs a filter)
CARD_FIELDS = 3


def _fetch(
    ctx: Ctx, catalog: Catalog, view: dict[str, Any], state: dict[str, Any], extra: Any = None
) -> tuple[list[dict[str, Any]], bool]:
    """The view's records (up to BOARD_LIMIT); the flag says whether more were left out."""
    filters = [f for f in (state["filter"], extra) if f]
    flt = None if not filters else filters[0] if len(filters) == 1 else {"and": filters}
    items: list[dict[str, Any]] = []
    cursor = None
    while len(items) < BOARD_LIMIT:
        page = records.list_records(
            ctx.user, catalog.id, flt, state["sort"], 500, cursor, None, view["id"]
        )
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items, False
    return items[:BOARD_LIMIT], True


def _card_fields(ctx: Ctx, catalog: Catalog, view: dict[str, Any], skip: set[str]) -> list[Field]:
    shown = [f for f in visible_fields(ctx.user, catalog, None) if f.api_name not in skip]
    title = catalog.title_field
    shown = [f for f in shown if title is None or f.api_name != title.api_name]
    if view.get("fields"):
        order = {n: i for i, n in enumerate(view["fields"])}
        return sorted((f for f in shown if f.api_name in order), key=lambda f: order[f.api_name])
    return [f for f in shown if f.ftype.on_cards][:CARD_FIELDS]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def kanban(
    ctx: Ctx, catalog: Catalog, view: dict[str, Any], state: dict[str, Any]
) -> dict[str, Any]:
    """Columns by the group field (select choices in order, users, yes/no), with counts and sums."""
    group = catalog.by_api_name[view["options"]["group_field"]]
    sum_name = view["options"].get("sum_field")
    sum_field = catalog.by_api_name.get(sum_name) if isinstance(sum_name, str) else None
    items, more = _fetch(ctx, catalog, view, state)
    people = users.list_users(ctx.user) if group.ftype.references == "users" else []
    columns = [
        {"key": "", "label": None, "color": "gray"},
        *group.ftype.board_columns(group, people),
    ]
    by_key = {c["key"]: {**c, "items": [], "sum": 0.0} for c in columns}
    for r in items:
        value = r["values"].get(group.api_name)
        if isinstance(value, list):
            value = value[0] if value else None
        key = str(value["id"]) if isinstance(value, dict) else ("true" if value is True else "")
        column = by_key.get(key) or by_key[""]
        column["items"].append(r)
        if sum_field is not None:
            column["sum"] += _number(r["values"].get(sum_field.api_name))
    shown = [by_key[c["key"]] for c in columns]
    if not shown[0]["items"]:
        shown = shown[1:]  # the "no value" column only when it holds something
    judge = process_board.board(ctx.user, catalog, group)
    return {
        # A process on the group field: per card, the columns it may not simply go to.
        "process_cards": {r["id"]: judge.card(r) for r in items} if judge else {},
        "group": group,
        "board_columns": shown,
        "sum_field": sum_field,
        "card_fields": _card_fields(ctx, catalog, view, {group.api_name}),
        "truncated": more,
    }


def gallery(
    ctx: Ctx, catalog: Catalog, view: dict[str, Any], state: dict[str, Any]
) -> dict[str, Any]:
    """Cards with the first image of the view's cover field (`options.image_field`;
    without one, the first file field the reader sees)."""
    items, more = _fetch(ctx, catalog, view, state)
    files = [f for f in visible_fields(ctx.user, catalog, None) if f.ftype.references == "files"]
    chosen = [f for f in files if f.api_name == view["options"].get("image_field")]
    cover = (chosen or files)[0] if files else None

    def image(r: dict[str, Any]) -> dict[str, Any] | None:
        if cover is None:
            return None
        for item in r["values"].get(cover.api_name) or []:
            if str(item.get("mime", "")).startswith("image/"):
                return dict(item)
        return None

    cards = [{"record": r, "image": image(r)} for r in items]
    return {
        "cards": cards,
        "card_fields": _card_fields(ctx, catalog, view, {cover.api_name} if cover else set()),
        "truncated": more,
    }


def _month(ctx: Ctx) -> date:
    text = ctx.request.query_params.get("month") or ""
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return _today(ctx).replace(day=1)


def _day_of(value: Any, ctx: Ctx) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value).astimezone(ctx.user.timezone).date()
    except ValueError:
        return None


MODES = ("month", "week", "day")


def _anchor(ctx: Ctx) -> date:
    """The day the week/day view shows (`?date=`), else today."""
    try:
        return date.fromisoformat(ctx.request.query_params.get("date") or "")
    except ValueError:
        return _today(ctx)


def _local(value: Any, ctx: Ctx) -> datetime | None:
    """A stored date-time as the user's wall-clock time."""
    if not isinstance(value, str) or len(value) <= 10:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(ctx.user.timezone)
    except ValueError:
        return None


def calendar(
    ctx: Ctx, catalog: Catalog, view: dict[str, Any], state: dict[str, Any]
) -> dict[str, Any]:
    """A month of weeks (Monday first), a week or a day with the records on their day (and,
    for a date-time field in the week and day views, in their hour)."""
    field = catalog.by_api_name[view["options"]["date_field"]]
    mode = ctx.request.query_params.get("mode")
    mode = mode if mode in MODES else "month"
    timed = field.ftype.value_kind == "datetime"
    if mode == "month":
        month = _month(ctx)
        first = month - timedelta(days=month.weekday())
        last_day = month.replace(day=cal.monthrange(month.year, month.month)[1])
        last = last_day + timedelta(days=6 - last_day.weekday())
        anchor = month if ctx.request.query_params.get("month") else _today(ctx)
    else:
        anchor = _anchor(ctx)
        month = anchor.replace(day=1)
        first = anchor - timedelta(days=anchor.weekday()) if mode == "week" else anchor
        last = first + timedelta(days=6 if mode == "week" else 0)
    items, more = _fetch(
        ctx,
        catalog,
        view,
        state,
        {field.api_name: {"between": [first.isoformat(), last.isoformat()]}},
    )
    days: dict[date, list[dict[str, Any]]] = {}
    hours: dict[tuple[date, int], list[dict[str, Any]]] = {}
    for r in items:
        value = r["values"].get(field.api_name)
        day = _day_of(value, ctx)
        if day is None:
            continue
        moment = _local(value, ctx) if timed else None
        if moment is not None:
            r = {**r, "local_time": moment.strftime("%H:%M")}
            hours.setdefault((day, moment.hour), []).append(r)
        days.setdefault(day, []).append(r)
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    weeks = [[(d, days.get(d, [])) for d in span[i : i + 7]] for i in range(0, len(span), 7)]
    step = {"month": None, "week": 7, "day": 1}[mode]
    if step is None:
        prev_ref = (month - timedelta(days=1)).replace(day=1).strftime("%Y-%m")
        next_ref = (last_day + timedelta(days=1)).strftime("%Y-%m")
    else:
        prev_ref = (anchor - timedelta(days=step)).isoformat()
        next_ref = (anchor + timedelta(days=step)).isoformat()
    if mode == "month":
        title = format_date(month, "LLLL y", locale=ctx.lang)
    elif mode == "week":
        since, until = (
            format_date(first, "d MMM", locale=ctx.lang),
            format_date(last, "d MMM y", locale=ctx.lang),
        )
        title = f"{since} – {until}"
    else:
        title = format_date(anchor, "EEEE, d MMMM y", locale=ctx.lang)
    return {
        "date_field": field,
        "mode": mode,
        "title": title,
        "timed": timed and mode != "month",
        "anchor": anchor,
        "month": month,
        "weeks": weeks,
        "span": span,
        "hours": hours,
        "hour_range": range(24),
        "today": _today(ctx),
        "prev_ref": prev_ref,
        "next_ref": next_ref,
        # kept for links written before the week and day views
        "prev_month": prev_ref if step is None else "",
        "next_month": next_ref if step is None else "",
        "truncated": more,
    }


def _today(ctx: Ctx) -> date:
    return datetime.now(ctx.user.timezone).date()


def gantt(
    ctx: Ctx, catalog: Catalog, view: dict[str, Any], state: dict[str, Any]
) -> dict[str, Any]:
    """Bars from the start to the end field over a range of weeks around the records."""
    start_f = catalog.by_api_name[view["options"]["start_field"]]
    end_f = catalog.by_api_name[view["options"]["end_field"]]
    items, more = _fetch(ctx, catalog, view, state, {start_f.api_name: {"empty": False}})
    bars: list[dict[str, Any]] = []
    for r in items:
        start = _day_of(r["values"].get(start_f.api_name), ctx)
        end = _day_of(r["values"].get(end_f.api_name), ctx) or start
        if start is None or end is None:
            continue
        bars.append({"record": r, "start": start, "end": max(start, end)})
    month = _month(ctx) if ctx.request.query_params.get("month") else None
    if month is None:
        earliest = min((b["start"] for b in bars), default=_today(ctx))
        month = earliest.replace(day=1)
    first = month - timedelta(days=month.weekday())
    days = [first + timedelta(days=i) for i in range(42)]
    last = days[-1]
    _dependencies(catalog, view, bars)
    for b in bars:
        b["col"] = (b["start"] - first).days + 1
        b["span"] = (b["end"] - b["start"]).days + 1
        b["visible"] = b["end"] >= first and b["start"] <= last
    prev_month = (month - timedelta(days=1)).replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return {
        "start_field": start_f,
        "end_field": end_f,
        "bars": bars,
        "days": days,
        "first_day": first,
        "today": _today(ctx),
        "month": month,
        "prev_month": prev_month.strftime("%Y-%m"),
        "next_month": next_month.strftime("%Y-%m"),
        "truncated": more,
    }


def _dependencies(catalog: Catalog, view: dict[str, Any], bars: list[dict[str, Any]]) -> None:
    """`options.depends_field`: a link field of this catalog naming the records a bar waits
    for. Each bar gets the shown bars it depends on (an arrow from their end to its start;
    `late` when one of them ends after it starts)."""
    name = view["options"].get("depends_field")
    link = catalog.by_api_name.get(name) if isinstance(name, str) else None
    if link is None or link.options.get("catalog") != catalog.id:
        for b in bars:
            b["deps"] = []
        return
    by_id = {b["record"]["id"]: b for b in bars}
    for b in bars:
        linked = b["record"]["values"].get(link.api_name) or []
        deps = [by_id[x["id"]] for x in linked if isinstance(x, dict) and x.get("id") in by_id]
        b["deps"] = [
            {"id": d["record"]["id"], "title": d["record"]["title"], "late": d["end"] >= b["start"]}
            for d in deps
            if d is not b
        ]


BUILDERS = {"kanban": kanban, "gallery": gallery, "calendar": calendar, "gantt": gantt}


def build(ctx: Ctx, catalog: Catalog, view: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The data of a non-table view."""
    return BUILDERS[view["type"]](ctx, catalog, view, state)
