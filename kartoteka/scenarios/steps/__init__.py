"""Step kinds: one module each, listed here (importing a module registers nothing)."""

from __future__ import annotations

from .base import StepKind
from .call import CallScenario
from .comment import CreateComment
from .condition import Condition
from .email import SendEmail
from .http import HttpRequest
from .loop import ForEach
from .notify import NotifyUsers
from .records import CreateRecord, DeleteRecord, FindRecords, UpdateRecord
from .stop import Stop
from .variables import SetVariables
from .wait import Wait

BUILT_IN: tuple[type[StepKind], ...] = (
    Condition,
    SetVariables,
    CreateRecord,
    UpdateRecord,
    DeleteRecord,
    FindRecords,
    Wait,
    HttpRequest,
    SendEmail,
    NotifyUsers,
    CreateComment,
    CallScenario,
    ForEach,
    Stop,
)

KINDS: dict[str, StepKind] = {cls.kind: cls() for cls in BUILT_IN}
