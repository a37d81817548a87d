"""Errors of the users service."""

from kartoteka.errors import Conflict, NotFound, ValidationFailed


class UserNotFound(NotFound):
    """No such user in this workspace."""


class GroupNotFound(NotFound):
    """No such group in this workspace."""


class DuplicateEmail(Conflict):
    """Another user already has this email."""


class DuplicateGroupName(Conflict):
    """Another group already has this name."""


class LastAdministrator(Conflict):
    """The change would leave the workspace without an active administrator."""


class BadUserSpec(ValidationFailed):
    """A user or group definition is invalid; `fields` says which key and why."""
