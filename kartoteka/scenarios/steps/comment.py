"""`comment`: add a comment to the run's record (or another record)."""

from __future__ import annotations

from typing import Any

from kartoteka.comments import service as comments

from ..errors import StepFailed
from .base import Checker, StepKind, StepResult
from .records import _catalog, _record_id


class CreateComment(StepKind):
    kind = "comment"
    keys = frozenset({"catalog", "record", "text"})
    effect = "local"
    summary = "Add a comment (`text`, a template) to the run's record or `record`."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        check.text(spec, "text", where)
        if spec.get("catalog") is not None:
            check.catalog(spec["catalog"], f"{where}.catalog")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        ref = _catalog(ctx, spec)
        catalog = ctx.ws.meta().catalog(ref)
        if catalog is None:
            raise StepFailed.of("scenario_unknown_catalog", ref=ref)
        record_id = _record_id(ctx, spec)
        text = str(ctx.render("text", spec["text"])).strip()
        if not text:
            raise StepFailed.of("step_comment_empty")
        text = text[: comments.MAX_COMMENT]
        at, actor = ctx.now, ctx.actor

        def write(conn: Any) -> None:
            # In the step's own transaction: a crash can never leave the comment twice.
            comments.insert_comment(conn, actor, catalog, record_id, text, at=at)

        return StepResult(output={"record_id": record_id, "text": text}, writes=[write])
