"""`condition`: the views' filter language over the record and `$` variables; then/else."""

from __future__ import annotations

from typing import Any

from kartoteka.context import Actor

from .. import conditions
from .base import Checker, StepKind, StepResult


class Condition(StepKind):
    kind = "condition"
    keys = frozenset({"filter"})
    branches = ("then", "else")
    summary = "Go into `then` when the filter matches the record and variables, else `else`."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        if not isinstance(spec.get("filter"), dict):
            check.add(f"{where}.filter", "scenario_filter_required")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        matched = evaluate(ctx, spec["filter"])
        ctx.input["filter"] = spec["filter"]
        return StepResult(output={"matched": matched}, goto=None if matched else instr["else_to"])


def evaluate(ctx: Any, spec: dict[str, Any]) -> bool:
    """Does the run's record (and variables) match `spec` now?"""
    run = ctx.run
    record_check = None
    if run.catalog_id and run.record_id:
        catalog = ctx.ws.meta().catalog(run.catalog_id)
        if catalog is not None:
            actor = Actor.system(ctx.ws)

            def record_check(part: dict[str, Any]) -> bool:
                if ctx.checks is not None:  # a worker pass: one query for all its runs
                    return bool(ctx.checks.matches(actor, catalog, run.record_id, part))
                return conditions.record_matches(actor, catalog, run.record_id, part)

    return conditions.matches(spec, ctx.names(), record_check)
