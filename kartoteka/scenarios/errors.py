"""Errors of the scenarios service."""

from kartoteka.errors import Conflict, NotFound, Unauthenticated, ValidationFailed


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

    Not a domain error: it never leaves the engine (it is recorded on the step).
    """

    def __init__(self, message: str, output: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.output = output or {}
