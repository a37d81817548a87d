"""A worker pass: claim due runs and move them all together, step by step.

Runs of a pass advance side by side. Steps that only compute run at once; a step
whose work batches (`Deferred`: a record update or delete, an HTTP call) parks its
run until every run of the pass has parked or stopped; then the works of one group
are done together (one `records.batch` through the one write path for many runs'
updates of a catalog, the HTTP calls at once on the worker's threads) and each run
goes on with its own outcome. Boundaries (after an HTTP call, a wait, the end) are
written for all runs in one transaction. So a pass of N runs of a 5-step scenario
costs a few batches and commits instead of N times as many.

Exactly-once is as for a run alone (see `engine`): a record write carries its run
and step in its event, and a run taken over from a dead worker executes alone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Actor, Workspace
from kartoteka.errors import DomainError
from kartoteka.storage import bulk, schema

from . import conditions, records_port
from .claiming import claim_runs
from .clock import clock
from .context import LeaseLost, Services
from .engine import PARKED, Runner, execute, load_runners
from .progress import event_mark

log = logging.getLogger("kartoteka.scenarios")

#: Runs one pass claims and moves together.
PASS_RUNS = 200


def run_due(
    ws: Workspace, owner: str, services: Services, limit: int = PASS_RUNS, rounds: int = 1000
) -> int:
    """Claim and execute due runs until none is due (at most `rounds` passes)."""
    done = 0
    for _ in range(rounds):
        claimed = claim_runs(ws, owner, clock.now(), limit)
        if not claimed:
            break
        for run_id, recovering in claimed:
            if recovering:
                # Taken over from a dead worker: alone, looking for its own writes first.
                _alone(ws, run_id, owner, services)
        move_together(ws, owner, services, [run_id for run_id, rec in claimed if not rec])
        done += len(claimed)
    return done


def _alone(ws: Workspace, run_id: int, owner: str, services: Services) -> None:
    try:
        execute(ws, run_id, owner, services, recovering=True)
    except Exception:
        # One broken run must not stop the others; its lease lapses and it is retried.
        log.exception("scenario run %s failed unexpectedly", run_id)


def move_together(ws: Workspace, owner: str, services: Services, run_ids: list[int]) -> None:
    """Execute claimed runs side by side until each has finished, waits or is lost."""
    moving: dict[Runner, str] = {}
    runners = load_runners(ws, run_ids, owner, services, together=True)
    records: dict[int, list[int]] = {}
    for runner in runners:
        if runner.info.catalog_id and runner.info.record_id:
            records.setdefault(runner.info.catalog_id, []).append(runner.info.record_id)
    checks = conditions.PassChecks(records)
    for runner in runners:
        runner.checks = checks
    _read_records(ws, runners)
    for runner in runners:
        _advance(moving, runner, runner.go)
    while moving:
        _commit(ws, [r for r in moving if r.pending is not None], moving)
        parked = [r for r, status in moving.items() if status == PARKED]
        outcomes = _do_works([r for r in parked if r.parked is not None])
        moving = {}
        ready = []
        for runner in parked:
            if _advance(moving, runner, functools.partial(runner.settle, outcomes.get(runner))):
                ready.append(runner)
        _read_records(ws, ready)
        for runner in ready:
            _advance(moving, runner, runner.go)


def _advance(moving: dict[Runner, str], runner: Runner, step: Callable[[], str | None]) -> bool:
    """Move one runner; it stays in `moving` while it has something for the pass.
    True when it is ready to go on (`step` returned None)."""
    try:
        status = step()
    except LeaseLost:
        log.warning("scenario run %s was taken over by another worker", runner.info.id)
        return False
    except Exception:
        log.exception("scenario run %s failed unexpectedly", runner.info.id)
        return False
    if status is None:
        return True
    if status == PARKED or runner.pending is not None:
        moving[runner] = status
    return False


def _read_records(ws: Workspace, runners: list[Runner]) -> None:
    """Read the runs' own records, one query per catalog, before their steps ask for them
    one by one (a record step made them read it again)."""
    wanted: dict[int, list[Runner]] = {}
    for runner in runners:
        if runner.info.catalog_id and runner.info.record_id and "record" not in runner.cache:
            wanted.setdefault(runner.info.catalog_id, []).append(runner)
    for catalog_id, group in wanted.items():
        try:
            found = records_port.get_many(
                Actor.system(ws), catalog_id, [r.info.record_id for r in group if r.info.record_id]
            )
        except DomainError:
            continue  # (a catalog gone) each run reads, and fails, on its own
        for runner in group:
            runner.cache["record"] = found.get(runner.info.record_id or 0)


def _commit(ws: Workspace, runners: list[Runner], moving: dict[Runner, str]) -> None:
    """Write every pending boundary in one transaction; runs no longer ours drop out."""
    if not runners:
        return
    try:
        with ws.engine.begin() as conn:
            ours = _still_ours(conn, runners)
            marks: list[int] = []

            def mark() -> int:
                if not marks:
                    marks.append(event_mark(conn))
                return marks[0]

            _write_runs(conn, [(r, r.boundary_values(mark)) for r in runners if r in ours])
            rows = [row for r in runners if r in ours for row in r.write_steps(conn)]
            if rows:
                conn.execute(sa.insert(schema.scenario_steps), rows)
    except Exception:
        log.exception("committing %s scenario runs failed", len(runners))
        for runner in runners:
            moving.pop(runner, None)  # their leases lapse; another pass takes them over
        return
    for runner in runners:
        if runner not in ours:
            log.warning("scenario run %s was taken over by another worker", runner.info.id)
            moving.pop(runner, None)
        else:
            runner.committed()
            if moving.get(runner) != PARKED:
                moving.pop(runner, None)  # finished, waiting or queued: done with it


def _still_ours(conn: Connection, runners: list[Runner]) -> set[Runner]:
    """The runners whose runs this worker still holds, locked until the commit (SQLite's
    writers hold the database from BEGIN IMMEDIATE on)."""
    r = schema.scenario_runs
    by_id = {runner.info.id: runner for runner in runners}
    q = sa.select(r.c.id, r.c.owner).where(
        bulk.id_in(conn, r.c.id, sorted(by_id)), r.c.status == "running"
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return {by_id[i] for i, owner in conn.execute(q) if owner == by_id[i].info.owner}


def _write_runs(conn: Connection, items: list[tuple[Runner, dict[str, Any]]]) -> None:
    """The runs' rows, one executemany per shape of values (not one UPDATE per run)."""
    r = schema.scenario_runs
    shapes: dict[tuple[str, ...], list[tuple[Runner, dict[str, Any]]]] = {}
    for runner, values in items:
        shapes.setdefault(tuple(sorted(values)), []).append((runner, values))
    for keys, group in shapes.items():
        statement = (
            sa.update(r)
            .where(r.c.id == sa.bindparam("run_id", type_=r.c.id.type))
            .values({k: sa.bindparam(f"new_{k}", type_=r.c[k].type) for k in keys})
        )
        params = [
            {"run_id": runner.info.id, **{f"new_{k}": values[k] for k in keys}}
            for runner, values in group
        ]
        conn.execute(statement, params)


def _do_works(runners: list[Runner]) -> dict[Runner, Any]:
    """Do the parked steps' works, those of one group together; an outcome per runner."""
    groups: dict[tuple[Any, ...], list[Runner]] = {}
    for runner in runners:
        assert runner.parked is not None
        groups.setdefault(runner.parked[2].work.group(), []).append(runner)
    outcomes: dict[Runner, Any] = {}
    for members in groups.values():
        works = [r.parked[2].work for r in members if r.parked is not None]
        try:
            results = type(works[0]).do_many(works)
        except Exception as exc:
            log.exception("a scenario pass failed doing %s works together", len(works))
            results = [exc] * len(works)
        outcomes.update(zip(members, results, strict=True))
    return outcomes
