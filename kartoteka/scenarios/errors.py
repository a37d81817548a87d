"""Errors of the scenarios service."""

from __future__ import annotations

from typing import Any

from kartoteka.errors import Conflict, DomainError, NotFound, Unauthenticated, ValidationFailed
from kartoteka.messages import message as message_of

#: A failure's message code and parameters (`messages/scenarios.py`), stored on the step
#: beside its English text; (None, None) for a failure without a code.
Coded = tuple[str | None, dict[str, Any] | None]


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

    @property
    def coded(self) -> Coded:
        """The code and parameters to store with the step (None, None when uncoded)."""
        return (self.code, self.params) if self.code else (None, None)


#: The params key naming the field a refused write was about (`stamp: required`).
FIELD_KEY = "_field"


def coded(exc: DomainError) -> Coded:
    """The first typed error of a domain error a step ran into (a refused write)."""
    first = exc.first
    if first is None:
        return (None, None)
    params = dict(first.params)
    if first.field and exc.names_item:
        params[FIELD_KEY] = first.field
    return (first.code, params)


def step_error_text(code: str | None, params: dict[str, Any] | None, lang: str) -> str | None:
    """A recorded step failure in `lang` (None when it was recorded without a code)."""
    if not code:
        return None
    params = dict(params or {})
    field = params.pop(FIELD_KEY, None)
    if params.get("error_code"):
        # A failure that carries another's (a called scenario's run): that one too.
        inner = run_error_text(params["error_code"], params.get("error_params"), lang)
        params["error"] = inner or params.get("error", "")
    text = message_of(code, params, lang)
    return f"{field}: {text}" if field else text


def step_failure(path: str, kind: str, message: str, code: Coded) -> tuple[str, dict[str, Any]]:
    """The code and parameters of a run that failed at a step (`steps[2] (http): ...`):
    the step's English text and, when it has them, its own code and parameters."""
    params: dict[str, Any] = {"path": path, "kind": kind, "error": message}
    if code[0]:
        params["step_code"], params["step_params"] = code
    return ("run_step_failed", params)


def stop_failure(status: str | None, message: str | None) -> Coded:
    """The code of a run a `stop` step ended with an error (its own message, if any)."""
    if status != "failed":
        return (None, None)
    if message and message != "stopped":
        return ("run_stopped_message", {"message": message})
    return ("run_stopped", {})


def run_error_text(code: str | None, params: dict[str, Any] | None, lang: str) -> str | None:
    """A run's recorded failure in `lang` (None when it was recorded without a code)."""
    if not code:
        return None
    params = dict(params or {})
    if code == "run_step_failed":
        inner = step_error_text(params.get("step_code"), params.get("step_params"), lang)
        params["error"] = inner or params.get("error", "")
    return message_of(code, params, lang)
