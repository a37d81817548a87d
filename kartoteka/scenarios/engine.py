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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.context import Actor, Workspace
from kartoteka.errors import DomainError
from kartoteka.storage import bulk, counters, schema
from kartoteka.storage.engine import read_connection
from kartoteka.webhooks.delivery import make_client

from . import definition, records_port, templates
from .clock import clock
from .durations import parse_duration
from .errors import StepFailed
from .steps import KINDS
from .steps.base import StepResult

log = logging.getLogger("kartoteka.scenarios")

LEASE_SECONDS = 60.0
#: Progress is written at least this often while a run goes on without boundaries.
FLUSH_SECONDS = 5.0
#: Instructions one claim may execute before the run goes back in the queue (fairness,
#: and a bound on a scenario looping forever).
SLICE_INSTRUCTIONS = 10_000
MAX_OUTPUTS = 1000
MAX_OUTPUT_BYTES = 64_000
FINISHED = ("done", "failed", "cancelled", "skipped")


class LeaseLost(Exception):
    """Another worker took the run over (this one was too slow): stop touching it."""


@dataclass
class Services:
    """What steps use outside the database; tests and the bench pass their own."""

    http: Any = None  # an httpx.Client (made lazily)
    allow_private: bool = False
    smtp_override: dict[str, Any] | None = None
    #: Runs executed at once by one worker (1: one after the other).
    threads: int = 1
    _pool: ThreadPoolExecutor | None = None

    def pool(self) -> ThreadPoolExecutor | None:
        """The threads runs execute on (None: run them in the caller's thread)."""
        if self.threads <= 1:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="kt-scenario-run")
        return self._pool

    def http_client(self) -> Any:
        """The shared HTTP client (no redirects; made on first use)."""
        if self.http is None:
            self.http = make_client()
        return self.http

    def close(self) -> None:
        """Close the HTTP client."""
        if self.http is not None:
            self.http.close()
            self.http = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


@dataclass
class RunInfo:
    """The claimed run's fixed facts."""

    id: int
    scenario_id: int
    scenario_name: str
    version: int
    test: bool
    depth: int
    cause: tuple[int, ...]
    catalog_id: int | None
    record_id: int | None
    trigger: dict[str, Any]
    options: dict[str, Any]
    parent_run_id: int | None
    owner: str


@dataclass
class StepContext:
    """What a step sees: the run, its state, the template names, the services."""

    ws: Workspace
    run: RunInfo
    state: dict[str, Any]
    services: Services
    now: datetime
    n: int = 0
    instr: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    #: The run's record as read for the previous steps (shared by the runner).
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def test(self) -> bool:
        """Test mode: HTTP and e-mail are recorded, not sent; waits are skipped."""
        return self.run.test

    @property
    def actor(self) -> Actor:
        """The scenario's actor for this step: writes carry the run/step key and depth."""
        return Actor(
            workspace=self.ws,
            user_id=None,
            name=f"scenario: {self.run.scenario_name}",
            is_admin=True,
            via="scenario",
            cause=self.run.cause,
            scenario={
                "id": self.run.scenario_id,
                "run": self.run.id,
                "step": self.n,
                "depth": self.run.depth + 1,
            },
        )

    def record(self) -> dict[str, Any] | None:
        """The run's record as it is now (read again after any step that wrote records)."""
        if "record" not in self.cache:
            found = None
            if self.run.catalog_id and self.run.record_id:
                found = records_port.get(
                    Actor.system(self.ws), self.run.catalog_id, self.run.record_id
                )
            self.cache["record"] = found
        return self.cache["record"]

    def forget_record(self) -> None:
        """The record may have changed: read it again when next asked."""
        self.cache.pop("record", None)

    def names(self) -> dict[str, Any]:
        """The names templates and conditions see."""
        record = self.record()
        values = dict(record["values"]) if record else {}
        if record:
            values["id"] = record["id"]
        loop = self.state.get("loops") or []
        names = {
            "record": values,
            "previous": self.run.trigger.get("previous") or {},
            "user": self.run.trigger.get("user") or {},
            "trigger": self.run.trigger,
            "vars": self.state.get("vars") or {},
            "steps": templates.StepsView(
                self.state.get("outputs") or [], self.state.get("named") or {}
            ),
            "run": {"id": self.run.id, "scenario": self.run.scenario_id, "test": self.test},
            "now": self.now.isoformat(timespec="seconds") + "Z",
            "today": datetime.now(self.ws.meta().timezone).date().isoformat(),
        }
        for frame in loop:
            names[frame["as"]] = frame["items"][frame["i"]]
            names[f"{frame['as']}_index"] = frame["i"]
        return names

    def render(self, key: str, value: Any) -> Any:
        """Render one of the step's values, noting it as the step's input."""
        out = templates.render_value(value, self.names())
        self.input[key] = out
        return out

    def idempotency_key(self) -> str:
        """The same key for every send of this step of this run (crash re-sends too)."""
        return f"kt-run-{self.run.id}-step-{self.n}"


