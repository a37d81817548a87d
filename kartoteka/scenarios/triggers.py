"""What starts runs: outbox events (record triggers, waking waits) and timers.

The scenario consumer has its own cursor over the outbox; runs are inserted and the
cursor moved in one transaction, and every run carries a key unique per scenario
(`e<seq>`, `cron:<moment>`, `date:<record>:<day>`), so a crash between passes can
neither lose a trigger nor fire it twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor, Workspace
from kartoteka.fields.base import FieldValueError
from kartoteka.filters.compiler import FilterCompiler
from kartoteka.messages import message as message_of
from kartoteka.records.query import compile_filter
from kartoteka.storage import counters, dates, schema
from kartoteka.storage.engine import read_connection
from kartoteka.webhooks.outbox import claim_cursor, move_cursor

from .durations import parse_duration, parse_time_of_day
from .runs import insert_runs, max_depth, new_run_row

CONSUMER = "scenarios"
RECORD_TRIGGERS = ("record.created", "record.updated", "record.saved", "record.deleted")
#: `record.saved` is either of these.
SAVED = ("record.created", "record.updated")
BATCH = 500
DATE_CHECK_SECONDS = 60
MAX_DATE_WINDOW_DAYS = 366
log = logging.getLogger("kartoteka.scenarios.triggers")


# ----- record events -----------------------------------------------------------------------
def consume_events(ws: Workspace, now: datetime, limit: int = BATCH) -> int:
    """Turn up to `limit` new events into runs and wake waits on changed records."""
    e, s, r = schema.events, schema.scenarios, schema.scenario_runs
    if not _new_events(ws):
        return 0  # a read, not a write lock, when there is nothing to do
    with ws.engine.begin() as conn:
        last = claim_cursor(conn, CONSUMER)
        if last is None:
            return 0
        scenarios = list(
            conn.execute(
                sa.select(s.c.id, s.c.version, s.c.catalog_id, s.c.start_seq, s.c.definition).where(
                    s.c.active.is_(True),
                    s.c.trigger_type.in_(RECORD_TRIGGERS),
                )
            ).all()
        )
        # Only waiting runs have a watch (the engine clears it otherwise): an index probe.
        watching = conn.execute(
            sa.select(r.c.id).where(r.c.watch_catalog_id.is_not(None)).limit(1)
        ).first()
        if not scenarios and watching is None:
            # Nobody listens: jump the cursor over the backlog without reading it.
            top = conn.execute(sa.select(sa.func.max(e.c.seq))).scalar() or last
            if top > last:
                move_cursor(conn, CONSUMER, int(top))
            return 0
        events = list(
            conn.execute(sa.select(e).where(e.c.seq > last).order_by(e.c.seq).limit(limit)).all()
        )
        if not events:
            return 0
        rows = _runs_for(ws, conn, scenarios, events, now)
        insert_runs(conn, rows)
        if watching is not None:
            _wake_watchers(conn, events, now)
        move_cursor(conn, CONSUMER, events[-1].seq)
    return len(events)


def _new_events(ws: Workspace) -> bool:
    """Are there events past the scenario consumer's cursor?"""
    c = schema.outbox_cursor
    with read_connection(ws.engine) as conn:
        last = conn.execute(sa.select(c.c.last_seq).where(c.c.consumer == CONSUMER)).scalar()
        return counters.peek(conn, "event_seq") > int(last or 0)


def _wake_watchers(conn: Connection, events: list[Any], now: datetime) -> None:
    """Waits for a record to match a filter look again when that record changed."""
    r = schema.scenario_runs
    changed: dict[int, set[int]] = {}
    for ev in events:
        if ev.catalog_id is not None and ev.record_id is not None:
            changed.setdefault(ev.catalog_id, set()).add(ev.record_id)
    for catalog_id, ids in changed.items():
        conn.execute(
            sa.update(r)
            .where(
                r.c.status == "waiting",
                r.c.watch_catalog_id == catalog_id,
                r.c.watch_record_id.in_(sorted(ids)),
            )
            .values(due_at=now)
        )


