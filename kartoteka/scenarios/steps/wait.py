"""`wait`: a duration, until a moment, or until the record matches a filter (with a timeout).

The run is parked as a row with a due time; nothing sleeps. A wait for a filter is also
woken by every change of the watched record, and then checks the filter again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from ..durations import BadDuration, parse_duration
from ..errors import StepFailed
from .base import Checker, StepKind, StepResult
from .condition import evaluate

DEFAULT_TIMEOUT = "P30D"


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_moment(value: Any, zone: Any) -> datetime:
    """A date (midnight in the workspace zone) or an ISO date-time, as naive UTC."""
    if isinstance(value, str) and len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise StepFailed.of("step_wait_until", value=value) from None
        return _naive_utc(datetime.combine(day, time(0), zone))
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise StepFailed.of("step_wait_until", value=value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return _naive_utc(moment)


class Wait(StepKind):
    kind = "wait"
    keys = frozenset({"duration", "until", "until_filter", "timeout"})
    branches = ("on_timeout",)
    summary = "Wait a `duration`, `until` a moment, or until the record matches `until_filter`."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        given = [k for k in ("duration", "until", "until_filter") if k in spec]
        if len(given) != 1:
            check.add(where, "scenario_wait_one")
        for key in ("duration", "timeout"):
            if key in spec:
                try:
                    if parse_duration(spec[key]).total_seconds() < 0:
                        check.add(f"{where}.{key}", "scenario_not_negative")
                except BadDuration as exc:
                    check.add(f"{where}.{key}", exc.code, **exc.params)
        if "until_filter" in spec and not isinstance(spec["until_filter"], dict):
            check.add(f"{where}.until_filter", "scenario_filter_object")
        if "on_timeout" in spec and "until_filter" not in spec:
            check.add(f"{where}.on_timeout", "scenario_wait_timeout")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        if "until_filter" in spec:
            return self._until_filter(ctx, spec, instr)
        if "duration" in spec:
            due = ctx.now + parse_duration(spec["duration"])
        else:
            due = parse_moment(ctx.render("until", spec["until"]), ctx.ws.meta().timezone)
        output = {"until": due.isoformat() + "Z"}
        if ctx.test:
            output["test"] = "not waiting in test mode"
        if due <= ctx.now:
            return StepResult(output=output)
        return StepResult(output=output, wait_until=due)

    def _until_filter(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        waits = ctx.state.setdefault("waits", {})
        key = str(instr["pc"])
        if key not in waits:
            timeout = parse_duration(spec.get("timeout", DEFAULT_TIMEOUT))
            waits[key] = (ctx.now + timeout).isoformat()
        deadline = datetime.fromisoformat(waits[key])
        if evaluate(ctx, spec["until_filter"]):
            waits.pop(key, None)
            return StepResult(output={"matched": True})
        if ctx.now >= deadline or ctx.test:
            waits.pop(key, None)
            output = {"matched": False, "timed_out": True}
            return StepResult(output=output, goto=instr.get("timeout_to"))
        watch = None
        if ctx.run.catalog_id and ctx.run.record_id:
            watch = (int(ctx.run.catalog_id), int(ctx.run.record_id))
        return StepResult(
            output={"matched": False, "until": deadline.isoformat() + "Z"},
            wait_until=deadline,
            watch=watch,
            repeat=True,
        )
