"""Record steps: create, update, delete and find records in any catalog (the one write path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import records_port
from ..errors import StepFailed
from .base import Checker, Deferred, StepKind, StepResult

MAX_FIND = 1000


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """A record as templates see it: its values plus `id`."""
    return {**record.get("values", {}), "id": record["id"]}


def _catalog(ctx: Any, spec: dict[str, Any]) -> Any:
    """The step's catalog (rendered when a template), or the run's record catalog."""
    ref = spec.get("catalog")
    if ref is None:
        if not ctx.run.catalog_id:
            raise StepFailed.of("step_no_catalog")
        return ctx.run.catalog_id
    return ctx.render("catalog", ref)


def _record_id(ctx: Any, spec: dict[str, Any]) -> int:
    if spec.get("record") is None:
        if not ctx.run.record_id:
            raise StepFailed.of("step_no_record")
        return int(ctx.run.record_id)
    value = ctx.render("record", spec["record"])
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StepFailed.of("step_record_id", value=value) from None


def _raising(finish: Callable[[Any], StepResult]) -> Callable[[Any], StepResult]:
    """`finish` for a write whose outcome is None, or the error it raised alone."""

    def done(outcome: Any) -> StepResult:
        if isinstance(outcome, BaseException):
            raise outcome
        return finish(outcome)

    return done


def _check_values(spec: dict[str, Any], where: str, check: Checker, catalog: Any) -> None:
    values = spec.get("values")
    if not isinstance(values, dict) or not values:
        check.add(f"{where}.values", "scenario_values_required")
        return
    if catalog is not None:
        for key in values:
            if key not in catalog.by_api_name:
                check.add(
                    f"{where}.values.{key}",
                    "scenario_values_unknown_field",
                    catalog=catalog.api_name,
                )


class CreateRecord(StepKind):
    kind = "create_record"
    keys = frozenset({"catalog", "values", "into"})
    effect = "record"
    summary = "Create a record in a catalog; `into` keeps it in a variable."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        catalog = check.catalog(spec.get("catalog"), f"{where}.catalog")
        _check_values(spec, where, check, catalog)

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        catalog = _catalog(ctx, spec)
        values = ctx.render("values", spec["values"])
        record = records_port.create(ctx.actor, catalog, values)
        output = {"id": record["id"], "record": _flat(record)}
        variables = {spec["into"]: _flat(record)} if spec.get("into") else {}
        return StepResult(output=output, variables=variables)


class UpdateRecord(StepKind):
    kind = "update_record"
    keys = frozenset({"catalog", "record", "values"})
    effect = "record"
    summary = "Change fields of the run's record (or of `record` in `catalog`)."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        catalog = None
        if spec.get("catalog") is not None:
            catalog = check.catalog(spec.get("catalog"), f"{where}.catalog")
        _check_values(spec, where, check, catalog)

    def start(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> Deferred:
        catalog = _catalog(ctx, spec)
        record_id = _record_id(ctx, spec)
        values = ctx.render("values", spec["values"])

        def finish(_: Any) -> StepResult:
            ctx.forget_record()
            return StepResult(output={"id": record_id, "values": values})

        write = records_port.RecordWrite("update", ctx.actor, catalog, record_id, values)
        return Deferred(write, _raising(finish))

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        return self.start(ctx, spec, instr).alone()


class DeleteRecord(StepKind):
    kind = "delete_record"
    keys = frozenset({"catalog", "record"})
    effect = "record"
    summary = "Delete the run's record (or `record` in `catalog`)."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        if spec.get("catalog") is not None:
            check.catalog(spec.get("catalog"), f"{where}.catalog")

    def start(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> Deferred:
        catalog = _catalog(ctx, spec)
        record_id = _record_id(ctx, spec)

        def finish(_: Any) -> StepResult:
            ctx.forget_record()
            return StepResult(output={"id": record_id, "deleted": True})

        write = records_port.RecordWrite("delete", ctx.actor, catalog, record_id)
        return Deferred(write, _raising(finish))

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        return self.start(ctx, spec, instr).alone()


class FindRecords(StepKind):
    kind = "find_records"
    keys = frozenset({"catalog", "filter", "sort", "limit", "into"})
    summary = "Find records by a filter (templates allowed in values) into a variable."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        check.catalog(spec.get("catalog"), f"{where}.catalog")
        if spec.get("filter") is not None and not isinstance(spec["filter"], dict):
            check.add(f"{where}.filter", "scenario_filter_object")
        limit = spec.get("limit", 100)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_FIND:
            check.add(f"{where}.limit", "scenario_between", min=1, max=MAX_FIND)
        check.text(spec, "into", where, required=False)

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        found = find(ctx, spec)
        output = {"count": len(found), "ids": [r["id"] for r in found], "records": found}
        variables = {spec["into"]: found} if spec.get("into") else {}
        return StepResult(output=output, variables=variables)


def find(ctx: Any, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Records matching the step's rendered filter, as flat dicts with `id`."""
    catalog = ctx.render("catalog", spec["catalog"])
    flt = ctx.render("filter", spec.get("filter")) if spec.get("filter") else None
    items = records_port.find(
        ctx.actor, catalog, flt, spec.get("sort"), int(spec.get("limit", 100))
    )
    return [_flat(r) for r in items]
