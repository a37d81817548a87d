"""The engine's clock: wall time in production, set by hand in tests (never sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta

from kartoteka.storage.engine import utcnow


class Clock:
    """Naive UTC time, like every timestamp the storage keeps."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        """The current moment (the fixed one when a test set it)."""
        return self.fixed if self.fixed is not None else utcnow()

    def set(self, moment: datetime | None) -> None:
        """Fix the clock at `moment` (None: back to wall time)."""
        self.fixed = moment

    def advance(self, delta: timedelta) -> datetime:
        """Move a fixed clock forward (fixing it at now first)."""
        self.fixed = self.now() + delta
        return self.fixed


clock = Clock()
