"""`stop`: end the run with success or error."""

from __future__ import annotations

from typing import Any

from .base import Checker, StepKind, StepResult


class Stop(StepKind):
    kind = "stop"
    keys = frozenset({"status", "message"})
    summary = 'End the run: `{"status": "success"}` or `"error"` with a message.'

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        if spec.get("status", "success") not in ("success", "error"):
            check.add(f"{where}.status", "scenario_either", first="success", second="error")
        check.text(spec, "message", where, required=False)

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        message = ctx.render("message", spec["message"]) if spec.get("message") else None
        failed = spec.get("status", "success") == "error"
        return StepResult(
            output={"status": spec.get("status", "success"), "message": message},
            stop="failed" if failed else "done",
            stop_message=str(message) if failed and message else ("stopped" if failed else None),
        )