# ----- claiming ---------------------------------------------------------------------------
def claim(ws: Workspace, owner: str, now: datetime, limit: int = 50) -> list[int]:
    """Take up to `limit` due runs (queued, waiting and come due, or abandoned by a dead
    worker); each stays ours until `now + LEASE_SECONDS` unless renewed."""
    return [run_id for run_id, _ in claim_runs(ws, owner, now, limit)]


def claim_runs(ws: Workspace, owner: str, now: datetime, limit: int = 50) -> list[tuple[int, bool]]:
    """`claim`, telling for each run whether it was taken over from a dead worker."""
    r = schema.scenario_runs
    q = (
        sa.select(r.c.id, r.c.scenario_id, r.c.status)
        .where(r.c.status.in_(("queued", "waiting", "running")), r.c.due_at <= now)
        .order_by(r.c.due_at, r.c.id)
        .limit(limit)
    )
    lease = now + timedelta(seconds=LEASE_SECONDS)
    with read_connection(ws.engine) as conn:
        if conn.execute(q.with_only_columns(r.c.id).limit(1)).first() is None:
            return []  # nothing due: no write lock taken
    with ws.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(of=r, skip_locked=True)
        rows = list(conn.execute(q).all())
        if not rows:
            return []
        taken = _within_concurrency(conn, rows, now)
        abandoned = {row.id for row in rows if row.status == "running"}
        if taken:
            conn.execute(
                sa.update(r)
                .where(bulk.id_in(conn, r.c.id, taken))
                .values(
                    status="running",
                    owner=owner,
                    due_at=lease,
                    lease_until=lease,
                    started_at=sa.func.coalesce(r.c.started_at, now),
                    updated_at=now,
                )
            )
    return [(run_id, run_id in abandoned) for run_id in taken]


def _within_concurrency(conn: Connection, rows: list[Any], now: datetime) -> list[int]:
    """Drop claims beyond each scenario's `concurrency` option (runs holding a lease count)."""
    s, r = schema.scenarios, schema.scenario_runs
    ids = sorted({row.scenario_id for row in rows})
    limits = {}
    for sid, definition_json in conn.execute(
        sa.select(s.c.id, s.c.definition).where(s.c.id.in_(ids))
    ):
        limit = ((definition_json or {}).get("options") or {}).get("concurrency")
        if limit:
            limits[sid] = int(limit)
    if not limits:
        return [row.id for row in rows]
    lock = sa.select(s.c.id).where(s.c.id.in_(sorted(limits)))
    if conn.dialect.name == "postgresql":
        # Claimers of one limited scenario queue here, so their counts cannot race.
        conn.execute(lock.with_for_update())
    # (A Result has .keys(), so dict(result) would treat it as a mapping: build it by hand.)
    busy: dict[int, int] = {
        sid: count
        for sid, count in conn.execute(
            sa.select(r.c.scenario_id, sa.func.count())
            .where(
                r.c.scenario_id.in_(sorted(limits)),
                r.c.status == "running",
                r.c.lease_until > now,
            )
            .group_by(r.c.scenario_id)
        )
    }
    taken = []
    for row in rows:
        limit = limits.get(row.scenario_id)
        if limit is not None:
            if busy.get(row.scenario_id, 0) >= limit:
                continue
            busy[row.scenario_id] = busy.get(row.scenario_id, 0) + 1
        taken.append(row.id)
    return taken


