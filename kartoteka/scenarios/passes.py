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

from kartoteka.context import Workspace
from kartoteka.storage import schema

from .claiming import claim_runs
from .clock import clock
from .context import LeaseLost, Services
from .engine import PARKED, Runner, event_mark, execute, load_runners

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
    for runner in load_runners(ws, run_ids, owner, services, together=True):
        _advance(moving, runner, runner.go)
    while moving:
        _commit(ws, [r for r in moving if r.pending is not None], moving)
        parked = [r for r, status in moving.items() if status == PARKED]
        outcomes = _do_works([r for r in parked if r.parked is not None])
        moving = {}
        for runner in parked:
            _advance(moving, runner, functools.partial(runner.proceed, outcomes.get(runner)))


def _advance(moving: dict[Runner, str], runner: Runner, step: Callable[[], str]) -> None:
    """Move one runner; it stays in `moving` while it has something for the pass."""
    try:
        status = step()
    except LeaseLost:
        log.warning("scenario run %s was taken over by another worker", runner.info.id)
        return
    except Exception:
        log.exception("scenario run %s failed unexpectedly", runner.info.id)
        return
    if status == PARKED or runner.pending is not None:
        moving[runner] = status


def _commit(ws: Workspace, runners: list[Runner], moving: dict[Runner, str]) -> None:
    """Write every pending boundary in one transaction; runs no longer ours drop out."""
    if not runners:
        return
    lost: list[Runner] = []
    try:
        with ws.engine.begin() as conn:
            marks: list[int] = []

            def mark() -> int:
                if not marks:
                    marks.append(event_mark(conn))
                return marks[0]

            rows: list[dict[str, Any]] = []
            for runner in runners:
                written = runner.write_progress(conn, mark)
                if written is None:
                    lost.append(runner)
                else:
                    rows += written
            if rows:
                conn.execute(sa.insert(schema.scenario_steps), rows)
    except Exception:
        log.exception("committing %s scenario runs failed", len(runners))
        for runner in runners:
            moving.pop(runner, None)  # their leases lapse; another pass takes them over
        return
    for runner in runners:
        if runner in lost:
            log.warning("scenario run %s was taken over by another worker", runner.info.id)
            moving.pop(runner, None)
        else:
            runner.committed()
            if moving.get(runner) != PARKED:
                moving.pop(runner, None)  # finished, waiting or queued: done with it


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
