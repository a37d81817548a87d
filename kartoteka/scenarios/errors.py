"""Errors of the scenarios service."""

from __future__ import annotations

from typing import Any

from kartoteka.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from kartoteka.messages import message as message_of


class ScenarioNotFound(NotFound):
    """No such scenario, version or run."""


class ScenarioInvalid(ValidationFailed):
    """A scenario definition is invalid; `fields` names the place (`steps[2].url`) and why."""


class ScenarioInactive(Conflict):
    """The scenario is switched off, or the run is not in a state that allows the action."""


class TriggerTokenInvalid(Unauthenticated):
    """An incoming call to a scenario came without its token or with a wrong one."""


class StepFailed(Exception):
    """A step could not do its work; the run retries it or takes its error branch.

    Not a domain error: it never leaves the engine (it is recorded on the step). `message`
    is the English text; `code` and `params` (`kartoteka/messages/scenarios.py`) let the
    run viewer show it in the reader's language. Raise it with `StepFailed.of(code, ...)`.
    """

    def __init__(
        self,
        message: str,
        output: dict | None = None,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.output = output or {}
        self.code = code
        self.params = params or {}

    @classmethod
    def of(cls, code: str, output: dict | None = None, /, **params: Any) -> StepFailed:
        """A coded failure; its English text is made from the code's template."""
        return cls(message_of(code, params), output, code=code, params=params)
