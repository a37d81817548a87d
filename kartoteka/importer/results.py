"""What an import reports: its counts and first errors, refused rows, and its journal."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Connection


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
    """on_error=stop met an error: the job fails and the current chunk is not written."""


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

    def sample(self) -> dict[str, Any]:
        """The entry of the job's `error_sample`."""
        return {"line": self.line, "column": self.column, "value": self.value,
                "message": self.message}  # fmt: skip
