"""Imports: CSV/TSV/XLSX rows go through the field types and the one write path.

Every row is written by `records.batches.run_prepared` in chunks, so rights,
validation, request webhooks, history and outbox events apply exactly as for an API
call (`runner.py` carries the chunks; `plan.py` maps the file's columns; `jobs.py`
keeps a job's progress, checkpoint and error file).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kartoteka.context import Actor
from kartoteka.errors import TooLarge

from .options import parse_options
from .plan import Column, Plan, plan_import
from .runner import CHUNK_ROWS, ImportResult, ImportStopped, Journal, Progress, Runner
from .transaction import rolled_back

__all__ = [
    "CHUNK_ROWS", "Column", "ImportResult", "Plan", "import_file", "max_rows",
    "parse_options", "plan_import", "rolled_back", "run_import",
]  # fmt: skip

DEFAULT_MAX_ROWS = 1_000_000
MAX_ROWS_SETTING = "import_max_rows"


def max_rows(actor: Actor) -> int:
    """The row limit of one import (workspace setting `import_max_rows`)."""
    value = actor.workspace.meta().settings.get(MAX_ROWS_SETTING)
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_ROWS


def import_file(
    actor: Actor,
    catalog_ref: str | int,
    path: Path | str,
    options: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import a file synchronously without a job (no resume, no error file)."""
    plan = plan_import(actor, catalog_ref, Path(path), options)
    return run_import(actor, plan, progress).to_json()


def run_import(
    actor: Actor,
    plan: Plan,
    progress: Progress | None = None,
    journal: Journal | None = None,
    result: ImportResult | None = None,
    after_line: int = 0,
    stop_requested: Callable[[], bool] | None = None,
) -> ImportResult:
    """Run a planned import chunk by chunk (from just after `after_line` when resuming);
    a dry run rolls every write back at the end."""
    result = result or ImportResult()
    limit = max_rows(actor)
    result.total = plan.source.count_rows(limit)
    if result.total > limit:
        raise TooLarge.of("import_too_many_rows", limit=limit)
    if progress:
        progress(result)
    try:
        if plan.options.dry_run:
            with rolled_back(actor) as dry:
                Runner(dry, plan, result, progress, journal, after_line).run()
        else:
            Runner(actor, plan, result, progress, journal, after_line, stop_requested).run()
    except ImportStopped as exc:
        result.status, result.message = "failed", str(exc)
        result.error_sample.append(exc.summary())
        return result
    result.status = "done"
    return result
