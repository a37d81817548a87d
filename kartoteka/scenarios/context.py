"""What a run's steps see while they execute: the run, its state, the services.

`StepContext` is made by the engine for each step; steps read the run's record and
names through it, render their values, and get the run/step key their writes and
sends carry (see `engine` for how that key makes crash replays safe).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kartoteka.context import Actor, Workspace
from kartoteka.webhooks.delivery import make_client

from . import records_port, templates


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
    #: This step's template names, once made.
    memo: dict[str, Any] | None = None
    #: The worker pass's shared record checks (`conditions.PassChecks`), if any.
    checks: Any = None

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
        self.memo = None

    def names(self) -> dict[str, Any]:
        """The names templates and conditions see (made once per step: a step's values
        are rendered one by one, and the run's state changes only between steps)."""
        if self.memo is None:
            self.memo = self._names()
        return self.memo

    def _names(self) -> dict[str, Any]:
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
