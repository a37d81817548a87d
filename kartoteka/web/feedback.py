"""Service errors as form messages: per input and in general, in the reader's language.

A service names the input it refuses (`ValidationFailed.fields`, or typed `errors` with
message codes); the administrators' forms show each message next to its input. Errors
that name no input (a conflict, a refusal) become one message above the form.
"""

from __future__ import annotations

from kartoteka.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed

from . import i18n
from .i18n import _

#: Conflicts the forms explain in their own words: class name -> (input, msgid).
CONFLICTS = {
    "DuplicateEmail": ("email", i18n.N_("A user with this e-mail already exists.")),
    "DuplicateGroupName": ("name", i18n.N_("A group with this name already exists.")),
    "LastAdministrator": (
        "",
        i18n.N_("The workspace must keep at least one active administrator."),
    ),
    "WorkspaceExists": ("name", i18n.N_("A workspace with this name already exists.")),
}


def form_errors(exc: DomainError, lang: str) -> tuple[dict[str, str], str | None]:
    """(message per input name, message for the whole form) for a refused change."""
    if isinstance(exc, ValidationFailed):
        if exc.errors:
            errors: dict[str, str] = {}
            for e in exc.errors:
                errors.setdefault(e.field or e.where or "", e.text(lang))
        else:
            errors = dict(exc.fields_in(lang))
        general = errors.pop("", None)
        return errors, general if general or errors else exc.text(lang)
    known = CONFLICTS.get(type(exc).__name__)
    if known is not None:
        name, msgid = known
        return ({name: _(msgid)}, None) if name else ({}, _(msgid))
    if isinstance(exc, Forbidden):
        return {}, _("You are not allowed to do this.")
    if isinstance(exc, NotFound):
        return {}, _("Not found, or you have no access to it.")
    if isinstance(exc, Conflict) and exc.errors:
        return {}, exc.errors[0].text(lang)
    return {}, exc.text(lang)
