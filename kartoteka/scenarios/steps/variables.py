"""`set`: set run variables from templates and expressions."""

from __future__ import annotations

import re
from typing import Any

from .base import Checker, StepKind, StepResult

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class SetVariables(StepKind):
    kind = "set"
    keys = frozenset({"vars"})
    summary = 'Set variables: `{"vars": {"total": {"expr": "record.amount * 2"}}}`.'

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        names = spec.get("vars")
        if not isinstance(names, dict) or not names:
            check.add(f"{where}.vars", "scenario_vars_required")
            return
        for name in names:
            if not _NAME.match(name) or name == "error":
                check.add(f"{where}.vars.{name}", "scenario_var_name")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        values = ctx.render("vars", spec["vars"])
        return StepResult(output=dict(values), variables=dict(values))