# ----- executing --------------------------------------------------------------------------
@dataclass
class _Progress:
    """Step rows and writes not yet committed (flushed at the next boundary)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    writes: list[Any] = field(default_factory=list)


def _load(ws: Workspace, run_id: int, owner: str) -> tuple[Any, dict[str, Any], str] | None:
    r, v, s = schema.scenario_runs, schema.scenario_versions, schema.scenarios
    with ws.engine.connect() as conn:
        row = conn.execute(
            sa.select(r, v.c.definition, s.c.name)
            .join(v, sa.and_(v.c.scenario_id == r.c.scenario_id, v.c.version == r.c.version))
            .join(s, s.c.id == r.c.scenario_id)
            .where(r.c.id == run_id)
        ).first()
    if row is None or row.owner != owner or row.status != "running":
        return None
    return row, row.definition, row.name


def execute(
    ws: Workspace, run_id: int, owner: str, services: Services, recovering: bool = False
) -> str:
    """Execute a claimed run until it finishes, waits or hits its slice; returns its status.

    `recovering`: the run was taken over from a worker whose lease ran out, so record
    steps up to the first boundary look for their own earlier writes first.
    """
    loaded = _load(ws, run_id, owner)
    if loaded is None:
        return "lost"
    row, definition_json, name = loaded
    info = RunInfo(
        id=row.id,
        scenario_id=row.scenario_id,
        scenario_name=name,
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
    runner = _Runner(ws, info, program, dict(row.state or {}), row.steps_done or 0, services)
    runner.recovering = recovering
    try:
        return runner.go()
    except LeaseLost:
        log.warning("scenario run %s was taken over by another worker", run_id)
        return "lost"


class _Runner:
    """Moves one run through its program (see the module docstring)."""

    def __init__(
        self,
        ws: Workspace,
        info: RunInfo,
        program: list[dict[str, Any]],
        state: dict[str, Any],
        steps_done: int,
        services: Services,
    ) -> None:
        self.ws = ws
        self.info = info
        self.program = program
        self.state = state
        self.n = steps_done
        self.services = services
        self.progress = _Progress()
        self.cache: dict[str, Any] = {}
        self.recovering = False
        self.wrote_records = False
        self.last_flush = time.monotonic()
        state.setdefault("pc", 0)
        state.setdefault("vars", {})
        state.setdefault("attempt", 1)

    def go(self) -> str:
        """The main loop."""
        for _ in range(SLICE_INSTRUCTIONS):
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
        # A very long slice: let other runs have the worker, continue at the next claim.
        self._flush("queued", due_at=clock.now())
        return "queued"

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
        )

    def _step(self, instr: dict[str, Any]) -> str | None:
        kind = KINDS[instr["kind"]]
        spec = instr["spec"]
        ctx = self._context(instr)
        started = time.perf_counter()
        try:
            result = self._recovered(ctx, kind.effect) or kind.run(ctx, spec, instr)
        except StepFailed as exc:
            return self._failed(ctx, instr, exc.message, exc.output, started)
        except DomainError as exc:
            fields = getattr(exc, "fields", None)
            return self._failed(ctx, instr, exc.message, {"fields": fields}, started)
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
                "input": _trim(ctx.input),
                "output": _trim(output),
                "error": error,
                "at": ctx.now,
                "duration_ms": int((time.perf_counter() - started) * 1000),
            }
        )

    def _remember(self, instr: dict[str, Any], output: dict[str, Any]) -> None:
        outputs = self.state.setdefault("outputs", [])
        named = self.state.setdefault("named", {})
        if len(outputs) < MAX_OUTPUTS:
            outputs.append(_trim(output))
            if instr["spec"].get("id"):
                named[instr["spec"]["id"]] = len(outputs) - 1
        elif instr["spec"].get("id"):
            # Past the cap only named outputs are kept (replacing the last slot).
            outputs[-1] = _trim(output)
            named[instr["spec"]["id"]] = len(outputs) - 1

    def _apply(
        self, ctx: StepContext, instr: dict[str, Any], result: StepResult, started: float
    ) -> str | None:
        kind = KINDS[instr["kind"]]
        self.state["attempt"] = 1
        if kind.effect == "record":
            self.cache.pop("record", None)
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
            return self._finish(result.stop, result.stop_message)
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
    ) -> str | None:
        spec = instr["spec"]
        retry = spec.get("retry") or self.info.options.get("retry") or {}
        attempt = int(self.state.get("attempt", 1))
        self._row(ctx, instr, "failed", output, message, started)
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
        return self._finish("failed", f"{instr['path']} ({instr['kind']}): {message}")

    # -- persistence ----------------------------------------------------------------------
    def _finish(self, status: str, error: str | None) -> str:
        self._flush(status, error=error, finished=True)
        return status

    def _flush(
        self,
        status: str,
        due_at: datetime | None = None,
        watch: tuple[int, int] | None = None,
        error: str | None = None,
        finished: bool = False,
    ) -> None:
        """Commit the steps so far and the run's state, if the run is still ours."""
        r = schema.scenario_runs
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
        if finished:
            values["finished_at"] = now
        with self.ws.engine.begin() as conn:
            for write in self.progress.writes:
                write(conn)
            if self.wrote_records or "seq_mark" not in self.state:
                # Writes of record steps up to here have event numbers up to this mark.
                self.state["seq_mark"] = counters.peek(conn, records_port.EVENT_COUNTER)
            done = conn.execute(
                sa.update(r)
                .where(r.c.id == self.info.id, r.c.owner == self.info.owner)
                .where(r.c.status == "running")
                .values(**values)
            ).rowcount
            if not done:
                raise LeaseLost(self.info.id)
            if self.progress.rows:
                conn.execute(sa.insert(schema.scenario_steps), self.progress.rows)
            if finished and self.info.parent_run_id:
                _wake_parent(conn, self.info.parent_run_id, now)
        self.progress = _Progress()
        self.recovering = False
        self.wrote_records = False
        self.last_flush = time.monotonic()


