"""Running scenario runs: claim due runs, execute their program, persist step by step.

A run is a row. Its `state` holds the program counter, the variables, the outputs of
the steps so far and the loop stack; every step leaves a `scenario_steps` row. A
worker claims a due run with a lease (`due_at` then means "the lease ends"), executes
instructions, and writes its progress with a statement that only succeeds while it
still holds the lease, so two workers never both move one run.

Progress is written at boundaries: after an HTTP or e-mail step, at a wait, at the
end, on failure (and at least every `FLUSH_SECONDS`). What a crash between two
boundaries may repeat, by the step's `effect`:
- "none" steps compute only: they are simply computed again;
- "local" steps (notify, comment, call) insert their rows in the same transaction as
  their step row, so they are written exactly once;
- "record" steps write through the records service in their own transaction; the
  write's events carry the run/step key, so a worker taking over a run whose lease
  ran out first looks for that key in the events since the run's mark (`seq_mark`,
  the event counter at its last boundary) and does not write twice;
- "external" steps (HTTP, e-mail) are sent again with the same idempotency key /
  Message-ID (the step's number is the same on every replay), so a receiver can tell.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Workspace
from kartoteka.errors import DomainError
from kartoteka.messages import message as message_of
from kartoteka.storage import bulk, counters, schema

from . import definition, records_port
from .claiming import LEASE_SECONDS, claim, claim_runs
from .clock import clock
from .context import LeaseLost, RunInfo, Services, StepContext
from .durations import parse_duration
from .errors import Coded, StepFailed, coded, step_failure, stop_failure
from .progress import Flush, Progress, trim, wake_parent
from .steps import KINDS
from .steps.base import Deferred, StepResult

__all__ = ["LEASE_SECONDS", "Runner", "Services", "StepContext", "claim", "claim_runs", "execute"]

log = logging.getLogger("kartoteka.scenarios")

#: Progress is written at least this often while a run goes on without boundaries.
FLUSH_SECONDS = 5.0
#: Instructions one claim may execute before the run goes back in the queue (fairness,
#: and a bound on a scenario looping forever).
SLICE_INSTRUCTIONS = 10_000
MAX_OUTPUTS = 1000
FINISHED = ("done", "failed", "cancelled", "skipped")
#: What `Runner.go` returns while a run moved with others waits for its pass.
PARKED = "parked"


# ----- executing --------------------------------------------------------------------------
def load_runners(
    ws: Workspace, run_ids: list[int], owner: str, services: Services, *, together: bool = False
) -> list[Runner]:
    """Runners of claimed runs still ours (one query); `together`: see `Runner`."""
    r, v, s = schema.scenario_runs, schema.scenario_versions, schema.scenarios
    if not run_ids:
        return []
    with ws.engine.connect() as conn:
        rows = conn.execute(
            sa.select(r, v.c.definition, s.c.name)
            .join(v, sa.and_(v.c.scenario_id == r.c.scenario_id, v.c.version == r.c.version))
            .join(s, s.c.id == r.c.scenario_id)
            .where(bulk.id_in(conn, r.c.id, run_ids))
            .order_by(r.c.id)
        ).all()
    return [
        _runner(ws, row, owner, services, together)
        for row in rows
        if row.owner == owner and row.status == "running"
    ]


def _runner(ws: Workspace, row: Any, owner: str, services: Services, together: bool) -> Runner:
    definition_json = row.definition
    info = RunInfo(
        id=row.id,
        scenario_id=row.scenario_id,
        scenario_name=row.name,
        version=row.version,
        test=bool(row.test),
        depth=row.depth or 0,
        cause=tuple(int(x) for x in (row.cause or "").split("-") if x.isdecimal()),
        catalog_id=row.catalog_id,
        record_id=row.record_id,
        trigger=row.trigger or {},
        options=definition_json.get("options") or {},
        parent_run_id=row.parent_run_id,
        owner=owner,
    )
    program = definition.program_of(ws.name, row.scenario_id, row.version, definition_json)
    state = dict(row.state or {})
    return Runner(ws, info, program, state, row.steps_done or 0, services, together=together)


def execute(
    ws: Workspace, run_id: int, owner: str, services: Services, recovering: bool = False
) -> str:
    """Execute a claimed run alone until it finishes, waits or hits its slice; returns its
    status.

    `recovering`: the run was taken over from a worker whose lease ran out, so record
    steps up to the first boundary look for their own earlier writes first.
    """
    found = load_runners(ws, [run_id], owner, services)
    if not found:
        return "lost"
    runner = found[0]
    runner.recovering = recovering
    try:
        return runner.go()
    except LeaseLost:
        log.warning("scenario run %s was taken over by another worker", run_id)
        return "lost"


class Runner:
    """Moves one run through its program (see the module docstring).

    Alone, a runner does each step's work itself and commits at each boundary. Moved
    `together` with other runs (`passes`), it stops (`PARKED`) where a step hands its
    work to the pass (`Deferred`) and where a boundary's progress waits for the pass's
    one commit (`pending`); the pass then calls `settle` and `go`.
    """

    def __init__(
        self,
        ws: Workspace,
        info: RunInfo,
        program: list[dict[str, Any]],
        state: dict[str, Any],
        steps_done: int,
        services: Services,
        *,
        together: bool = False,
    ) -> None:
        self.ws = ws
        self.together = together
        #: The pass's shared condition checks (`conditions.PassChecks`), when together.
        self.checks: Any = None
        #: A step waiting for its deferred work: (context, instruction, work, started).
        self.parked: tuple[StepContext, dict[str, Any], Deferred, float] | None = None
        #: A boundary's progress waiting for the pass's commit (`together` only).
        self.pending: Flush | None = None
        self.info = info
        self.program = program
        self.state = state
        self.n = steps_done
        self.services = services
        self.progress = Progress()
        self.cache: dict[str, Any] = {}
        self.recovering = False
        self.wrote_records = False
        self.last_flush = time.monotonic()
        self.budget = SLICE_INSTRUCTIONS
        state.setdefault("pc", 0)
        state.setdefault("vars", {})
        state.setdefault("attempt", 1)

    def go(self) -> str:
        """The main loop: a status, or PARKED (moved `together`, waiting for the pass)."""
        while self.budget > 0:
            self.budget -= 1
            pc = self.state["pc"]
            if pc >= len(self.program):
                return self._finish("done", None)
            instr = self.program[pc]
            if instr["op"] == "jump":
                self.state["pc"] = instr["to"]
            elif instr["op"] == "next":
                self._loop_next(instr)
            else:
                outcome = self._step(instr)
                if outcome is not None:
                    return outcome
                if self.pending is not None:
                    return PARKED  # a boundary: the pass commits it, then we go on
        # A very long slice: let other runs have the worker, continue at the next claim.
        self._flush("queued", due_at=clock.now())
        return "queued"

    def settle(self, outcome: Any = None) -> str | None:
        """Finish the parked step with the pass's `outcome`: a status (or PARKED at a
        boundary) to stop at, None to go on with `go`."""
        if self.parked is None:
            return None
        ctx, instr, deferred, started = self.parked
        self.parked = None
        status = self._settle(ctx, instr, started, lambda: deferred.finish(outcome))
        if status is None and self.pending is not None:
            return PARKED
        return status

    # -- loops ----------------------------------------------------------------------------
    def _loop_next(self, instr: dict[str, Any]) -> None:
        frame = self.state["loops"][-1]
        frame["i"] += 1
        if frame["i"] < len(frame["items"]):
            self.state["pc"] = instr["loop"] + 1
        else:
            self.state["loops"].pop()
            self.state["pc"] = instr["pc"] + 1

    # -- one step -------------------------------------------------------------------------
    def _context(self, instr: dict[str, Any]) -> StepContext:
        return StepContext(
            ws=self.ws,
            run=self.info,
            state=self.state,
            services=self.services,
            now=clock.now(),
            n=self.n + 1,
            instr=instr,
            cache=self.cache,
            checks=self.checks,
        )

    def _step(self, instr: dict[str, Any]) -> str | None:
        kind = KINDS[instr["kind"]]
        spec = instr["spec"]
        ctx = self._context(instr)
        started = time.perf_counter()

        def do() -> StepResult | Deferred:
            recovered = self._recovered(ctx, kind.effect)
            if recovered is not None:
                return recovered
            if self.together:
                return kind.start(ctx, spec, instr)
            return kind.run(ctx, spec, instr)

        return self._settle(ctx, instr, started, do)

    def _settle(
        self,
        ctx: StepContext,
        instr: dict[str, Any],
        started: float,
        do: Callable[[], StepResult | Deferred],
    ) -> str | None:
        """Do (or finish) a step and apply its result, or its failure."""
        try:
            result = do()
        except StepFailed as exc:
            return self._failed(ctx, instr, exc.message, exc.output, started, exc.coded)
        except DomainError as exc:
            fields = getattr(exc, "fields", None)
            return self._failed(ctx, instr, exc.message, {"fields": fields}, started, coded(exc))
        if isinstance(result, Deferred):
            self.parked = (ctx, instr, result, started)
            return PARKED
        return self._apply(ctx, instr, result, started)

    def _recovered(self, ctx: StepContext, effect: str) -> StepResult | None:
        """After a crash: the write this step already made, instead of a second one."""
        if not self.recovering or effect != "record":
            return None
        mark = int(self.state.get("seq_mark") or 0)
        ids = records_port.find_step_write(ctx.actor, mark, self.info.id, ctx.n)
        if not ids:
            return None
        output = {"id": ids[0], "ids": ids, "recovered": True}
        step = ctx.instr["spec"]
        variables = {step["into"]: output} if step.get("into") else {}
        return StepResult(output=output, variables=variables)

    def _row(
        self,
        ctx: StepContext,
        instr: dict[str, Any],
        status: str,
        output: Any,
        error: str | None,
        started: float,
        code: Coded = (None, None),
    ) -> None:
        self.n = ctx.n
        self.progress.rows.append(
            {
                "run_id": self.info.id,
                "n": ctx.n,
                "pc": instr["pc"],
                "step_id": instr["spec"].get("id"),
                "kind": instr["kind"],
                "status": status,
                "attempt": self.state.get("attempt", 1),
                "input": trim(ctx.input),
                "output": trim(output),
                "error": error,
                "error_code": code[0],
                "error_params": code[1],
                "at": ctx.now,
                "duration_ms": int((time.perf_counter() - started) * 1000),
            }
        )

    def _remember(self, instr: dict[str, Any], output: dict[str, Any]) -> None:
        outputs = self.state.setdefault("outputs", [])
        named = self.state.setdefault("named", {})
        if len(outputs) < MAX_OUTPUTS:
            outputs.append(trim(output))
            if instr["spec"].get("id"):
                named[instr["spec"]["id"]] = len(outputs) - 1
        elif instr["spec"].get("id"):
            # Past the cap only named outputs are kept (replacing the last slot).
            outputs[-1] = trim(output)
            named[instr["spec"]["id"]] = len(outputs) - 1

    def _apply(
        self, ctx: StepContext, instr: dict[str, Any], result: StepResult, started: float
    ) -> str | None:
        kind = KINDS[instr["kind"]]
        self.state["attempt"] = 1
        if kind.effect == "record":
            self.cache.pop("record", None)
            if self.checks is not None:
                self.checks.forget()
            self.wrote_records = True
        self.state["vars"].update(result.variables)
        if result.wait_until is not None and not ctx.test:
            self._row(ctx, instr, "waiting", result.output, None, started)
            if not result.repeat:
                self._remember(instr, result.output)
                self.state["pc"] = instr["pc"] + 1 if result.goto is None else result.goto
            self.progress.writes += result.writes
            self._flush("waiting", due_at=result.wait_until, watch=result.watch)
            return "waiting"
        self._row(ctx, instr, result.status, result.output, None, started)
        self._remember(instr, result.output)
        self.progress.writes += result.writes
        if result.stop:
            return self._finish(
                result.stop, result.stop_message, stop_failure(result.stop, result.stop_message)
            )
        self.state["pc"] = instr["pc"] + 1 if result.goto is None else result.goto
        # A boundary after what went outside (so a crash does not send it again), and
        # now and then on long runs; record and local steps wait for the next one.
        if kind.effect == "external" or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self._flush("running")
        return None

    def _failed(
        self,
        ctx: StepContext,
        instr: dict[str, Any],
        message: str,
        output: Any,
        started: float,
        code: Coded = (None, None),
    ) -> str | None:
        spec = instr["spec"]
        retry = spec.get("retry") or self.info.options.get("retry") or {}
        attempt = int(self.state.get("attempt", 1))
        self._row(ctx, instr, "failed", output, message, started, code)
        if attempt < int(retry.get("attempts", 1)) and not ctx.test:
            delay = parse_duration(retry.get("delay", "PT5S")).total_seconds()
            delay *= float(retry.get("factor", 2)) ** (attempt - 1)
            self.state["attempt"] = attempt + 1
            self._flush("waiting", due_at=ctx.now + timedelta(seconds=delay))
            return "waiting"
        self.state["attempt"] = 1
        error = {"step": spec.get("id") or instr["path"], "message": message, "output": output}
        self.state["vars"]["error"] = error
        if instr.get("error_to") is not None:
            self.state["pc"] = instr["error_to"]
            self._flush("running")
            return None
        self.state["failed_pc"] = instr["pc"]
        failure = step_failure(instr["path"], instr["kind"], message, code)
        return self._finish("failed", message_of(*failure), failure)

    # -- persistence ----------------------------------------------------------------------
    def _finish(self, status: str, error: str | None, code: Coded = (None, None)) -> str:
        self._flush(status, error=error, code=code, finished=True)
        return status

    def _flush(
        self,
        status: str,
        due_at: datetime | None = None,
        watch: tuple[int, int] | None = None,
        error: str | None = None,
        finished: bool = False,
        code: Coded = (None, None),
    ) -> None:
        """Commit the steps so far and the run's state, if the run is still ours (moved
        `together`: leave it `pending` for the pass's one commit)."""
        now = clock.now()
        if status == "running":
            due_at = now + timedelta(seconds=LEASE_SECONDS)
        values: dict[str, Any] = {
            "status": status,
            "state": self.state,
            "steps_done": self.n,
            "due_at": due_at,
            "lease_until": due_at if status == "running" else None,
            "watch_catalog_id": watch[0] if watch else None,
            "watch_record_id": watch[1] if watch else None,
            "updated_at": now,
        }
        if status != "running":
            values["owner"] = None
        if error is not None or finished:
            values["error"] = error
            values["error_code"], values["error_params"] = code
        if finished:
            values["finished_at"] = now
        self.pending = Flush(values, finished, now)
        if self.together:
            return
        with self.ws.engine.begin() as conn:
            rows = self.write_progress(
                conn, lambda: counters.peek(conn, records_port.EVENT_COUNTER)
            )
            if rows is None:
                raise LeaseLost(self.info.id)
            if rows:
                conn.execute(sa.insert(schema.scenario_steps), rows)
        self.committed()

    def write_progress(
        self, conn: Connection, event_mark: Callable[[], int]
    ) -> list[dict[str, Any]] | None:
        """Write the pending boundary in `conn`: its step rows to insert, or None when the
        run is no longer ours (then nothing was written)."""
        r = schema.scenario_runs
        values = self.boundary_values(event_mark)
        done = conn.execute(
            sa.update(r)
            .where(r.c.id == self.info.id, r.c.owner == self.info.owner)
            .where(r.c.status == "running")
            .values(**values)
        ).rowcount
        if not done:
            return None
        return self.write_steps(conn)

    def boundary_values(self, event_mark: Callable[[], int]) -> dict[str, Any]:
        """The run row's values at the pending boundary."""
        assert self.pending is not None
        if self.wrote_records or "seq_mark" not in self.state:
            # Writes of record steps up to here have event numbers up to this mark (the
            # boundary's own writes take none).
            self.state["seq_mark"] = event_mark()
        return self.pending.values

    def write_steps(self, conn: Connection) -> list[dict[str, Any]]:
        """The boundary's writes once the run row is written: its step rows to insert."""
        flush = self.pending
        assert flush is not None
        for write in self.progress.writes:
            write(conn)
        if flush.finished and self.info.parent_run_id:
            wake_parent(conn, self.info.parent_run_id, flush.now)
        return self.progress.rows

    def committed(self) -> None:
        """The pending boundary was committed."""
        self.pending = None
        self.progress = Progress()
        self.recovering = False
        self.wrote_records = False
        self.last_flush = time.monotonic()
