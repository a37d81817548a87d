"""`for_each`: run nested steps once per found record or per item of a list."""

from __future__ import annotations

from typing import Any

from ..errors import StepFailed
from .base import Checker, StepKind, StepResult
from .records import MAX_FIND, find

MAX_ITEMS = MAX_FIND


class ForEach(StepKind):
    kind = "for_each"
    keys = frozenset({"catalog", "filter", "sort", "limit", "items", "as"})
    branches = ("steps",)
    summary = "Repeat `steps` per record found (`catalog`, `filter`) or per item of `items`."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        if ("items" in spec) == ("catalog" in spec):
            check.add(where, "scenario_loop_source")
        if "catalog" in spec:
            check.catalog(spec["catalog"], f"{where}.catalog")
        name = spec.get("as", "item")
        if not isinstance(name, str) or not name.isidentifier():
            check.add(f"{where}.as", "scenario_variable_name")
        if not isinstance(spec.get("steps"), list) or not spec["steps"]:
            check.add(f"{where}.steps", "scenario_loop_steps")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        if "items" in spec:
            items = ctx.render("items", spec["items"])
            if not isinstance(items, list):
                raise StepFailed.of("step_loop_items", type=type(items).__name__)
        else:
            items = find(ctx, {**spec, "limit": spec.get("limit", MAX_ITEMS)})
        items = items[:MAX_ITEMS]
        output = {"count": len(items)}
        if not items:
            return StepResult(output=output, goto=instr["end_to"])
        ctx.state.setdefault("loops", []).append(
            {"pc": instr["pc"], "items": items, "i": 0, "as": spec.get("as", "item")}
        )
        return StepResult(output=output)