def _runs_for(
    ws: Workspace, conn: Connection, scenarios: list[Any], events: list[Any], now: datetime
) -> list[dict[str, Any]]:
    meta = ws.meta()
    # A trigger filter is compiled once per chunk of events (per set of fields an event
    # lays over the row), not once per event: compiling cost more than the query.
    statements: dict[Any, Any] = {}
    people = _users(conn, {ev.user_id for ev in events if ev.user_id is not None})
    rows = []
    for sc in scenarios:
        trigger = sc.definition.get("trigger") or {}
        catalog = meta.catalog(sc.catalog_id) if sc.catalog_id else None
        if catalog is None:
            continue
        limit = max_depth(ws, sc.definition.get("options"))
        for ev in events:
            if not _wants(sc, trigger, ev):
                continue
            marker = (ev.payload or {}).get("scenario") or {}
            depth = int(marker.get("depth") or 0)
            row = new_run_row(
                ws,
                sc.id,
                key=f"e{ev.seq}",
                trigger=_trigger_data(ev, people),
                now=now,
                catalog_id=ev.catalog_id,
                record_id=ev.record_id,
                depth=depth,
                cause=ev.cause,
                version=sc.version,
            )
            if depth >= limit:
                row.update(status="skipped", due_at=None, finished_at=now)
                params = {"depth": depth, "limit": limit}
                row.update(
                    error=message_of("run_depth_limit", params),
                    error_code="run_depth_limit",
                    error_params=params,
                )
            elif not _filter_passes(ws, conn, catalog, trigger, ev, statements):
                continue
            rows.append(row)
    return rows


def _wants(sc: Any, trigger: dict[str, Any], ev: Any) -> bool:
    kind = trigger.get("type")
    same = ev.type == kind or (kind == "record.saved" and ev.type in SAVED)
    if not same or ev.catalog_id != sc.catalog_id:
        return False
    if ev.seq <= (sc.start_seq or 0):
        return False
    if (((ev.payload or {}).get("import")) or {}).get("scenarios") is False:
        return False  # an import of historical data asked not to start scenarios
    fields = trigger.get("fields")
    if fields and ev.type == "record.updated":
        return bool(set((ev.payload or {}).get("values", {})).intersection(fields))
    return True