def _wake_parent(conn: Connection, parent_id: int, now: datetime) -> None:
    """A called scenario finished: the caller waiting for it goes on now."""
    r = schema.scenario_runs
    conn.execute(
        sa.update(r).where(r.c.id == parent_id, r.c.status == "waiting").values(due_at=now)
    )


def _trim(value: Any) -> Any:
    """Keep stored inputs/outputs bounded (the run viewer shows a note instead)."""
    try:
        size = len(orjson.dumps(value))
    except TypeError:
        return {"note": "not JSON"}
    if size <= MAX_OUTPUT_BYTES:
        return value
    return {"truncated": True, "bytes": size}


def run_due(
    ws: Workspace, owner: str, services: Services, limit: int = 50, rounds: int = 1000
) -> int:
    """Claim and execute due runs until none is due (at most `rounds` claims).

    Claimed runs execute on `services.threads` threads: a run mostly waits for the
    database or an HTTP answer, and others go on meanwhile.
    """
    done = 0
    for _ in range(rounds):
        claimed = claim_runs(ws, owner, clock.now(), limit)
        if not claimed:
            break
        pool = services.pool()
        if pool is None:
            for run_id, recovering in claimed:
                _execute_logged(ws, run_id, owner, services, recovering)
        else:
            list(
                pool.map(
                    lambda item: _execute_logged(ws, item[0], owner, services, item[1]), claimed
                )
            )
        done += len(claimed)
    return done


def _execute_logged(
    ws: Workspace, run_id: int, owner: str, services: Services, recovering: bool
) -> None:
    try:
        execute(ws, run_id, owner, services, recovering=recovering)
    except Exception:
        # One broken run must not stop the others; its lease lapses and it is retried.
        log.exception("scenario run %s failed unexpectedly", run_id)
