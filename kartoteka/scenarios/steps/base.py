"""The contract of a step kind, and what a step gets and gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy.engine import Connection

from kartoteka.errors import ItemError, problem

if TYPE_CHECKING:
    from kartoteka.catalogs.models import WorkspaceMeta

    from ..context import StepContext

#: Keys every step may have besides its own.
COMMON_KEYS = frozenset({"type", "id", "note", "retry", "on_error"})


@dataclass
class Checker:
    """Collects definition errors by path while a definition is validated: each a code
    with parameters (`kartoteka/messages/scenarios.py`) about a path (`steps[2].url`)."""

    meta: WorkspaceMeta
    problems: dict[str, ItemError] = field(default_factory=dict)
    scenario_ids: frozenset[int] = frozenset()

    def add(self, where: str, code: str, /, **params: Any) -> None:
        """Note one problem (the first one per place wins)."""
        self.problems.setdefault(where, problem(code, where, **params))

    def add_error(self, where: str, error: ItemError) -> None:
        """Note a typed error another service reported (a filter's), at `where`."""
        self.add(where, error.code, **error.params)

    def catalog(self, ref: Any, where: str) -> Any:
        """The catalog named by `ref` (api_name or id), or None with an error noted."""
        if isinstance(ref, str) and "{" in ref:
            return None  # a template: checked when the step runs
        catalog = self.meta.catalog(ref) if isinstance(ref, (str, int)) else None
        if catalog is None:
            self.add(where, "scenario_unknown_catalog", ref=ref)
        return catalog

    def text(self, spec: dict[str, Any], key: str, where: str, required: bool = True) -> None:
        """`spec[key]` must be a (template) string."""
        value = spec.get(key)
        if value is None and not required:
            return
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(f"{where}.{key}", "scenario_non_empty_string")


@dataclass
class StepResult:
    """What a step did: its output, where to go next, whether the run waits or stops."""

    output: dict[str, Any] = field(default_factory=dict)
    #: Jump to this program counter instead of the next instruction.
    goto: int | None = None
    #: Park the run until this moment (a wait, a rate-limited call).
    wait_until: datetime | None = None
    #: Wake the wait early when this (catalog id, record id) changes.
    watch: tuple[int, int] | None = None
    #: Repeat this same instruction when the run wakes (waits that check a condition).
    repeat: bool = False
    #: "done" or "failed": end the run here.
    stop: str | None = None
    stop_message: str | None = None
    #: Variables to set (merged into the run's variables).
    variables: dict[str, Any] = field(default_factory=dict)
    #: Writes that must commit together with the step's record (exactly once).
    writes: list[Callable[[Connection], Any]] = field(default_factory=list)
    #: The step's visible status in the trace (`recorded` in test mode).
    status: str = "done"


class Work(Protocol):
    """Work a step leaves to the engine: done alone, or with others of its `group`."""

    def group(self) -> tuple[Any, ...]:
        """Works with equal groups may be done together by `do_many`."""
        ...

    def do(self) -> Any:
        """Do this work alone; returns its outcome (raises what the step would)."""
        ...

    @staticmethod
    def do_many(works: list[Any]) -> list[Any]:
        """Do works of one group together: an outcome, or the exception, for each."""
        ...


@dataclass
class Deferred:
    """A step's work handed to the engine, and how its outcome becomes the step's result.

    A worker pass moving many runs at once does the works of one group together (one
    records batch for many runs' updates, many HTTP calls at once); alone, `finish`
    gets the outcome of `work.do()`. `finish` may raise what the step would raise.
    """

    work: Work
    finish: Callable[[Any], StepResult]

    def alone(self) -> StepResult:
        """Do the work now, by itself."""
        return self.finish(self.work.do())


class StepKind:
    """Base class of a step kind: one per module in `steps/`, listed in `steps/__init__`."""

    kind: ClassVar[str] = ""
    #: Keys of the step besides COMMON_KEYS.
    keys: ClassVar[frozenset[str]] = frozenset()
    #: Step lists nested in this step (compiled into the program by `definition`).
    branches: ClassVar[tuple[str, ...]] = ()
    #: "none": computes only (re-run freely after a crash); "local": its writes commit
    #: with the step record; "record": writes records (found again after a crash by the
    #: run/step key in the event); "external": HTTP or e-mail (re-sent with the same key).
    effect: ClassVar[str] = "none"
    #: Documented in docs/scenarios.md (a test checks every kind is).
    summary: ClassVar[str] = ""

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        """Note problems of one step's own keys."""

    def run(self, ctx: StepContext, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        """Do the step's work."""
        raise NotImplementedError

    def start(
        self, ctx: StepContext, spec: dict[str, Any], instr: dict[str, Any]
    ) -> StepResult | Deferred:
        """Do the step, or hand its work to the engine to do with other runs' (`Deferred`).

        Kinds whose work batches well (record writes, HTTP calls) override this and
        make `run` do `start(...).alone()`; the others just run.
        """
        return self.run(ctx, spec, instr)