def _users(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Who made the changes: `{{ user.email }}` and `{{ user.name }}` in templates."""
    if not ids:
        return {}
    u = schema.users
    rows = conn.execute(sa.select(u.c.id, u.c.email, u.c.name).where(u.c.id.in_(sorted(ids))))
    return {r.id: {"id": r.id, "email": r.email, "name": r.name} for r in rows}


def _trigger_data(ev: Any, people: dict[int, dict[str, Any]]) -> dict[str, Any]:
    payload = ev.payload or {}
    return {
        "type": ev.type,
        "sequence": ev.seq,
        "at": ev.at.isoformat() + "Z",
        "catalog": payload.get("catalog"),
        "record_id": ev.record_id,
        "user": people.get(ev.user_id, {"id": ev.user_id}),
        "values": payload.get("values", {}),
        "previous": payload.get("previous", {}),
    }


def _filter_passes(
    ws: Workspace,
    conn: Connection,
    catalog: Catalog,
    trigger: dict[str, Any],
    ev: Any,
    statements: dict[Any, Any],
) -> bool:
    spec = trigger.get("filter")
    if not spec or ev.type == "record.deleted":
        return True
    payload = ev.payload or {}
    overlays = [payload.get("values", {})]
    if ev.type != "record.created" and trigger.get("when") != "matches":
        overlays.append(payload.get("previous", {}))  # "became": matched after, not before
    found = _matches_as(ws, conn, catalog, ev.record_id, overlays, spec, statements)
    return found[0] and not any(found[1:])


def _matches_as(
    ws: Workspace,
    conn: Connection,
    catalog: Catalog,
    record_id: int,
    overlays: list[dict[str, Any]],
    spec: Any,
    statements: dict[Any, Any],
) -> list[bool]:
    """Does the record match `spec` with some fields taken from an event (after, and
    before)? One query answers for every overlay.

    The row is read as it is now with the event's values laid over it, so a later
    change of the record does not change what this event meant. Links are read as
    they are now.
    """
    actor = Actor.system(ws)
    params: dict[str, Any] = {"record_id": record_id}
    for i, overlay in enumerate(overlays):
        for field in catalog.fields:
            if field.column and field.api_name in overlay and not field.is_link:
                try:
                    value = field.ftype.to_db(overlay[field.api_name], field, actor)
                except (FieldValueError, TypeError, ValueError):
                    continue  # the row's own value, as if the event had not named it
                params[f"as_of_{i}_{field.column}"] = value
    key = (id(catalog), id(spec), len(overlays), tuple(sorted(params)))
    if key not in statements:
        statements[key] = _as_of_statement(actor, catalog, len(overlays), set(params), spec)
    statement = statements[key]
    if statement is None:
        return [False] * len(overlays)
    return [bool(x) for x in conn.execute(statement, params).one()]


def _as_of_statement(
    actor: Actor, catalog: Catalog, overlays: int, names: set[str], spec: Any
) -> Any:
    """`SELECT EXISTS(...), ...`: for each overlay, does the record with the named
    columns taken from parameters match `spec` (None when the filter no longer compiles)."""
    table = catalog.table
    checks = []
    for i in range(overlays):
        columns: list[Any] = []
        for col in table.c:
            name = f"as_of_{i}_{col.name}"
            if name in names:
                columns.append(sa.bindparam(name, type_=col.type).label(col.name))
            else:
                columns.append(col)
        row = (
            sa.select(*columns)
            .where(table.c.id == sa.bindparam("record_id"))
            .subquery(f"row_as_of_event_{i}")
        )
        try:
            clause = FilterCompiler(actor, catalog, row, rights=access).compile(spec)
        except Exception:
            log.warning("scenario trigger filter no longer compiles", exc_info=True)
            return None
        checks.append(sa.exists(sa.select(row.c.id).where(clause)).label(f"matches_{i}"))
    return sa.select(*checks)


# ----- timers ------------------------------------------------------------------------------
def next_cron(cron: str, after: datetime, zone: Any) -> datetime:
    """The next moment of `cron` (read in the workspace zone) after `after`, naive UTC."""
    local = after.replace(tzinfo=UTC).astimezone(zone)
    moment = croniter(cron, local).get_next(datetime)
    return moment.astimezone(UTC).replace(tzinfo=None)


def fire_timers(ws: Workspace, now: datetime) -> int:
    """Start runs for schedules that came due and dates that were reached; returns how many."""
    s = schema.scenarios
    due = sa.or_(_due("schedule", now), _due("date", now))
    with read_connection(ws.engine) as conn:
        if (
            conn.execute(sa.select(s.c.id).where(s.c.active.is_(True), due).limit(1)).first()
            is None
        ):
            return 0
    return _fire_schedules(ws, now) + _fire_dates(ws, now)


def _due(trigger_type: str, now: datetime) -> Any:
    """Scenarios of a timer trigger type whose moment has come (one place for both checks)."""
    s = schema.scenarios
    if trigger_type == "schedule":
        came = s.c.next_fire_at <= now
    else:
        came = s.c.checked_until <= now - timedelta(seconds=DATE_CHECK_SECONDS)
    return sa.and_(s.c.trigger_type == trigger_type, came)


def _due_scenarios(conn: Connection, trigger_type: str, now: datetime) -> list[Any]:
    """The active due scenarios of `trigger_type`, locked for this transaction on PostgreSQL."""
    s = schema.scenarios
    q = sa.select(s.c.id, s.c.version, s.c.definition, s.c.next_fire_at, s.c.checked_until).where(
        s.c.active.is_(True), _due(trigger_type, now)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(conn.execute(q).all())


def _fire_schedules(ws: Workspace, now: datetime) -> int:
    s = schema.scenarios
    zone = ws.meta().timezone
    with ws.engine.begin() as conn:
        rows = []
        for sc in _due_scenarios(conn, "schedule", now):
            moment = sc.next_fire_at
            rows.append(
                new_run_row(
                    ws,
                    sc.id,
                    key=f"cron:{moment.isoformat()}",
                    trigger={"type": "schedule", "at": moment.isoformat() + "Z"},
                    now=now,
                    version=sc.version,
                )
            )
            # Moments missed while no worker ran fire once, not once per missed moment.
            following = next_cron(sc.definition["trigger"]["cron"], now, zone)
            conn.execute(sa.update(s).where(s.c.id == sc.id).values(next_fire_at=following))
        insert_runs(conn, rows)
    return len(rows)


def _fire_dates(ws: Workspace, now: datetime) -> int:
    s = schema.scenarios
    started = 0
    with ws.engine.begin() as conn:
        for sc in _due_scenarios(conn, "date", now):
            rows = _date_runs(ws, conn, sc, sc.checked_until, now)
            insert_runs(conn, rows)
            started += len(rows)
            conn.execute(sa.update(s).where(s.c.id == sc.id).values(checked_until=now))
    return started


def _moment(value: Any, trigger: dict[str, Any], zone: Any, year: int | None = None) -> datetime:
    """When a record's date (or date-time) value fires, naive UTC."""
    offset = parse_duration(trigger.get("offset", "P0D"))
    if isinstance(value, datetime):
        return value + offset
    day: date = value
    if year is not None:
        try:
            day = day.replace(year=year)
        except ValueError:  # 29 February in a common year: the 28th
            day = day.replace(year=year, day=28)
    at = parse_time_of_day(trigger.get("at", "09:00"))
    local = datetime.combine(day, at, zone) + offset
    return local.astimezone(UTC).replace(tzinfo=None)


def _date_runs(
    ws: Workspace, conn: Connection, sc: Any, since: datetime, now: datetime
) -> list[dict[str, Any]]:
    trigger = sc.definition["trigger"]
    catalog = ws.meta().catalog(trigger["catalog"])
    field = catalog.by_api_name.get(trigger["field"]) if catalog else None
    if catalog is None or field is None or not field.column:
        return []
    zone = ws.meta().timezone
    since = max(since, now - timedelta(days=MAX_DATE_WINDOW_DAYS))
    offset = parse_duration(trigger.get("offset", "P0D"))
    col = catalog.table.c[field.column]
    q = sa.select(catalog.table.c.id, col).where(col.is_not(None))
    # Candidate values (a day of slack either side for time zones and times of day).
    low = (since - offset - timedelta(days=1)).date()
    high = (now - offset + timedelta(days=1)).date()
    if trigger.get("yearly"):
        days = [low + timedelta(days=i) for i in range((high - low).days + 1)]
        q = q.where(
            dates.month_day(col, ws.dialect).in_(sorted({d.strftime("%m-%d") for d in days}))
        )
    elif field.ftype.value_kind == "datetime":
        q = q.where(
            col > since - offset - timedelta(days=1), col <= now - offset + timedelta(days=1)
        )
    else:
        q = q.where(col.between(low, high))
    clause = compile_filter(Actor.system(ws), catalog, trigger.get("filter"))
    if clause is not None:
        q = q.where(clause)
    rows = []
    for record_id, value in conn.execute(q):
        for year in {since.year, now.year} if trigger.get("yearly") else {None}:
            moment = _moment(value, trigger, zone, year)
            if since < moment <= now:
                rows.append(
                    new_run_row(
                        ws,
                        sc.id,
                        key=f"date:{record_id}:{moment.date().isoformat()}",
                        trigger={"type": "date", "at": moment.isoformat() + "Z"},
                        now=now,
                        catalog_id=catalog.id,
                        record_id=record_id,
                        version=sc.version,
                    )
                )
    return rows
