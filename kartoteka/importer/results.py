"""What an import reports: its counts and first errors, refused rows, and its journal."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from kartoteka.catalogs.models import Catalog
from kartoteka.errors import DomainError, ItemError, Rejected
from kartoteka.fields.base import FieldValueError


@dataclass
class ImportResult:
    """Counts and the first errors of an import (also what the job row stores)."""

    status: str = "running"
    processed: int = 0
    total: int | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    error_sample: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The API shape (without the job id)."""
        return dataclasses.asdict(self)


class ImportStopped(Exception):
    """on_error=stop met an error: the job fails and the current chunk is not written.

    Its text is the English summary (logs, the CLI); `summary()` is the same as a coded,
    line-less entry of the job's errors, worded in the reader's language by the API,
    the row's own reason too when it has a code (`reason_code`, `reason_params`).
    """

    def __init__(self, error: RowError) -> None:
        where = f" ({error.column})" if error.column else ""
        super().__init__(f"line {error.line}{where}: {error.message}")
        self.code = "import_stopped_column" if error.column else "import_stopped"
        self.params: dict[str, Any] = {
            "line": error.line,
            "column": error.column,
            "reason": error.message,
        }
        if error.problem is not None:
            self.params["reason_code"] = error.problem.code
            self.params["reason_params"] = {k: _plain(v) for k, v in error.problem.params.items()}

    def summary(self) -> dict[str, Any]:
        """The job's line-less error entry saying why it stopped."""
        return {"line": None, "column": None, "value": None, "message": str(self),
                "code": self.code, "params": self.params}  # fmt: skip


class Journal(Protocol):
    """Where a job keeps its progress: called once per chunk, inside the chunk's
    transaction (`conn`), or with `conn` None in a dry run (nothing may be written)."""

    def chunk_done(
        self, conn: Connection | None, result: ImportResult, last_line: int, errors: list[Any]
    ) -> None:
        """Store the counts, the checkpoint and the chunk's refused rows."""


@dataclass
class RowError:
    """One refused row: where, why, and the file's cells (for the error file)."""

    line: int | None
    column: str | None
    value: Any
    message: str
    cells: list[str] | None = None
    #: The reason as a code with parameters, when known: the API words it in the
    #: reader's language (`message` stays the English text, for logs and the CLI).
    problem: ItemError | None = None

    def sample(self) -> dict[str, Any]:
        """The entry of the job's `error_sample`."""
        out = {"line": self.line, "column": self.column, "value": self.value,
               "message": self.message}  # fmt: skip
        if self.problem is not None:
            out["code"] = self.problem.code
            out["params"] = {k: _plain(v) for k, v in self.problem.params.items()}
        return out


def _plain(value: Any) -> Any:
    """A parameter as JSON can keep it (the sample is stored as JSON)."""
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def coded(exc: FieldValueError) -> ItemError:
    """A field type's refusal as a code with parameters."""
    return ItemError(None, None, None, exc.code, exc.params)


def field_problems(exc: DomainError) -> dict[str, ItemError]:
    """api_name -> coded reason, for the errors of the item the exception names."""
    if exc.errors:
        return {e.field: e for e in exc.errors if e.field}
    fields = dict(getattr(exc, "fields", {}) or {})
    return {k: ItemError(None, None, k, "invalid", {"message": v}) for k, v in fields.items()}


def row_message(exc: DomainError) -> str:
    """The error for a row, without the batch's list and index (the line says which)."""
    first = exc.first
    if isinstance(exc, Rejected) or first is None:
        return exc.message
    return f"{first.field}: {first.text()}" if first.field else first.text()


def match_problem(catalog: Catalog, key: str, text: str, matches: int) -> str:
    """Why a key did not pick exactly one record."""
    if matches == 0:
        return f"no record of {catalog.api_name!r} with {key} = {text!r}"
    return f"{text!r} matches {matches} records of {catalog.api_name!r} by {key}"


def culprit_of(exc: DomainError, lists: dict[str, list[Any]]) -> Any:
    """The row a batch error names (by its list and index), if it names one."""
    first = exc.first
    if first is None or first.where is None or first.index is None:
        return None
    rows = lists.get(first.where, [])
    return rows[first.index] if 0 <= first.index < len(rows) else None


def chunks(
    rows: Iterator[tuple[int, list[str]]], size: int, after_line: int
) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for row in rows:
        if row[0] <= after_line:
            continue
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
